-- migration 39: table t39
CREATE TABLE t39 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t38 (id)
);
CREATE INDEX t39_name_idx ON t39 (name);
CREATE INDEX t39_parent_idx ON t39 (parent_id);
INSERT INTO t39 (id, name, amount, parent_id)
    SELECT g, 't39-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
