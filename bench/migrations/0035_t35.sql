-- migration 35: table t35
CREATE TABLE t35 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t34 (id)
);
CREATE INDEX t35_name_idx ON t35 (name);
CREATE INDEX t35_parent_idx ON t35 (parent_id);
INSERT INTO t35 (id, name, amount, parent_id)
    SELECT g, 't35-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
