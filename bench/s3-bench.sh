#!/usr/bin/env bash
# Arca on an S3-compatible server against restic, in one run, printed as ratios arca/restic.
#
#   bench/s3-bench.sh [SIZE]        SIZE for gen_tree.py (default 1G)
#   env: WORK (default /tmp/arca-s3-bench), REPS (default 3), SEED (default 1), SNAPSHOTS (default 30),
#        TREE (a tree made by gen_tree.py to use; default: fs-bench.sh's, else a new one in WORK)
#
# Backup and restore: both tools write to fauxqs on 127.0.0.1 (scripts/s3-server), each into a bucket of its
# own; each with its usual local cache (ARCA_CACHE_DIR, RESTIC_CACHE_DIR), kept from its backup to its restore. restic's
# S3 client (minio-go) signs bodies in chunks, which scripts/s3-server patches fauxqs to decode. Prune: each tool builds a repository of SNAPSHOTS snapshots (the tree, changed by 1%
# before each backup), forgets all but the last 10 and prunes; timed and measured is the prune alone. Both
# on local folders, then both on S3.
# Before each timed step the page cache is dropped and refilled with what the step reads (see fs-bench.sh).
# Restored trees are deleted only after the last restore: on an ext4 file system without a journal (this machine's
# root), creating files within minutes of deleting many makes ext4 scan the recently freed inodes on every create
# (recently_deleted), which added 1 to 1.5 s to a restore of 22,000 files by either tool.
set -euo pipefail
SIZE=${1:-1G}
REPS=${REPS:-3}
SEED=${SEED:-1}
SNAPSHOTS=${SNAPSHOTS:-30}
WORK=${WORK:-/tmp/arca-s3-bench}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
bash "$root/scripts/setup" restic time npm curl
ARCA=$root/arca
"$ARCA" --help >/dev/null
export ARCA_PASSWORD=bench RESTIC_PASSWORD=bench
# The test server checks each whole body against its x-amz-content-sha256, as S3 does (scripts/s3-server), but
# no body signed in chunks, as restic's are: off here, so that neither tool's uploads are checked.
export S3TEST_PORT=${S3TEST_PORT:-45680} S3TEST_DIR=$WORK/s3 S3TEST_RESET=1 S3TEST_VERIFY_SHA256=0
mkdir -p "$WORK"
bash "$root/scripts/s3-server" start
trap 'bash "$root/scripts/s3-server" stop >/dev/null 2>&1 || true' EXIT
# restic reads its region from AWS_DEFAULT_REGION; without one it sends a malformed Authorization header here.
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
S3=http://127.0.0.1:$S3TEST_PORT
TSV=$WORK/results.tsv
: >"$TSV"
# The tree fs-bench.sh made, when there is one (same generator, size and seed), else one of our own.
BASE=${TREE:-/tmp/arca-bench/base-$SIZE}
[ -d "$BASE" ] || BASE=$WORK/base-$SIZE
if [ ! -d "$BASE" ]; then
  python3 "$here/gen_tree.py" generate "$BASE" --size "$SIZE" --seed "$SEED" >&2
fi

. "$here/lib.sh"

transfer() {
  local tool=$1 rep=$2 t=$WORK/t-$1-$2
  rm -rf "$t"
  mkdir -p "$t/restore"
  cd "$t"
  case $tool in
    arca)
      curl -s -o /dev/null -X PUT "$S3/arca-$rep"
      export ARCA_REPOSITORY=s3:$S3/arca-$rep ARCA_CACHE_DIR=$t/cache
      "$ARCA" init -q >>"$WORK/log"
      settle "$BASE"; timed arca backup "$rep" "$ARCA" backup --host bench -q "$BASE"
      settle "$S3TEST_DIR" cache; timed arca restore "$rep" "$ARCA" restore latest --target restore -q
      ;;
    restic)
      curl -s -o /dev/null -X PUT "$S3/restic-$rep"
      export RESTIC_REPOSITORY=s3:$S3/restic-$rep/repo RESTIC_CACHE_DIR=$t/cache
      restic init >>"$WORK/log" 2>&1
      settle "$BASE"; timed restic backup "$rep" restic backup --host bench -q "$BASE"
      settle "$S3TEST_DIR" cache; timed restic restore "$rep" restic restore latest --target restore -q
      ;;
  esac
  diff -r "$BASE" "$(find restore -type d -name "$(basename "$BASE")" | head -1)" >/dev/null \
    || { echo "$tool: the restored tree differs" >&2; exit 1; }
  cd "$WORK"
  # Kept until every transfer is done (see the header): deleting it here slowed the next restore by a second.
}

# prune_run TOOL LABEL REP: SNAPSHOTS backups of a changing tree, forget all but 10, timed prune.
prune_run() {
  local tool=$1 label=$2 rep=$3 t=$WORK/p-$2-$3
  rm -rf "$t"
  mkdir -p "$t"
  cp -a "$BASE" "$t/tree"
  cd "$t"
  case $label in
    arca) export ARCA_REPOSITORY=$t/repo ;;
    arca-s3) curl -s -o /dev/null -X PUT "$S3/prune-$rep"; export ARCA_REPOSITORY=s3:$S3/prune-$rep ARCA_CACHE_DIR=$t/cache ;;
    restic) export RESTIC_REPOSITORY=$t/repo RESTIC_CACHE_DIR=$t/cache ;;
    restic-s3)
      curl -s -o /dev/null -X PUT "$S3/restic-prune-$rep"
      export RESTIC_REPOSITORY=s3:$S3/restic-prune-$rep/repo RESTIC_CACHE_DIR=$t/cache ;;
  esac
  if [ "$tool" = arca ]; then "$ARCA" init -q >>"$WORK/log"; else restic init >>"$WORK/log" 2>&1; fi
  for i in $(seq 1 "$SNAPSHOTS"); do
    python3 "$here/gen_tree.py" mutate tree --seed "$SEED" --round "$i" >>"$WORK/log"
    if [ "$tool" = arca ]; then "$ARCA" backup --host bench -q tree; else restic backup --host bench -q tree; fi
  done
  if [ "$tool" = arca ]; then
    "$ARCA" forget --keep-last 10 -q
    settle repo cache "$S3TEST_DIR"; timed "$label" prune "$rep" "$ARCA" prune -q
    "$ARCA" check -q
  else
    restic forget --keep-last 10 -q >>"$WORK/log"
    settle repo cache "$S3TEST_DIR"; timed "$label" prune "$rep" restic prune -q
    restic check -q >>"$WORK/log" 2>&1
  fi
  cd "$WORK"
  rm -rf "$t"
}

{
  echo "# $(date -u +%FT%TZ) $SIZE reps=$REPS snapshots=$SNAPSHOTS"
  restic version
  "$ARCA" --version
} >>"$WORK/log"
for rep in $(seq 1 "$REPS"); do
  order="arca restic"
  [ $((rep % 2)) -eq 0 ] && order="restic arca"
  for tool in $order; do
    echo "== $tool rep $rep" >&2
    transfer "$tool" "$rep"
  done
done
rm -rf "$WORK"/t-*/restore
echo "== prune (${SNAPSHOTS} snapshots, forget 20 first)" >&2
prune_run arca arca 1
prune_run restic restic 1
prune_run arca arca-s3 1
prune_run restic restic-s3 1

mkdir -p "$here/results"
out=$here/results/s3-$SIZE.md
python3 - "$TSV" "$SIZE" "$REPS" "$SNAPSHOTS" >"$out" <<'PY'
import statistics, sys, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    tool, step, rep, metric, value = line.rstrip("\n").split("\t")
    rows[(tool, step, metric)].append(float(value))
med = lambda k: statistics.median(rows[k]) if rows.get(k) else float("nan")
print(f"# S3: arca vs restic, both on fauxqs on 127.0.0.1 ({sys.argv[2]} tree, median of {sys.argv[3]} reps; "
      f"prune of {sys.argv[4]} snapshots after forgetting all but 10, one run)\n")
print("Each tool keeps its local cache of trees from its backup to its restore, as it does by default.\n")
print("| figure | arca | restic | arca/restic | target |")
print("|---|---|---|---|---|")
lines = [("arca", "restic", "backup", "wall", "backup to S3, s", 0.6),
         ("arca", "restic", "restore", "wall", "restore from S3, s", 0.6),
         ("arca", "restic", "prune", "wall", "prune, both local, s", 0.6),
         ("arca-s3", "restic-s3", "prune", "wall", "prune, both on S3, s", 0.6),
         ("arca", "restic", "backup", "rss", "peak memory, backup, MiB", None),
         ("arca", "restic", "restore", "rss", "peak memory, restore, MiB", None),
         ("arca", "restic", "prune", "rss", "peak memory, prune (local), MiB", None),
         ("arca-s3", "restic-s3", "prune", "rss", "peak memory, prune (S3), MiB", None)]
for arca, restic, step, metric, label, target in lines:
    a, r = med((arca, step, metric)), med((restic, step, metric))
    if metric == "rss":
        a, r = a / 1024, r / 1024
    ratio = a / r if r else float("nan")
    verdict = "" if target is None else (f"<= {target} " + ("met" if ratio <= target else "**not met**"))
    print(f"| {label} | {a:.2f} | {r:.2f} | {ratio:.2f} | {verdict} |")
PY
cat "$out"
