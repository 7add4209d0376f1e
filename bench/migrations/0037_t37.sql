-- migration 37: table t37
CREATE TABLE t37 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t36 (id)
);
CREATE INDEX t37_name_idx ON t37 (name);
CREATE INDEX t37_parent_idx ON t37 (parent_id);
INSERT INTO t37 (id, name, amount, parent_id)
    SELECT g, 't37-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
