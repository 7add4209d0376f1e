-- migration 15: table t15
CREATE TABLE t15 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t14 (id)
);
CREATE INDEX t15_name_idx ON t15 (name);
CREATE INDEX t15_parent_idx ON t15 (parent_id);
INSERT INTO t15 (id, name, amount, parent_id)
    SELECT g, 't15-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
