#!/usr/bin/env bash
# Arca against restic on the same file tree, in one run, printed as ratios arca/restic.
#
#   bench/fs-bench.sh [SIZE]        SIZE for gen_tree.py (default 1G)
#   env: WORK (default /tmp/arca-bench), REPS (default 3), SEED (default 1)
#
# Each rep, for each tool in turn (interleaved, so both see the same machine state): a fresh copy of the
# tree, a fresh repository, then backup #1, backup #2 (unchanged), mutate 1%, backup #3, restore of the
# latest snapshot into an empty folder (compared with the tree), and a full read check. Needs about
# 6 GiB of free disk per rep (trees, repositories and restores are kept until the end). Before each step
# the page cache is dropped (as root) and what the step reads is read back in: see settle below.
# Cells are medians over the reps; peak memory is the
# largest resident set of the process. Results: $WORK/results.tsv and bench/results/fs-SIZE.md.
set -euo pipefail
SIZE=${1:-1G}
REPS=${REPS:-3}
SEED=${SEED:-1}
WORK=${WORK:-/tmp/arca-bench}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
bash "$root/scripts/setup" restic time
ARCA=$root/arca                                 # the launcher, as users run it
"$ARCA" --help >/dev/null                       # build once, outside the timings
export ARCA_PASSWORD=bench RESTIC_PASSWORD=bench
mkdir -p "$WORK"
TSV=$WORK/results.tsv
: >"$TSV"
BASE=$WORK/base-$SIZE
if [ ! -d "$BASE" ]; then
  echo "generating the $SIZE tree (seed $SEED) in $BASE" >&2
  python3 "$here/gen_tree.py" generate "$BASE" --size "$SIZE" --seed "$SEED" >&2
fi

. "$here/lib.sh"

run_tool() {
  # A fresh folder per tool and rep, and nothing deleted until the whole run is over: ext4 makes creating
  # files soon after many were deleted several times slower (its inode allocator skips recently freed
  # inodes for half a minute), which would penalise whichever restore came after a deletion.
  local tool=$1 rep=$2 t=$WORK/t-$1-$2
  rm -rf "$t"
  mkdir -p "$t"
  cp -a "$BASE" "$t/tree"
  cd "$t"
  case $tool in
    arca)
      export ARCA_REPOSITORY=$t/repo
      "$ARCA" init -q >>"$WORK/log"
      backup=("$ARCA" backup --host bench -q tree)
      snapshots=("$ARCA" snapshots -q)
      restore=("$ARCA" restore latest --target restore -q)
      check=("$ARCA" check --read-data -q)
      ;;
    restic)
      export RESTIC_REPOSITORY=$t/repo RESTIC_CACHE_DIR=$t/cache
      restic init >>"$WORK/log" 2>&1
      backup=(restic backup --host bench -q tree)
      snapshots=(restic snapshots -q)
      restore=(restic restore latest --target restore -q)
      check=(restic check --read-data -q)
      ;;
  esac
  settle tree repo cache; timed "$tool" backup1 "$rep" "${backup[@]}"
  record "$tool" backup1 "$rep" repo_bytes "$(du -sb repo | cut -f1)"
  settle tree repo cache; timed "$tool" backup2 "$rep" "${backup[@]}"
  python3 "$here/gen_tree.py" mutate tree --seed "$SEED" --round 1 >>"$WORK/log"
  local before
  before=$(du -sb repo | cut -f1)
  settle tree repo cache; timed "$tool" backup3 "$rep" "${backup[@]}"
  record "$tool" backup3 "$rep" growth_bytes "$(( $(du -sb repo | cut -f1) - before ))"
  mkdir restore
  settle repo cache; timed "$tool" restore "$rep" "${restore[@]}"
  local got
  got=$(find restore -type d -name tree | head -1)
  diff -r tree "$got" >/dev/null || { echo "$tool: the restored tree differs from the source" >&2; exit 1; }
  settle repo cache; timed "$tool" check "$rep" "${check[@]}"
  cd "$WORK"
}

{
  echo "# $(date -u +%FT%TZ) $SIZE reps=$REPS"
  restic version
  "$ARCA" --version
} >>"$WORK/log"
rm -rf "$WORK"/t-*
for rep in $(seq 1 "$REPS"); do
  # Alternate which tool goes first, so neither always meets the other's leftovers in the page cache.
  order="arca restic"
  [ $((rep % 2)) -eq 0 ] && order="restic arca"
  for tool in $order; do
    echo "== $tool rep $rep" >&2
    run_tool "$tool" "$rep"
  done
done
rm -rf "$WORK"/t-*

mkdir -p "$here/results"
out=$here/results/fs-$SIZE.md
python3 - "$TSV" "$SIZE" "$REPS" >"$out" <<'PY'
import statistics, sys, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    tool, step, rep, metric, value = line.rstrip("\n").split("\t")
    rows[(tool, step, metric)].append(float(value))
med = lambda k: statistics.median(rows[k]) if rows.get(k) else float("nan")
steps = [("backup1", "wall", "first backup, s", 0.5), ("backup2", "wall", "unchanged re-backup, s", 0.5),
         ("backup3", "wall", "backup after 1% change, s", None), ("restore", "wall", "restore, s", 0.6),
         ("check", "wall", "check --read-data, s", None), ("backup1", "repo_bytes", "repository after backup 1, MiB", 1.0),
         ("backup3", "growth_bytes", "repository growth from backup 3, MiB", None),
         ("backup1", "rss", "peak memory, first backup, MiB", 1.0), ("restore", "rss", "peak memory, restore, MiB", None)]
print(f"# File tree {sys.argv[2]}: arca vs restic (median of {sys.argv[3]} reps, one run)\n")
print("| figure | arca | restic | arca/restic | target |")
print("|---|---|---|---|---|")
for step, metric, label, target in steps:
    a, r = med(("arca", step, metric)), med(("restic", step, metric))
    if metric.endswith("bytes"):
        a, r = a / 2**20, r / 2**20
    if metric == "rss":
        a, r = a / 1024, r / 1024
    ratio = a / r if r else float("nan")
    verdict = "" if target is None else (f"<= {target} " + ("met" if ratio <= target else "**not met**"))
    print(f"| {label} | {a:.2f} | {r:.2f} | {ratio:.2f} | {verdict} |")
PY
cat "$out"
