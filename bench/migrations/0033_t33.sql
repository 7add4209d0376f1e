-- migration 33: table t33
CREATE TABLE t33 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t32 (id)
);
CREATE INDEX t33_name_idx ON t33 (name);
CREATE INDEX t33_parent_idx ON t33 (parent_id);
INSERT INTO t33 (id, name, amount, parent_id)
    SELECT g, 't33-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
