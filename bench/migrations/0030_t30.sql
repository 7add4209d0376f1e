-- migration 30: table t30
CREATE TABLE t30 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t29 (id)
);
CREATE INDEX t30_name_idx ON t30 (name);
CREATE INDEX t30_parent_idx ON t30 (parent_id);
INSERT INTO t30 (id, name, amount, parent_id)
    SELECT g, 't30-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
