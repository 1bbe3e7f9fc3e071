#!/usr/bin/env bash
# Alternating A/B of two bench_proto (or any Google Benchmark) binaries, so
# that both see the same machine: on a shared VM the rate drifts by ±15 %
# within minutes, and only rows of one interleaved run are comparable
# (docs/benchmarks.md). Issue 17 measures its speed-up this way against the
# binary of commit 119d3ed.
#
#   bench/alternate.sh OLD_BIN NEW_BIN [PAIRS] CASE...
#   CASE = label=old_filter=new_filter   (the binaries may name a case differently)
#
# Each pair runs every case once on each binary, old first on even pairs and
# new first on odd ones (no order bias), one repetition of --benchmark_min_time
# (MIN_TIME, default 1 s) each. Prints, per case, the median items/s of
# each binary, the ratio new ÷ old of the medians and the median of the
# per-pair ratios. Items/s is Google Benchmark's items_per_second: from the
# process's CPU time, so time the benchmark lost its core does not count.
# COUNTERS="a,b": also the medians of these user counters (e.g. bench_proto's
# BM_BurstPhases cyc_cookie_open,cyc_auth_verify,...), old and new.
#
# Example (AEAD 15, burst 32; 119d3ed has no AEAD argument):
#   bench/alternate.sh /work/wt/base119/build/bin/bench_proto build/bin/bench_proto 7 \
#     '1cookie=BM_Burst/placeholders:0$=BM_Burst/aead:15/placeholders:0$' \
#     '1cookie+3ph=BM_Burst/placeholders:3$=BM_Burst/aead:15/placeholders:3$'
set -euo pipefail

if [ $# -lt 3 ]; then
  sed -n '2,21p' "$0" >&2
  exit 2
fi
old=$1 new=$2
shift 2
pairs=7
if [[ $1 =~ ^[0-9]+$ ]]; then
  pairs=$1
  shift
fi
min_time=${MIN_TIME:-1}
for b in "$old" "$new"; do
  [ -x "$b" ] || { echo "alternate.sh: $b is not an executable" >&2; exit 2; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run BIN FILTER OUT: one run, the JSON of the first matching benchmark.
run() {
  "$1" --benchmark_filter="$2" --benchmark_min_time="$min_time" --benchmark_format=json \
    2>/dev/null | jq -c '[.benchmarks[] | select(.run_type == "iteration")] | first' >>"$3"
}

for ((p = 0; p < pairs; ++p)); do
  for c in "$@"; do
    IFS='=' read -r label of nf <<<"$c"
    if ((p % 2 == 0)); then
      run "$old" "$of" "$tmp/$label.old"
      run "$new" "$nf" "$tmp/$label.new"
    else
      run "$new" "$nf" "$tmp/$label.new"
      run "$old" "$of" "$tmp/$label.old"
    fi
  done
  echo "pair $((p + 1))/$pairs done" >&2
done

echo "$(date -u '+%F %T') UTC, $pairs pairs, min_time $min_time s, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) vCPUs"
printf '%-14s %12s %12s %8s %12s   %s\n' case old_M/s new_M/s ratio pair_ratio "old runs / new runs (M/s)"
for c in "$@"; do
  IFS='=' read -r label of nf <<<"$c"
  COUNTERS=${COUNTERS:-} python3 - "$label" "$tmp/$label.old" "$tmp/$label.new" <<'EOF'
import json, os, statistics, sys
label, fo, fn = sys.argv[1:]
runs_old = [json.loads(x) for x in open(fo).read().split() if x != "null"]
runs_new = [json.loads(x) for x in open(fn).read().split() if x != "null"]
old = [r["items_per_second"] for r in runs_old]
new = [r["items_per_second"] for r in runs_new]
if not old or not new:
    print(f"{label:<14} no result (filter matched nothing?)")
    sys.exit(0)
mo, mn = statistics.median(old), statistics.median(new)
pr = statistics.median(n / o for o, n in zip(old, new))
fmt = lambda xs: " ".join(f"{x / 1e6:.2f}" for x in xs)
print(f"{label:<14} {mo / 1e6:12.3f} {mn / 1e6:12.3f} {mn / mo:7.3f}x {pr:11.3f}x   {fmt(old)} / {fmt(new)}")
for c in filter(None, os.environ.get("COUNTERS", "").split(",")):
    co = [r[c] for r in runs_old if c in r]
    cn = [r[c] for r in runs_new if c in r]
    if co and cn:
        print(f"  {c:<24} old {statistics.median(co):9.1f}  new {statistics.median(cn):9.1f}")
EOF
done
