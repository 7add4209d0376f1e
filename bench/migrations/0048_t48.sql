-- migration 48: table t48
CREATE TABLE t48 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t47 (id)
);
CREATE INDEX t48_name_idx ON t48 (name);
CREATE INDEX t48_parent_idx ON t48 (parent_id);
INSERT INTO t48 (id, name, amount, parent_id)
    SELECT g, 't48-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
