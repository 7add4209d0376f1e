-- migration 4: table t04
CREATE TABLE t04 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t03 (id)
);
CREATE INDEX t04_name_idx ON t04 (name);
CREATE INDEX t04_parent_idx ON t04 (parent_id);
INSERT INTO t04 (id, name, amount, parent_id)
    SELECT g, 't04-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
