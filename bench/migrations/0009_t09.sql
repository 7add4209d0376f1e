-- migration 9: table t09
CREATE TABLE t09 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t08 (id)
);
CREATE INDEX t09_name_idx ON t09 (name);
CREATE INDEX t09_parent_idx ON t09 (parent_id);
INSERT INTO t09 (id, name, amount, parent_id)
    SELECT g, 't09-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
