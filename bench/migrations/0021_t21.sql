-- migration 21: table t21
CREATE TABLE t21 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t20 (id)
);
CREATE INDEX t21_name_idx ON t21 (name);
CREATE INDEX t21_parent_idx ON t21 (parent_id);
INSERT INTO t21 (id, name, amount, parent_id)
    SELECT g, 't21-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
