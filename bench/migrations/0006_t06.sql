-- migration 6: table t06
CREATE TABLE t06 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t05 (id)
);
CREATE INDEX t06_name_idx ON t06 (name);
CREATE INDEX t06_parent_idx ON t06 (parent_id);
INSERT INTO t06 (id, name, amount, parent_id)
    SELECT g, 't06-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
