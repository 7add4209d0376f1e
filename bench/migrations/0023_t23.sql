-- migration 23: table t23
CREATE TABLE t23 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t22 (id)
);
CREATE INDEX t23_name_idx ON t23 (name);
CREATE INDEX t23_parent_idx ON t23 (parent_id);
INSERT INTO t23 (id, name, amount, parent_id)
    SELECT g, 't23-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
