-- migration 29: table t29
CREATE TABLE t29 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t28 (id)
);
CREATE INDEX t29_name_idx ON t29 (name);
CREATE INDEX t29_parent_idx ON t29 (parent_id);
INSERT INTO t29 (id, name, amount, parent_id)
    SELECT g, 't29-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
