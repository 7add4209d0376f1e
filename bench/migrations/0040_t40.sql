-- migration 40: table t40
CREATE TABLE t40 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t39 (id)
);
CREATE INDEX t40_name_idx ON t40 (name);
CREATE INDEX t40_parent_idx ON t40 (parent_id);
INSERT INTO t40 (id, name, amount, parent_id)
    SELECT g, 't40-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
