-- migration 8: table t08
CREATE TABLE t08 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t07 (id)
);
CREATE INDEX t08_name_idx ON t08 (name);
CREATE INDEX t08_parent_idx ON t08 (parent_id);
INSERT INTO t08 (id, name, amount, parent_id)
    SELECT g, 't08-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
