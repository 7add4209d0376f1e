-- migration 43: table t43
CREATE TABLE t43 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t42 (id)
);
CREATE INDEX t43_name_idx ON t43 (name);
CREATE INDEX t43_parent_idx ON t43 (parent_id);
INSERT INTO t43 (id, name, amount, parent_id)
    SELECT g, 't43-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
