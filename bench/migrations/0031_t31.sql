-- migration 31: table t31
CREATE TABLE t31 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t30 (id)
);
CREATE INDEX t31_name_idx ON t31 (name);
CREATE INDEX t31_parent_idx ON t31 (parent_id);
INSERT INTO t31 (id, name, amount, parent_id)
    SELECT g, 't31-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
