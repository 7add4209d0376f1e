-- migration 5: table t05
CREATE TABLE t05 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t04 (id)
);
CREATE INDEX t05_name_idx ON t05 (name);
CREATE INDEX t05_parent_idx ON t05 (parent_id);
INSERT INTO t05 (id, name, amount, parent_id)
    SELECT g, 't05-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
