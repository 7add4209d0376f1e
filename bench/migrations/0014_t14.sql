-- migration 14: table t14
CREATE TABLE t14 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t13 (id)
);
CREATE INDEX t14_name_idx ON t14 (name);
CREATE INDEX t14_parent_idx ON t14 (parent_id);
INSERT INTO t14 (id, name, amount, parent_id)
    SELECT g, 't14-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
