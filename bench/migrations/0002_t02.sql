-- migration 2: table t02
CREATE TABLE t02 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t01 (id)
);
CREATE INDEX t02_name_idx ON t02 (name);
CREATE INDEX t02_parent_idx ON t02 (parent_id);
INSERT INTO t02 (id, name, amount, parent_id)
    SELECT g, 't02-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
