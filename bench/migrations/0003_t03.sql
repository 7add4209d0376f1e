-- migration 3: table t03
CREATE TABLE t03 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t02 (id)
);
CREATE INDEX t03_name_idx ON t03 (name);
CREATE INDEX t03_parent_idx ON t03 (parent_id);
INSERT INTO t03 (id, name, amount, parent_id)
    SELECT g, 't03-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
