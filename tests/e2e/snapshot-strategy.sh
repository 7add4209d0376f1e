#!/usr/bin/env bash
# Measures CREATE DATABASE ... TEMPLATE with STRATEGY FILE_COPY vs WAL_LOG (README, Snapshots)
# on 50 tables with two indexes each and 10,000 rows. Runs inside a booted test host with
# helloworld running:
#   bash tests/testhost.sh exec bash -s < tests/e2e/snapshot-strategy.sh
set -eu
su() { psql -h /var/lib/pgnspawn/helloworld/run -p 5433 -U postgres -XAtq "$@"; }
su -d postgres -c "DROP DATABASE IF EXISTS bench_src" -c "CREATE DATABASE bench_src"
{
for i in $(seq 1 50); do
  echo "CREATE TABLE t$i (id serial PRIMARY KEY, name text NOT NULL, ref int, created timestamptz DEFAULT now());"
  echo "CREATE INDEX t${i}_name ON t$i (name); CREATE INDEX t${i}_ref ON t$i (ref);"
  echo "INSERT INTO t$i (name, ref) SELECT md5(g::text), g FROM generate_series(1, 200) g;"
done
} | su -d bench_src >/dev/null
su -d postgres -c "CHECKPOINT"
echo "source size: $(su -d postgres -c "SELECT pg_size_pretty(pg_database_size('bench_src'))")"
for strategy in FILE_COPY WAL_LOG; do
  times=()
  for _ in $(seq 1 11); do
    s=$(date +%s%N)
    su -d postgres -c "CREATE DATABASE bench_copy TEMPLATE bench_src STRATEGY $strategy"
    e=$(date +%s%N)
    times+=($(( (e - s) / 1000 )))
    su -d postgres -c "DROP DATABASE bench_copy"
  done
  sorted=$(printf '%s\n' "${times[@]}" | sort -n | tr '\n' ' ')
  echo "$strategy: median $(printf '%s\n' "${times[@]}" | sort -n | sed -n 6p) us; all (sorted): $sorted"
done
# The cost of a psql round trip alone, to subtract.
times=()
for _ in $(seq 1 11); do s=$(date +%s%N); su -d postgres -c "SELECT 1" >/dev/null; e=$(date +%s%N); times+=($(( (e - s) / 1000 ))); done
echo "psql SELECT 1: median $(printf '%s\n' "${times[@]}" | sort -n | sed -n 6p) us"
su -d postgres -c "DROP DATABASE bench_src"
