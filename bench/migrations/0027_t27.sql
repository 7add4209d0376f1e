-- migration 27: table t27
CREATE TABLE t27 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t26 (id)
);
CREATE INDEX t27_name_idx ON t27 (name);
CREATE INDEX t27_parent_idx ON t27 (parent_id);
INSERT INTO t27 (id, name, amount, parent_id)
    SELECT g, 't27-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
