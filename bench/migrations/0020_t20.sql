-- migration 20: table t20
CREATE TABLE t20 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t19 (id)
);
CREATE INDEX t20_name_idx ON t20 (name);
CREATE INDEX t20_parent_idx ON t20 (parent_id);
INSERT INTO t20 (id, name, amount, parent_id)
    SELECT g, 't20-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
