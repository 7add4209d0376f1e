-- migration 22: table t22
CREATE TABLE t22 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t21 (id)
);
CREATE INDEX t22_name_idx ON t22 (name);
CREATE INDEX t22_parent_idx ON t22 (parent_id);
INSERT INTO t22 (id, name, amount, parent_id)
    SELECT g, 't22-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
