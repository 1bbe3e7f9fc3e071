#!/usr/bin/env bash
# Alternating A/B of two ntsd builds end to end: one worker saturated over
# memif (bench/ntsd_memif.sh --at), old and new in turn, so that both see
# the same host. On the 2-vCPU VM one binary's saturated rate moves by up to
# ±30 % from run to run (the vCPUs' placement on the host decides how far a
# cache line travels between the generator's core and the worker's), so a
# single pair means little: an A/A run (one build against a copy of itself,
# 15 pairs) gave pair ratios from 0.79 to 1.30 and medians 1.05x apart
# (docs/benchmarks.md, "Sixth round"). Issue 17 measures its end-to-end
# speed-up this way against the build of commit 119d3ed.
#
#   bench/alternate_memif.sh OLD_BUILD NEW_BUILD [PAIRS]
#
# OLD_BUILD, NEW_BUILD: build directories with bin/ntsd, bin/ntsd-ke and
# bin/ntsgen. Each pair runs both, old first on odd pairs and new first on
# even ones (no order bias). Prints every run (valid/s, and the worker's
# capacity: requests over its busy time), then the median valid/s of each
# build, the ratio new / old of the medians, and the median, minimum and
# maximum of the per-pair ratios; the same for the capacities, and for the
# valid/s of the pairs in which both runs saturated the worker (valid/s at
# least 0.9 x its capacity: below that the generator set the rate).
#
# Environment:
#   RATE         offered requests/s (default 4000000: past one worker)
#   MODE         ntsd_memif.sh mode: nts, nts30 or ntp (default nts)
#   GEN_VERIFY   ntsgen --verify-every (default 16: the generator outruns
#                the worker; docs/ntsgen.md)
#   MASTER_AEAD  cookie master keys' AEAD (default 15: AES-SIV cookies)
#   OLD_SCRIPT, NEW_SCRIPT  the memif script each side runs (default
#                bench/ntsd_memif.sh; an older build may need a copy that
#                writes the configuration it understands)
# Needs root, as ntsd_memif.sh does.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -lt 2 ]; then
  sed -n '2,32p' "$0" >&2
  exit 2
fi
old=$1 new=$2 pairs=${3:-9}
rate=${RATE:-4000000}
mode=${MODE:-nts}
old_script=${OLD_SCRIPT:-$ROOT/bench/ntsd_memif.sh}
new_script=${NEW_SCRIPT:-$ROOT/bench/ntsd_memif.sh}
for d in "$old" "$new"; do
  for b in ntsd ntsd-ke ntsgen; do
    [ -x "$d/bin/$b" ] || { echo "alternate_memif.sh: $d/bin/$b is not an executable" >&2; exit 2; }
  done
done
[[ $pairs =~ ^[1-9][0-9]*$ ]] || { echo "alternate_memif.sh: PAIRS must be a positive number" >&2; exit 2; }

# One saturated run: "valid/s capacity" from ntsgen's step line and the
# table row's last column (ntsd's rx over busy time).
run_one() {
  local script=$1 build=$2 out valid cap
  out=$(GEN_VERIFY=${GEN_VERIFY:-16} MASTER_AEAD=${MASTER_AEAD:-15} \
        "$script" --build "$build" --modes "$mode" --at "$rate" 2>&1) || {
    echo "alternate_memif.sh: $script --build $build failed:" >&2
    echo "$out" | tail -20 >&2
    return 1
  }
  valid=$(echo "$out" | awk '$1 == "0" && $2 ~ /^[0-9]+$/ {print $4; exit}')
  cap=$(echo "$out" | awk -F'|' -v m=" $mode " '$2 == m {gsub(/ /, "", $(NF-1)); print $(NF-1); exit}')
  [ -n "$valid" ] || { echo "alternate_memif.sh: no fixed-rate step in the output of $script" >&2; return 1; }
  echo "$valid ${cap:-?}"
}

results=$(mktemp)
trap 'rm -f "$results"' EXIT
for ((i = 1; i <= pairs; i++)); do
  if ((i % 2)); then order="old new"; else order="new old"; fi
  for side in $order; do
    if [ "$side" = old ]; then r=$(run_one "$old_script" "$old"); else r=$(run_one "$new_script" "$new"); fi
    echo "$i $side $r" | tee -a "$results"
  done
done

echo "$(date -u '+%Y-%m-%d %H:%M:%S UTC'), $pairs pairs, $mode at $rate/s, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) vCPUs"
python3 - "$results" <<'EOF'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    pair, side, valid, cap = line.split()
    runs.setdefault(int(pair), {})[side] = (float(valid), float(cap) if cap != "?" else None)
def summary(what, pairs, i):
    old = [r["old"][i] for r in pairs]
    new = [r["new"][i] for r in pairs]
    ratios = sorted(r["new"][i] / r["old"][i] for r in pairs)
    mo, mn = statistics.median(old), statistics.median(new)
    print(f"old median {mo / 1e6:.3f} M {what}, new median {mn / 1e6:.3f} M {what}: "
          f"ratio {mn / mo:.3f}x, pair ratio median {statistics.median(ratios):.3f}x "
          f"(min {ratios[0]:.2f}, max {ratios[-1]:.2f}, {len(pairs)} pairs)")
everything = list(runs.values())
summary("valid/s", everything, 0)
if all(r[s][1] for r in everything for s in ("old", "new")):
    summary("rx/s busy", everything, 1)
    # Saturated: the worker was busy for >= 90 % of the run (valid over its
    # capacity), so valid/s is its own rate. Below that the generator, not
    # the worker, set the rate (on this VM, when the host slows the
    # generator's vCPU), and the run says nothing about the worker's
    # saturated rate.
    sat = [r for r in everything if all(r[s][0] >= 0.9 * r[s][1] for s in ("old", "new"))]
    if sat:
        summary("valid/s where both saturated", sat, 0)
    else:
        print("no pair had both runs saturated (valid/s >= 0.9 x capacity)")
EOF
