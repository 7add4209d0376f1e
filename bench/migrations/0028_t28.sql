-- migration 28: table t28
CREATE TABLE t28 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t27 (id)
);
CREATE INDEX t28_name_idx ON t28 (name);
CREATE INDEX t28_parent_idx ON t28 (parent_id);
INSERT INTO t28 (id, name, amount, parent_id)
    SELECT g, 't28-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
