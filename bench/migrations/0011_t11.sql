-- migration 11: table t11
CREATE TABLE t11 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t10 (id)
);
CREATE INDEX t11_name_idx ON t11 (name);
CREATE INDEX t11_parent_idx ON t11 (parent_id);
INSERT INTO t11 (id, name, amount, parent_id)
    SELECT g, 't11-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
