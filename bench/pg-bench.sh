#!/usr/bin/env bash
# Arca against pg_dump / pg_restore on one PostgreSQL database, in one run, printed as ratios.
#
#   bench/pg-bench.sh [ROWS]        items rows (default 1000000; orders get ROWS/5), see pg-fixture.sql
#   env: WORK (default /tmp/arca-pgbench), REPS (default 3), PGBENCH_PORT (default 45671)
#
# A PostgreSQL server of its own (scripts/pg-server on PGBENCH_PORT, data under $WORK). Each rep, in turn:
#   backup   arca backup of the database into a fresh repository  vs  pg_dump | zstd -3 > file
#   restore  arca restore --database into an empty database        vs  pg_restore -j2 of a pg_dump -Fd -j2 dump
#            (arca four times: as it runs by default, reading every table back to verify it; with --no-verify;
#            and both again with --split-tables, where a second connection helps load the large items table)
# Every restore is compared with the source (a hash of both tables' rows). Then, once:
#   upsert   a live copy where 1% of items differ; arca restore --table public.items --mode upsert (rows/s)
#   growth   stored bytes of a second backup as a share of the first's, after (a) typical OLTP change (0.5%
#            new rows, 0.5% of the newest 10% updated, 10 deleted) and (b) 1% of rows updated at random;
#            restic --stdin of pg_dump's output on the same changes, for comparison.
# Results: $WORK/results.tsv and bench/results/pg-ROWS.md.
set -euo pipefail
ROWS=${1:-1000000}
REPS=${REPS:-3}
WORK=${WORK:-/tmp/arca-pgbench}
PORT=${PGBENCH_PORT:-45671}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
bash "$root/scripts/setup" restic time zstd
ARCA=$root/arca
"$ARCA" --help >/dev/null
export ARCA_PASSWORD=bench RESTIC_PASSWORD=bench
mkdir -p "$WORK"
TSV=$WORK/results.tsv
: >"$TSV"
. "$here/lib.sh"

export PGTEST_PORT=$PORT PGTEST_DIR=$WORK/server
bash "$root/scripts/pg-server" start >/dev/null
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=arca PGPASSWORD=arca
URL=postgresql://arca:arca@127.0.0.1:$PORT
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
fresh() { q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1 ${2:+TEMPLATE $2}"; }
# The rows of both tables, hashed in key order: equal hashes mean an exact restore.
dbhash() {
  q -d "$1" -c "SELECT md5(string_agg(md5(t::text), '' ORDER BY id)) FROM items t" -c "SELECT md5(string_agg(md5(t::text), '' ORDER BY id)) FROM orders t" | tr '\n' ' '
}

DB=bench
if [ "$(q -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'bench_fixture_$ROWS'")" != 1 ]; then
  echo "building the fixture ($ROWS rows)" >&2
  fresh "bench_fixture_$ROWS"
  q -d "bench_fixture_$ROWS" -v rows="$ROWS" -f "$here/pg-fixture.sql"
fi
fresh $DB "bench_fixture_$ROWS"
q -d $DB -c "VACUUM ANALYZE"
SRC=$(dbhash $DB)
record fixture db 1 bytes "$(q -d $DB -c "SELECT pg_database_size(current_database())")"
D=$WORK/files
rm -rf "$D" "$WORK"/repo-* "$WORK/log"
mkdir -p "$D"
pg_dump -Fd -j2 -f "$D/dir" $DB                       # pg_restore's input, made once, not timed
{ echo "# $(date -u +%FT%TZ) rows=$ROWS reps=$REPS"; pg_dump --version; "$ARCA" --version; } >>"$WORK/log"

for rep in $(seq 1 "$REPS"); do
  echo "== rep $rep" >&2
  repo=$WORK/repo-$rep
  "$ARCA" init -q --repo "$repo" >>"$WORK/log"
  settle; timed arca backup "$rep" "$ARCA" backup -q --repo "$repo" --host bench "$URL/$DB"
  record arca backup "$rep" stored_bytes "$(du -sb "$repo" | cut -f1)"
  rm -f "$D/plain.sql.zst"
  settle; timed pg_dump backup "$rep" bash -c "pg_dump $DB | zstd -q -3 > '$D/plain.sql.zst'"
  record pg_dump backup "$rep" stored_bytes "$(du -sb "$D/plain.sql.zst" | cut -f1)"

  fresh restored
  settle; timed arca restore "$rep" "$ARCA" restore -q --repo "$repo" latest --database $DB --to "$URL/restored"
  [ "$(dbhash restored)" = "$SRC" ] || { echo "arca's restore differs from the source" >&2; exit 1; }
  fresh restored
  settle; timed arca restore-noverify "$rep" "$ARCA" restore -q --repo "$repo" latest --database $DB --to "$URL/restored" --no-verify
  [ "$(dbhash restored)" = "$SRC" ] || { echo "arca's restore (--no-verify) differs from the source" >&2; exit 1; }
  fresh restored
  settle; timed arca restore-split "$rep" "$ARCA" restore -q --repo "$repo" latest --database $DB --to "$URL/restored" --split-tables
  [ "$(dbhash restored)" = "$SRC" ] || { echo "arca's restore (--split-tables) differs from the source" >&2; exit 1; }
  fresh restored
  settle; timed arca restore-split-noverify "$rep" "$ARCA" restore -q --repo "$repo" latest --database $DB --to "$URL/restored" --split-tables --no-verify
  [ "$(dbhash restored)" = "$SRC" ] || { echo "arca's restore (--split-tables --no-verify) differs from the source" >&2; exit 1; }
  fresh restored
  settle; timed pg_restore restore "$rep" pg_restore -j2 -d restored "$D/dir"
  [ "$(dbhash restored)" = "$SRC" ] || { echo "pg_restore's restore differs from the source" >&2; exit 1; }
done
q -d postgres -c "DROP DATABASE restored"

echo "== upsert into a live copy where 1% of items differ" >&2
repo=$WORK/repo-1
fresh live $DB
q -d live -c "UPDATE items SET price = price + 1, note = 'changed' WHERE id IN (SELECT 1 + (g::bigint * 7919) % $ROWS FROM generate_series(1, $ROWS / 100) g)"
settle; timed arca upsert 1 "$ARCA" restore -q --repo "$repo" latest --table public.items --to "$URL/live" --mode upsert --yes
[ "$(q -d live -c "SELECT md5(string_agg(md5(t::text), '' ORDER BY id)) FROM items t")" = "$(echo "$SRC" | cut -d' ' -f1)" ] \
  || { echo "the upserted table differs from the source" >&2; exit 1; }
q -d postgres -c "DROP DATABASE live"

echo "== second backups: stored bytes as a share of the first" >&2
# restic on pg_dump's plain output, as teams pipe it today, beside arca, on the same changes.
export RESTIC_REPOSITORY=$WORK/restic RESTIC_CACHE_DIR=$WORK/restic-cache
rm -rf "$RESTIC_REPOSITORY" "$RESTIC_CACHE_DIR"
restic init >>"$WORK/log" 2>&1
restic_dump() { pg_dump $DB | restic backup -q --host bench --stdin --stdin-filename $DB.sql >>"$WORK/log" 2>&1; du -sb "$RESTIC_REPOSITORY" | cut -f1; }
arca_added() { "$ARCA" backup --json --repo "$repo" --host bench "$URL/$DB" | python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes_added_stored"])'; }
repo=$WORK/repo-growth
rm -rf "$repo"
"$ARCA" init -q --repo "$repo" >>"$WORK/log"
first=$(arca_added)
r0=$(restic_dump)
record arca growth 1 first_bytes "$first"
record restic growth 1 first_bytes "$r0"
# (a) typical OLTP: 0.5% new rows at the end, 0.5% of all rows updated among the newest 10%, 10 deleted.
q -d $DB -c "INSERT INTO items SELECT id + $ROWS, name, price, created_at, attrs, tags, flag, payload, note FROM items WHERE id <= $ROWS / 200" \
  -c "UPDATE items SET price = coalesce(price, 0) + 1 WHERE id IN (SELECT $ROWS - $ROWS / 10 + 1 + (g::bigint * 7919) % ($ROWS / 10) FROM generate_series(1, $ROWS / 200) g)" \
  -c "DELETE FROM orders WHERE item_id IN (SELECT 1 + g * ($ROWS / 10) FROM generate_series(0, 9) g)" \
  -c "DELETE FROM items WHERE id IN (SELECT 1 + g * ($ROWS / 10) FROM generate_series(0, 9) g)"
record arca growth 1 oltp_bytes "$(arca_added)"
r1=$(restic_dump)
record restic growth 1 oltp_bytes "$((r1 - r0))"
# (b) 1% of rows updated uniformly at random.
q -d $DB -c "UPDATE items SET price = coalesce(price, 0) + 2 WHERE id IN (SELECT 1 + (g::bigint * 104729) % $ROWS FROM generate_series(1, $ROWS / 100) g)"
record arca growth 1 random_bytes "$(arca_added)"
r2=$(restic_dump)
record restic growth 1 random_bytes "$((r2 - r1))"
rm -rf "$WORK"/repo-* "$RESTIC_REPOSITORY" "$RESTIC_CACHE_DIR" "$D"

mkdir -p "$here/results"
out=$here/results/pg-$ROWS.md
python3 - "$TSV" "$ROWS" "$REPS" >"$out" <<'PY'
import statistics, sys, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    tool, step, rep, metric, value = line.rstrip("\n").split("\t")
    rows[(tool, step, metric)].append(float(value))
med = lambda *k: statistics.median(rows[k]) if rows.get(k) else float("nan")
n = int(sys.argv[2])
print(f"# PostgreSQL, {n:,} items + {n // 5:,} orders: arca vs pg_dump / pg_restore (median of {sys.argv[3]} reps, one run)\n")
print("| figure | arca | peer | arca/peer | target |")
print("|---|---|---|---|---|")
def line(label, a, p, target):
    ratio = a / p if p else float("nan")
    verdict = "" if target is None else (f"<= {target} " + ("met" if ratio <= target else "**not met**"))
    print(f"| {label} | {a:.2f} | {p:.2f} | {ratio:.2f} | {verdict} |")
line("backup, s (peer: pg_dump \\| zstd -3)", med("arca", "backup", "wall"), med("pg_dump", "backup", "wall"), 1.0)
line("whole-database restore, s (peer: pg_restore -j2)", med("arca", "restore", "wall"), med("pg_restore", "restore", "wall"), 0.8)
line("whole-database restore --no-verify (no read-back), s", med("arca", "restore-noverify", "wall"), med("pg_restore", "restore", "wall"), 0.8)
line("whole-database restore --split-tables, s", med("arca", "restore-split", "wall"), med("pg_restore", "restore", "wall"), 0.8)
line("whole-database restore --split-tables --no-verify, s", med("arca", "restore-split-noverify", "wall"), med("pg_restore", "restore", "wall"), 0.8)
line("stored MiB after one backup (peer: the .sql.zst)", med("arca", "backup", "stored_bytes") / 2**20, med("pg_dump", "backup", "stored_bytes") / 2**20, None)
print()
print(f"Peak memory of arca: backup {med('arca', 'backup', 'rss') / 1024:.0f} MiB, restore {med('arca', 'restore', 'rss') / 1024:.0f} MiB, "
      f"upsert {med('arca', 'upsert', 'rss') / 1024:.0f} MiB (target: below 300 MB).\n")
up = med("arca", "upsert", "wall")
print(f"Upsert of the whole items table ({n:,} rows, 1% differing) into a live copy: {up:.2f} s, {n / up:,.0f} rows/s.\n")
print("| second backup, stored bytes as a share of the first | arca | restic on pg_dump output | target |")
print("|---|---|---|---|")
for key, label, target in [("oltp_bytes", "(a) OLTP: 0.5% appended, 0.5% of the newest 10% updated, 10 deleted", "<= 0.05"),
                           ("random_bytes", "(b) 1% of rows updated at random", "report (goal <= 0.10)")]:
    a = med("arca", "growth", key) / med("arca", "growth", "first_bytes")
    r = med("restic", "growth", key) / med("restic", "growth", "first_bytes")
    print(f"| {label} | {a:.3f} | {r:.3f} | {target} |")
PY
cat "$out"
