-- migration 38: table t38
CREATE TABLE t38 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t37 (id)
);
CREATE INDEX t38_name_idx ON t38 (name);
CREATE INDEX t38_parent_idx ON t38 (parent_id);
INSERT INTO t38 (id, name, amount, parent_id)
    SELECT g, 't38-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
