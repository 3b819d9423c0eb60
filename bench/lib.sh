# Shared by the benchmark scripts: sourced, with $root (the repository), $WORK and $TSV set.
# Results go to $TSV as lines "tool step rep metric value".

warm() { for d in "$@"; do [ -e "$d" ] && find "$d" -type f -print0 | xargs -0 -r cat >/dev/null; done; return 0; }

# settle PATH...: flush and drop the page cache, then read PATH... back in. On this kind of virtual machine a
# page of memory that the guest has never used costs a fault in the host the first time it is touched:
# writing 1 GiB into never-used page cache took 3.2 s of system time here, into recycled pages 0.3 s. Without
# dropping, whichever tool first wrote into fresh memory paid that (restic's restore: 1.9 s or 5.2 s of
# system time, run to run). Dropping the cache (root only) recycles memory for both tools alike.
# The programs and the libraries they load are brought back too (a caller may set the array `snapshots`
# to a cheap command of the tool about to run), as on a machine that runs them daily.
settle() {
  sync
  if [ -w /proc/sys/vm/drop_caches ]; then echo 3 >/proc/sys/vm/drop_caches; fi
  warm "$@" "$root/artifacts/arca" "$(command -v restic)"
  if [ -n "${snapshots+x}" ]; then "${snapshots[@]}" >/dev/null 2>&1 || true; fi
}

# timed TOOL STEP REP cmd...: wall seconds, peak RSS (KiB) and CPU seconds (user, sys) into the TSV; the command's
# output to $WORK/log.
timed() {
  local tool=$1 step=$2 rep=$3
  shift 3
  local tf
  tf=$(mktemp)
  sync
  if ! /usr/bin/time -f "%e %M %U %S" -o "$tf" "$@" >>"$WORK/log" 2>&1; then
    echo "FAILED: $tool $step: $*" >&2
    tail -20 "$WORK/log" >&2
    exit 1
  fi
  read -r wall rss user sys <"$tf"
  rm -f "$tf"
  for m in "wall $wall" "rss $rss" "user $user" "sys $sys"; do record "$tool" "$step" "$rep" $m; done
  printf '  %-8s %-10s rep %s: %7.2f s  %7d KiB  (user %.2f s, sys %.2f s)\n' "$tool" "$step" "$rep" "$wall" "$rss" "$user" "$sys" >&2
}

record() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$TSV"; }
