#!/usr/bin/env bash
# ntsgen's own NTS ceiling over net_memif, as bench/ntsd_memif.sh runs it
# (ntsgen on core 0 as the memif server doing the copies, DPDK --no-huge),
# but against ntsgen-reflect on core 1 instead of ntsd: a zero-copy memif
# client that answers each request in place with a response of ntsd's shape
# and length for almost no work (reflect.cpp). Whatever rate comes out is
# the generator's.
#
#   bench/ntsgen/gen_ceiling.sh [--build DIR] [--verify "1 16"] [--rate R] [--seconds S] [--runs K]
#
# Per run and --verify-every N: answers/s (every matched answer: the
# reflector's cheap-check-passing answers count valid, the fully verified
# ones invalid: auth, since nothing is sealed), the share of the offered
# schedule ntsgen kept up with, and the reflector's average burst (32:
# the reflector, not ntsgen, was the limit). 256 sessions from a session
# file (random AEAD-15 keys, eight 100-byte cookies each, as with
# MASTER_AEAD=15), 1024 clients, 0 placeholders. Needs root (memif).
# NTSGEN=PATH (environment) runs another ntsgen binary against the same
# reflector, e.g. an older build for a before/after pair; --verify-every is
# only passed for N > 1, so N = 1 works with an ntsgen that lacks it.
# GEN_ARGS (environment): more ntsgen options, e.g. "--placeholders 1".
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/e2e/lib.sh"  # bench_work_dir
BUILD=${NTSD_BUILD:-$ROOT/build}
verify="1 16" rate=6000000 seconds=4 runs=1
while [ $# -gt 0 ]; do
  case $1 in
    --build) BUILD=$2; shift 2 ;;
    --verify) verify=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--verify \"1 16\"] [--rate R] [--seconds S] [--runs K]" >&2; exit 2 ;;
  esac
done
BIN=$BUILD/bin
GEN=${NTSGEN:-$BIN/ntsgen}
for b in "$GEN" "$BIN/ntsgen-reflect"; do [ -x "$b" ] || { echo "missing $b" >&2; exit 1; }; done
bench_work_dir ntsgen-ceiling

python3 - "$work/sessions" <<'PY'
import os, sys
with open(sys.argv[1], "w") as f:
    for _ in range(256):
        f.write(" ".join([os.urandom(32).hex(), os.urandom(32).hex()] + [os.urandom(100).hex() for _ in range(8)]) + "\n")
PY

sock="$work/memif.sock"
one() {
  local n=$1 tag=$2
  # ntsgen (memif server) first; it waits up to 5 s for the link.
  local sample=""
  [ "$n" -gt 1 ] && sample="--verify-every $n"
  # shellcheck disable=SC2086
  exec 4< <("$GEN" --transport dpdk --mode nts --session-file "$work/sessions" $sample ${GEN_ARGS:-} \
    --eal "-l 0 --no-huge -m 512 --no-shconf --no-pci --no-telemetry --file-prefix=gc$$ --vdev=net_memif0,role=server,socket=$sock,rsize=12" \
    --src-ip 198.18.0.1 --dst-ip 198.18.0.2 --clients 1024 --rate "$rate" --duration "$seconds" --json "$work/$tag.json" \
    --quiet --linger 30 2>&1 >"$work/$tag.out")
  local gen=$!
  sleep 1
  "$BIN/ntsgen-reflect" --ip 198.18.0.2 --seconds $((seconds + 20)) \
    --eal "-l 1 --no-huge -m 512 --no-shconf --single-file-segments --no-pci --no-telemetry --file-prefix=rf$$ --vdev=net_memif0,role=client,zero-copy=yes,socket=$sock,rsize=12" \
    >"$work/$tag.reflect" 2>"$work/$tag.reflect.err" &
  local rf=$!
  pids+=("$rf")
  while IFS= read -r -u 4 line; do
    echo "$line" >>"$work/$tag.err"
    [[ $line == *lingering* ]] && break
  done
  # The reflector (the memif client) goes first, while ntsgen idles (DPDK
  # 22.11's memif unmaps the rings on a peer's disconnect).
  kill -TERM "$rf"; wait "$rf" || true
  kill -TERM "$gen" 2>/dev/null || true
  cat <&4 >>"$work/$tag.err"
  exec 4<&-
  python3 - "$work/$tag.json" "$work/$tag.reflect" "$n" "$rate" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); s = r["steps"][0]
words = open(sys.argv[2]).read().split()
burst = float(words[words.index("avg_burst") + 1]) if "avg_burst" in words else float("nan")
answered = s["valid"] + s["invalid"]
tried = s["sent"] + s["send_errors"]
print(f"| {sys.argv[3]} | {int(sys.argv[4])} | {answered / s['duration_s']:.0f} | {s['valid'] / s['duration_s']:.0f} | "
      f"{s['invalid_by_reason']['auth']} | {100 * tried / (float(sys.argv[4]) * s['duration_s']):.1f} | {s['send_errors']} | {burst:.2f} |")
PY
}

echo "| verify-every | offered/s | answers/s | valid/s | invalid: auth | offered schedule kept (%) | send errors | reflector avg burst |"
echo "|---|---|---|---|---|---|---|---|"
for k in $(seq "$runs"); do
  for n in $verify; do one "$n" "run$k-n$n"; done
done
