-- migration 45: table t45
CREATE TABLE t45 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t44 (id)
);
CREATE INDEX t45_name_idx ON t45 (name);
CREATE INDEX t45_parent_idx ON t45 (parent_id);
INSERT INTO t45 (id, name, amount, parent_id)
    SELECT g, 't45-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
