-- migration 12: table t12
CREATE TABLE t12 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t11 (id)
);
CREATE INDEX t12_name_idx ON t12 (name);
CREATE INDEX t12_parent_idx ON t12 (parent_id);
INSERT INTO t12 (id, name, amount, parent_id)
    SELECT g, 't12-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
