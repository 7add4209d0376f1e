-- migration 19: table t19
CREATE TABLE t19 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t18 (id)
);
CREATE INDEX t19_name_idx ON t19 (name);
CREATE INDEX t19_parent_idx ON t19 (parent_id);
INSERT INTO t19 (id, name, amount, parent_id)
    SELECT g, 't19-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
