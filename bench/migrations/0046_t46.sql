-- migration 46: table t46
CREATE TABLE t46 (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    parent_id bigint REFERENCES t45 (id)
);
CREATE INDEX t46_name_idx ON t46 (name);
CREATE INDEX t46_parent_idx ON t46 (parent_id);
INSERT INTO t46 (id, name, amount, parent_id)
    SELECT g, 't46-' || g, g * 1.5, 1 + (g % 200) FROM generate_series(1, 200) g;
