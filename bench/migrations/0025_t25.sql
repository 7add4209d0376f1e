-- migration 25: table t25
CREATE TABLE t25 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t24 (id)
);
CREATE INDEX t25_name_idx ON t25 (name);
CREATE INDEX t25_parent_idx ON t25 (parent_id);
INSERT INTO t25 (id, name, amount, parent_id)
    SELECT g, 't25-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
