-- migration 44: table t44
CREATE TABLE t44 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t43 (id)
);
CREATE INDEX t44_name_idx ON t44 (name);
CREATE INDEX t44_parent_idx ON t44 (parent_id);
INSERT INTO t44 (id, name, amount, parent_id)
    SELECT g, 't44-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
