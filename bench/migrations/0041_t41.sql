-- migration 41: table t41
CREATE TABLE t41 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t40 (id)
);
CREATE INDEX t41_name_idx ON t41 (name);
CREATE INDEX t41_parent_idx ON t41 (parent_id);
INSERT INTO t41 (id, name, amount, parent_id)
    SELECT g, 't41-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
