-- migration 24: table t24
CREATE TABLE t24 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t23 (id)
);
CREATE INDEX t24_name_idx ON t24 (name);
CREATE INDEX t24_parent_idx ON t24 (parent_id);
INSERT INTO t24 (id, name, amount, parent_id)
    SELECT g, 't24-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
