-- migration 18: table t18
CREATE TABLE t18 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t17 (id)
);
CREATE INDEX t18_name_idx ON t18 (name);
CREATE INDEX t18_parent_idx ON t18 (parent_id);
INSERT INTO t18 (id, name, amount, parent_id)
    SELECT g, 't18-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
