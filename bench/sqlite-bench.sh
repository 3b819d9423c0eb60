#!/usr/bin/env bash
# Arca against sqlite3 .backup + zstd on one SQLite database file, in one run, printed as ratios.
#
#   bench/sqlite-bench.sh [ROWS]        items rows (default 1000000; orders get ROWS/5), see sqlite_fixture.py
#   env: WORK (default /tmp/arca-sqlitebench), REPS (default 3)
#
# The fixture (items with JSON text, a 100-byte blob and NULLs, orders with a foreign key, two indexes, an FTS5
# external-content index over items.name; rollback journal, 4 KiB pages) is built once into $WORK and kept.
# Each rep, in turn:
#   backup   arca backup sqlite:FILE into a fresh repository  vs  sqlite3 FILE ".backup COPY" then zstd -3 COPY
#   restore  arca restore --sqlite NAME --target FILE           vs  zstd -d of the compressed copy
# Every arca restore is compared with the source (sha256 of `sqlite3 .dump`). Then, once:
#   upsert   a live copy where 1% of items differ and 3% are gone; arca restore --table items --mode upsert (rows/s),
#            beside sqlite3 doing the same by hand from the compressed copy (zstd -d, ATTACH, INSERT .. ON CONFLICT
#            DO UPDATE, FTS5 rebuild as arca does); both compared with the source table
#   parts    what arca's backup is made of, each timed alone: sqlite3 .backup, zstd -3, PRAGMA quick_check, a
#            SELECT over every row, and arca's fixed cost per command (start, key derivation, index)
#   growth   stored bytes of a second backup as a share of the first's, after (a) typical OLTP change (0.5% new
#            rows with increasing created_at, indexed in FTS5 as an application's trigger would; 0.5% of the newest
#            10% updated) and (b) 1% of rows updated at random; restic backing up the database file on the same
#            changes (data_added of its --json summary), for comparison.
# Results: $WORK/results.tsv and bench/results/sqlite-ROWS.md.
set -euo pipefail
ROWS=${1:-1000000}
REPS=${REPS:-3}
WORK=${WORK:-/tmp/arca-sqlitebench}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
bash "$root/scripts/setup" restic time zstd sqlite3
ARCA=$root/arca
"$ARCA" --help >/dev/null
export ARCA_PASSWORD=bench RESTIC_PASSWORD=bench
mkdir -p "$WORK"
TSV=$WORK/results.tsv
: >"$TSV"
. "$here/lib.sh"

# The items table, every value quoted with its type (blobs as X'..'), in key order, hashed.
itemshash() { sqlite3 "$1" ".mode quote" "SELECT * FROM items ORDER BY id" | sha256sum | cut -c1-64; }
dumphash() { sqlite3 "$1" .dump | sha256sum | cut -c1-64; }
# FTS5's own check that the index holds exactly the rows of the table it covers (fails: "malformed").
ftsok() { sqlite3 "$1" "INSERT INTO items_fts (items_fts, rank) VALUES ('integrity-check', 1)" 2>>"$WORK/log"; }
bytes() { stat -c %s "$1"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

FIXTURE=$WORK/fixture-$ROWS.db
if [ ! -s "$FIXTURE" ]; then
  echo "building the fixture ($ROWS rows)" >&2
  python3 "$here/sqlite_fixture.py" "$WORK/fixture-$ROWS.part" "$ROWS" >&2
  mv "$WORK/fixture-$ROWS.part" "$FIXTURE"
fi
D=$WORK/files
rm -rf "$D" "$WORK"/repo-* "$WORK/log"
mkdir -p "$D"
SRC=$D/src.db
cp "$FIXTURE" "$SRC"
NAME=$(basename "$SRC")
SRC_DUMP=$(dumphash "$SRC")
SRC_ITEMS=$(itemshash "$SRC")
ftsok "$SRC" || { echo "the fixture's FTS5 index does not match its table" >&2; exit 1; }
record fixture db 1 bytes "$(bytes "$SRC")"
record machine load 1 start "$(load)"
{ echo "# $(date -u +%FT%TZ) rows=$ROWS reps=$REPS load $(load)"; echo "sqlite3 $(sqlite3 --version)"; zstd --version; restic version; "$ARCA" --version; } >>"$WORK/log"

for rep in $(seq 1 "$REPS"); do
  echo "== rep $rep (load $(load))" >&2
  repo=$WORK/repo-$rep
  "$ARCA" init -q --repo "$repo" >>"$WORK/log"
  settle "$SRC"; timed arca backup "$rep" "$ARCA" backup -q --repo "$repo" --host bench "sqlite:$SRC"
  record arca backup "$rep" stored_bytes "$(du -sb "$repo" | cut -f1)"
  rm -f "$D/copy.db" "$D/copy.db.zst"
  settle "$SRC"; timed sqlite3 backup "$rep" bash -c "sqlite3 '$SRC' \".backup '$D/copy.db'\" && zstd -q -3 '$D/copy.db' -o '$D/copy.db.zst'"
  record sqlite3 backup "$rep" stored_bytes "$(bytes "$D/copy.db.zst")"
  [ "$rep" != 1 ] || [ "$(dumphash "$D/copy.db")" = "$SRC_DUMP" ] || { echo "sqlite3's .backup copy differs from the source" >&2; exit 1; }

  rm -f "$D/restored.db"
  settle "$repo"; timed arca restore "$rep" "$ARCA" restore -q --repo "$repo" latest --sqlite "$NAME" --target "$D/restored.db" --yes
  [ "$(dumphash "$D/restored.db")" = "$SRC_DUMP" ] || { echo "arca's restored file differs from the source (sqlite3 .dump)" >&2; exit 1; }
  [ "$(sqlite3 "$D/restored.db" "PRAGMA integrity_check")" = ok ] || { echo "arca's restored file fails integrity_check" >&2; exit 1; }
  rm -f "$D/restored.db"
  settle "$D/copy.db.zst"; timed zstd restore "$rep" zstd -q -d "$D/copy.db.zst" -o "$D/restored.db"
  cmp -s "$D/restored.db" "$D/copy.db" || { echo "zstd -d gave back another file" >&2; exit 1; }
  rm -f "$D/restored.db"
done

echo "== upsert into a live copy where 1% of items differ and 3% are gone (load $(load))" >&2
# A bad cleanup, done as the application's own sqlite3 would (foreign keys off): 1% of items changed, 3% deleted.
damage() {
  cp "$SRC" "$1"
  sqlite3 "$1" "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < $ROWS / 100)
                UPDATE items SET price = coalesce(price, 0) + 1, note = 'changed' WHERE id IN (SELECT 1 + (n * 7919) % $ROWS FROM g)" \
               "DELETE FROM items WHERE id % 33 = 7"
}
live=$D/live.db
damage "$live"
settle "$live" "$WORK/repo-1"; timed arca upsert 1 "$ARCA" restore -q --repo "$WORK/repo-1" latest --table items --to "sqlite:$live" --mode upsert --yes
[ "$(itemshash "$live")" = "$SRC_ITEMS" ] || { echo "arca's upserted table differs from the source" >&2; exit 1; }
ftsok "$live" || { echo "after arca's upsert, the FTS5 index does not match the table" >&2; exit 1; }
# The same by hand: the snapshot file out of its zstd copy, attached, merged by key, the FTS5 index rebuilt.
damage "$live"
rm -f "$D/snap.db"
cols="name price created_at attrs tags flag blob note"
set_list=$(for c in $cols; do printf '%s = excluded.%s, ' "$c" "$c"; done)
differs=$(for c in $cols; do printf 'items.%s IS NOT excluded.%s OR ' "$c" "$c"; done)
upsert_sql="ATTACH '$D/snap.db' AS snap; BEGIN;
  INSERT INTO main.items SELECT * FROM snap.items WHERE true
    ON CONFLICT (id) DO UPDATE SET ${set_list%, } WHERE ${differs% OR };
  INSERT INTO items_fts (items_fts) VALUES ('rebuild');
  COMMIT;"
settle "$live" "$D/copy.db.zst"; timed sqlite3 upsert 1 bash -c "zstd -q -d '$D/copy.db.zst' -o '$D/snap.db' && sqlite3 -bail '$live' \"\$1\"" _ "$upsert_sql"
[ "$(itemshash "$live")" = "$SRC_ITEMS" ] || { echo "sqlite3's upserted table differs from the source" >&2; exit 1; }
ftsok "$live" || { echo "after sqlite3's upsert, the FTS5 index does not match the table" >&2; exit 1; }
rm -f "$live" "$D/snap.db"

echo "== the parts of a backup, each alone (load $(load))" >&2
rm -f "$D/part.db"
settle "$SRC"; timed part copy 1 sqlite3 "$SRC" ".backup '$D/part.db'"
settle "$D/part.db"; timed part zstd 1 zstd -q -3 "$D/part.db" -o /dev/null
settle "$D/part.db"; timed part quick_check 1 sqlite3 "$D/part.db" "PRAGMA quick_check"
# Every value of every row read by SQLite, as the manifest's row checksums read them (without hashing them).
scan="SELECT count(*), sum(length(CAST(name AS BLOB)) + length(CAST(created_at AS BLOB)) + length(CAST(attrs AS BLOB))
        + length(CAST(tags AS BLOB)) + length(blob) + length(CAST(note AS BLOB))), sum(price), sum(flag) FROM items NOT INDEXED;
      SELECT count(*), sum(item_id + qty + length(CAST(ordered_at AS BLOB)) + length(CAST(status AS BLOB)) + length(CAST(comment AS BLOB))) FROM orders NOT INDEXED;
      SELECT count(*) FROM items_fts_data; SELECT count(*) FROM items_fts_idx; SELECT count(*) FROM items_fts_docsize;"
settle "$D/part.db"; timed part scan 1 sqlite3 "$D/part.db" "$scan"
# Arca's cost for any command on this repository: start, key derivation, index.
settle "$WORK/repo-1"; timed part command 1 "$ARCA" snapshots -q --repo "$WORK/repo-1"
# The copy's bytes backed up as a plain file: read, content-defined chunks, compression, encryption, storage.
"$ARCA" init -q --repo "$WORK/repo-part" >>"$WORK/log"
settle "$D/part.db"; timed part file 1 "$ARCA" backup -q --repo "$WORK/repo-part" --host bench "$D/part.db"
# What a whole-file restore checks besides the row checksums.
settle "$D/part.db"; timed part integrity_check 1 sqlite3 "$D/part.db" "PRAGMA integrity_check"
rm -f "$D/part.db"

echo "== second backups: stored bytes as a share of the first (load $(load))" >&2
export RESTIC_REPOSITORY=$WORK/restic RESTIC_CACHE_DIR=$WORK/restic-cache
rm -rf "$RESTIC_REPOSITORY" "$RESTIC_CACHE_DIR"
restic init >>"$WORK/log" 2>&1
restic_added() {
  restic backup --json --host bench "$SRC" 2>>"$WORK/log" \
    | python3 -c 'import json,sys; print([m for m in map(json.loads, sys.stdin) if m.get("message_type") == "summary"][-1]["data_added"])'
}
arca_added() { "$ARCA" backup --json --repo "$repo" --host bench "sqlite:$SRC" | python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes_added_stored"])'; }
repo=$WORK/repo-growth
rm -rf "$repo"
"$ARCA" init -q --repo "$repo" >>"$WORK/log"
record arca growth 1 first_bytes "$(arca_added)"
record restic growth 1 first_bytes "$(restic_added)"
# What chunk boundaries suit a file of fixed-size pages: the share of the file (bytes, before compression) in blocks
# of 4, 16 and 64 KiB that a change touched, blocks aligned to the start of the file as arca's chunks are.
changed_blocks() {
  python3 - "$1" "$2" "$SRC" <<'CMP' >>"$TSV"
import sys
tag, old, new = sys.argv[1], open(sys.argv[2], "rb").read(), open(sys.argv[3], "rb").read()
for size in (4096, 16384, 65536):
    changed = sum(1 for at in range(0, len(new), size) if new[at:at + size] != old[at:at + size])
    print(f"file\tblocks\t1\t{tag}_{size}\t{changed * size / len(new)}")
CMP
}
cp "$SRC" "$D/before.db"
# (a) typical OLTP: 0.5% new rows at the end (created_at after every existing one, increasing, and in the FTS5
# index), 0.5% of all rows updated among the newest 10% (price and note).
sqlite3 -bail "$SRC" "BEGIN" \
  "INSERT INTO items (id, name, price, created_at, attrs, tags, flag, blob, note)
     SELECT id + $ROWS, name, price, strftime('%Y-%m-%dT%H:%M:%SZ', '2024-01-01', '+' || (id * 60) || ' seconds'), attrs, tags, flag, blob, note
     FROM items WHERE id <= $ROWS / 200 ORDER BY id" \
  "INSERT INTO items_fts (rowid, name) SELECT id, name FROM items WHERE id > $ROWS" \
  "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < $ROWS / 200)
     UPDATE items SET price = coalesce(price, 0) + 1, note = 'edited' WHERE id IN (SELECT $ROWS - $ROWS / 10 + 1 + (n * 7919) % ($ROWS / 10) FROM g)" \
  "COMMIT"
record arca growth 1 oltp_bytes "$(arca_added)"
record restic growth 1 oltp_bytes "$(restic_added)"
changed_blocks oltp "$D/before.db"
cp "$SRC" "$D/before.db"
# (b) 1% of rows updated uniformly at random.
sqlite3 -bail "$SRC" "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < $ROWS / 100)
                      UPDATE items SET price = coalesce(price, 0) + 2 WHERE id IN (SELECT 1 + (n * 104729) % $ROWS FROM g)"
record arca growth 1 random_bytes "$(arca_added)"
record restic growth 1 random_bytes "$(restic_added)"
changed_blocks random "$D/before.db"
rm -f "$D/before.db"
record machine load 1 end "$(load)"
rm -rf "$WORK"/repo-* "$RESTIC_REPOSITORY" "$RESTIC_CACHE_DIR" "$D"

mkdir -p "$here/results"
out=$here/results/sqlite-$ROWS.md
python3 - "$TSV" "$ROWS" "$REPS" >"$out" <<'PY'
import statistics, sys, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    tool, step, rep, metric, value = line.rstrip("\n").split("\t")
    rows[(tool, step, metric)].append(value)
med = lambda *k: statistics.median(map(float, rows[k])) if rows.get(k) else float("nan")
n = int(sys.argv[2])
print(f"# SQLite, {n:,} items + {n // 5:,} orders + FTS5 ({med('fixture', 'db', 'bytes') / 2**20:.0f} MiB file): "
      f"arca vs sqlite3 .backup + zstd (median of {sys.argv[3]} reps, one run)\n")
print(f"Machine load (1, 5, 15 min) at the start: {rows[('machine', 'load', 'start')][0]}; at the end: {rows[('machine', 'load', 'end')][0]} (2 vCPUs).\n")
print("| figure | arca | peer | arca/peer | target |")
print("|---|---|---|---|---|")
def line(label, a, p, target):
    ratio = a / p if p else float("nan")
    verdict = "report" if target is None else (f"<= {target} " + ("met" if ratio <= target else "**not met**"))
    print(f"| {label} | {a:.2f} | {p:.2f} | {ratio:.2f} | {verdict} |")
line("backup, s (peer: sqlite3 .backup, then zstd -3 of the copy)", med("arca", "backup", "wall"), med("sqlite3", "backup", "wall"), 1.2)
line("backup CPU (user + sys), s", med("arca", "backup", "user") + med("arca", "backup", "sys"),
     med("sqlite3", "backup", "user") + med("sqlite3", "backup", "sys"), None)
line("whole-file restore, s (peer: zstd -d of the copy)", med("arca", "restore", "wall"), med("zstd", "restore", "wall"), None)
line("stored MiB after one backup (peer: the .zst)", med("arca", "backup", "stored_bytes") / 2**20, med("sqlite3", "backup", "stored_bytes") / 2**20, None)
up, sup = med("arca", "upsert", "wall"), med("sqlite3", "upsert", "wall")
line("upsert of the items table, s (peer: zstd -d, ATTACH, INSERT .. ON CONFLICT DO UPDATE, FTS5 rebuild)", up, sup, None)
print()
print(f"Peak memory of arca: backup {med('arca', 'backup', 'rss') / 1024:.0f} MiB, restore {med('arca', 'restore', 'rss') / 1024:.0f} MiB, "
      f"upsert {med('arca', 'upsert', 'rss') / 1024:.0f} MiB (sqlite3 + zstd: backup {med('sqlite3', 'backup', 'rss') / 1024:.0f} MiB).\n")
print(f"Upsert of the whole items table ({n:,} rows, 1% differing, 3% deleted) into a live copy: arca {up:.2f} s, {n / up:,.0f} rows/s; "
      f"by hand with sqlite3 {sup:.2f} s, {n / sup:,.0f} rows/s.\n")
print("| second backup, stored bytes as a share of the first | arca | restic on the database file | target |")
print("|---|---|---|---|")
for key, label, target in [("oltp_bytes", "(a) OLTP: 0.5% appended, 0.5% of the newest 10% updated", "<= 0.10"),
                           ("random_bytes", "(b) 1% of rows updated at random", "report")]:
    a, af = med("arca", "growth", key), med("arca", "growth", "first_bytes")
    r, rf = med("restic", "growth", key), med("restic", "growth", "first_bytes")
    verdict = target if target == "report" else f"{target} " + ("met" if a / af <= 0.10 else "**not met**")
    print(f"| {label} | {a / af:.3f} ({a / 2**20:.1f} of {af / 2**20:.1f} MiB) | {r / rf:.3f} ({r / 2**20:.1f} of {rf / 2**20:.1f} MiB) | {verdict} |")
print("\nrestic's figures are the data_added of its --json summary (before compression); arca's are bytes_added_stored.\n")
print("Share of the file (bytes before compression) in the blocks each change touched, by block size "
      "(arca's chunks are 64 KiB blocks):\n")
print("| change | 4 KiB (one page) | 16 KiB | 64 KiB |")
print("|---|---|---|---|")
for key, label in [("oltp", "(a) OLTP"), ("random", "(b) 1% random")]:
    print(f"| {label} | " + " | ".join(f"{med('file', 'blocks', f'{key}_{b}'):.3f}" for b in (4096, 16384, 65536)) + " |")
print()
print("The parts of a backup, each timed alone with Debian's sqlite3 (one run, wall s / CPU s):\n")
print("| part | wall | CPU |")
print("|---|---|---|")
for step, label in [("copy", "sqlite3 .backup (what arca's copy step does, through SQLite's backup API)"),
                    ("zstd", "zstd -3 of the copy (one thread)"),
                    ("quick_check", "PRAGMA quick_check (arca runs it on the copy, with its own SQLite 3.50, which also checks FTS5 indexes)"),
                    ("scan", "a SELECT reading every value of every row (arca hashes each table's rows for the manifest)"),
                    ("command", "arca snapshots: any command's start, key derivation, index"),
                    ("file", "arca backup of the copy as a plain file: read, chunk (content-defined), compress, encrypt, store"),
                    ("integrity_check", "PRAGMA integrity_check (arca's whole-file restore runs it)")]:
    print(f"| {label} | {med('part', step, 'wall'):.2f} | {med('part', step, 'user') + med('part', step, 'sys'):.2f} |")
PY
cat "$out"
