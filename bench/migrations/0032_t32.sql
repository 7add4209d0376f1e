-- migration 32: table t32
CREATE TABLE t32 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t31 (id)
);
CREATE INDEX t32_name_idx ON t32 (name);
CREATE INDEX t32_parent_idx ON t32 (parent_id);
INSERT INTO t32 (id, name, amount, parent_id)
    SELECT g, 't32-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
