-- migration 49: table t49
CREATE TABLE t49 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t48 (id)
);
CREATE INDEX t49_name_idx ON t49 (name);
CREATE INDEX t49_parent_idx ON t49 (parent_id);
INSERT INTO t49 (id, name, amount, parent_id)
    SELECT g, 't49-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
