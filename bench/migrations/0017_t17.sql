-- migration 17: table t17
CREATE TABLE t17 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t16 (id)
);
CREATE INDEX t17_name_idx ON t17 (name);
CREATE INDEX t17_parent_idx ON t17 (parent_id);
INSERT INTO t17 (id, name, amount, parent_id)
    SELECT g, 't17-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
