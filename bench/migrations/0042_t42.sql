-- migration 42: table t42
CREATE TABLE t42 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t41 (id)
);
CREATE INDEX t42_name_idx ON t42 (name);
CREATE INDEX t42_parent_idx ON t42 (parent_id);
INSERT INTO t42 (id, name, amount, parent_id)
    SELECT g, 't42-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
