-- migration 34: table t34
CREATE TABLE t34 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t33 (id)
);
CREATE INDEX t34_name_idx ON t34 (name);
CREATE INDEX t34_parent_idx ON t34 (parent_id);
INSERT INTO t34 (id, name, amount, parent_id)
    SELECT g, 't34-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
