-- migration 26: table t26
CREATE TABLE t26 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t25 (id)
);
CREATE INDEX t26_name_idx ON t26 (name);
CREATE INDEX t26_parent_idx ON t26 (parent_id);
INSERT INTO t26 (id, name, amount, parent_id)
    SELECT g, 't26-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
