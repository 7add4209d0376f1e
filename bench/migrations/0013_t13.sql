-- migration 13: table t13
CREATE TABLE t13 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t12 (id)
);
CREATE INDEX t13_name_idx ON t13 (name);
CREATE INDEX t13_parent_idx ON t13 (parent_id);
INSERT INTO t13 (id, name, amount, parent_id)
    SELECT g, 't13-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
