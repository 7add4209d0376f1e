-- migration 1: table t01
CREATE TABLE t01 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX t01_name_idx ON t01 (name);
INSERT INTO t01 (id, name, amount)
    SELECT g, 't01-' || g, g * 1.5 FROM generate_series(1, 200) g;
