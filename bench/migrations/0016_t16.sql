-- migration 16: table t16
CREATE TABLE t16 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t15 (id)
);
CREATE INDEX t16_name_idx ON t16 (name);
CREATE INDEX t16_parent_idx ON t16 (parent_id);
INSERT INTO t16 (id, name, amount, parent_id)
    SELECT g, 't16-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
