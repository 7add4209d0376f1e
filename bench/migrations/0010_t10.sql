-- migration 10: table t10
CREATE TABLE t10 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t09 (id)
);
CREATE INDEX t10_name_idx ON t10 (name);
CREATE INDEX t10_parent_idx ON t10 (parent_id);
INSERT INTO t10 (id, name, amount, parent_id)
    SELECT g, 't10-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
