-- migration 50: table t50
CREATE TABLE t50 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t49 (id)
);
CREATE INDEX t50_name_idx ON t50 (name);
CREATE INDEX t50_parent_idx ON t50 (parent_id);
INSERT INTO t50 (id, name, amount, parent_id)
    SELECT g, 't50-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
