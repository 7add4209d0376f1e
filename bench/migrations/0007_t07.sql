-- migration 7: table t07
CREATE TABLE t07 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t06 (id)
);
CREATE INDEX t07_name_idx ON t07 (name);
CREATE INDEX t07_parent_idx ON t07 (parent_id);
INSERT INTO t07 (id, name, amount, parent_id)
    SELECT g, 't07-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
