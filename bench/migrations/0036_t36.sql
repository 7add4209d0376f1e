-- migration 36: table t36
CREATE TABLE t36 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t35 (id)
);
CREATE INDEX t36_name_idx ON t36 (name);
CREATE INDEX t36_parent_idx ON t36 (parent_id);
INSERT INTO t36 (id, name, amount, parent_id)
    SELECT g, 't36-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
