-- migration 47: table t47
CREATE TABLE t47 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t46 (id)
);
CREATE INDEX t47_name_idx ON t47 (name);
CREATE INDEX t47_parent_idx ON t47 (parent_id);
INSERT INTO t47 (id, name, amount, parent_id)
    SELECT g, 't47-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
