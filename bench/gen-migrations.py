#!/usr/bin/env python3
"""Writes bench/migrations/NNNN_tNN.sql: the benchmark's migration set (issue 10).

50 migrations, one table each, each with a primary key, a foreign key to the table
before it, two secondary indexes and 200 rows: 50 tables, 10,000 rows in total, like
a mid-sized application's schema. Deterministic, so the committed files match:
    python3 bench/gen-migrations.py
"""
import pathlib

TABLES, ROWS = 50, 200
out = pathlib.Path(__file__).resolve().parent / "migrations"
out.mkdir(exist_ok=True)
for old in out.glob("*.sql"):
    old.unlink()
for i in range(1, TABLES + 1):
    t = f"t{i:02d}"
    parent = f"t{i - 1:02d}" if i > 1 else None
    fk = f",\n    parent_id bigint REFERENCES {parent} (id)" if parent else ""
    parent_value = f", 1 + (g % {ROWS})" if parent else ""
    parent_col = ", parent_id" if parent else ""
    fk_index = f"CREATE INDEX {t}_parent_idx ON {t} (parent_id);\n" if parent else ""
    sql = (
        f"-- migration {i}: table {t}\n"
        f"CREATE TABLE {t} (\n"
        f"    id bigint PRIMARY KEY,\n"
        f"    name text NOT NULL,\n"
        f"    amount numeric(12, 2) NOT NULL DEFAULT 0,\n"
        f"    created_at timestamptz NOT NULL DEFAULT now(){fk}\n"
        f");\n"
        f"CREATE INDEX {t}_name_idx ON {t} (name);\n"
        f"{fk_index}"
        f"INSERT INTO {t} (id, name, amount{parent_col})\n"
        f"    SELECT g, '{t}-' || g, g * 1.5{parent_value} FROM generate_series(1, {ROWS}) g;\n"
    )
    (out / f"{i:04d}_{t}.sql").write_text(sql)
