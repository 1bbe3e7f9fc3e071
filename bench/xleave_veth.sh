#!/usr/bin/env bash
# e2e-timeout: 900
# Transmit-timestamp error, basic against interleaved mode (issue 14), on
# the socket backend over a veth pair between two namespaces:
#
#   bench/xleave_veth.sh [--build DIR] [--quick]
#
# ntsd (kernel-socket backend, one worker, core 1) serves plain NTP; ntsgen
# (socket transport, 1024 clients on addresses 198.18.0.1-198.18.4.0 from one
# socket, --sources: a burst in one sendmmsg, and at the knee still one
# request out per client; core 0) measures T4 - T3 of every
# answer, T4 being the kernel's software RX timestamp of the answer in the
# client namespace (SO_TIMESTAMPING) and T3 the server's transmit timestamp:
#   basic (--offsets):        T3 is stamped before the response is sent, so
#                             T4 - T3 = T3's error + the path from ntsd's
#                             kernel TX timestamp to the client's RX stamp;
#   interleaved (--interleaved): T3 is the kernel's TX timestamp of the
#                             previous answer, and T4 that answer's RX stamp,
#                             so T4 - T3 = the path alone (error 0 by
#                             construction).
# Both clocks are the one system clock. Runs: a ramp per mode (x1.25 from
# 20 k/s, 2 s steps, threshold 1 %) for each mode's knee, then 5 s fixed-rate
# runs of both modes at 10 k/s and at each knee. Prints a Markdown table
# (and the knees on stderr).
# Needs root (namespaces). KEEP=1 (E2E_KEEP=1) keeps the work directory.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${NTSD_BUILD:-$ROOT/build}
quick=0
while [ $# -gt 0 ]; do
  case $1 in
    --build) BUILD=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    *) echo "usage: $0 [--build DIR] [--quick]" >&2; exit 2 ;;
  esac
done
export NTSD_BUILD=$BUILD NTSD_BIN=$BUILD/bin
[ -n "${KEEP:-}" ] && export E2E_KEEP=1
. "$ROOT/tests/e2e/lib.sh"
e2e_init xlbench
NTSGEN=$(e2e_bin ntsgen) || e2e_fail "ntsgen is not built"
NTSD=$(e2e_bin ntsd) || e2e_fail "ntsd is not built"
ns_pair
# The clients' addresses: 198.18.0.0/16 on the client's veth, routed on-link
# from the server's side (ARP resolves them).
for i in $(seq 1 1024); do echo "addr add 198.18.$((i / 256)).$((i % 256))/16 dev $IF_C"; done >"$E2E_DIR/addrs"
in_c ip -batch "$E2E_DIR/addrs"
in_s ip route add 198.18.0.0/16 dev "$IF_S"
cat >"$E2E_DIR/ntsd.toml" <<EOT
[server]
local_stratum = 1
[keys]
file = "$E2E_DIR/ntskeys"
[dataplane]
backend = "socket"
workers = 1
listen = ["$S4:123"]
[metrics]
listen = "127.0.0.1:9123"
EOT
e2e_spawn ntsd "$NS_S" taskset -c 1 "$NTSD" --config "$E2E_DIR/ntsd.toml"
wait_for "in_s ss -lun | grep -q '$S4:123 '" 10 || e2e_fail "ntsd did not listen on $S4:123"
sleep 1  # the TSC fit

dur=5 steps=12
[ $quick = 1 ] && dur=2 steps=6
gen() {  # gen NAME ARGS...: one ntsgen run from the client namespace, core 0
  local name=$1; shift
  in_c taskset -c 0 "$NTSGEN" --server "$S4" --bind 198.18.0.1 --sources 1024 --drain 0.5 --quiet --json "$E2E_DIR/$name.json" "$@" \
    >"$E2E_DIR/$name.out" 2>&1 || { cat "$E2E_DIR/$name.out" >&2; e2e_fail "ntsgen $name failed"; }
}
knee_of() {  # knee_of NAME: the offered rate of the ramp's knee step
  json_get "$E2E_DIR/$1.json" 'round(r["steps"][r["knee"]]["offered_rate"]) if r["knee"] >= 0 else 20000'
}
gen ramp --offsets --rate 20000 --ramp 1.25 --steps $steps --duration 2 --threshold 1
knee=$(knee_of ramp)
e2e_log "basic-mode knee: $knee offered/s ($(json_get "$E2E_DIR/ramp.json" 'round(r["steps"][r["knee"]]["valid_rate"]) if r["knee"] >= 0 else 0') valid/s)"
gen xramp --interleaved --rate 20000 --ramp 1.25 --steps $steps --duration 2 --threshold 1
xknee=$(knee_of xramp)
e2e_log "interleaved-mode knee: $xknee offered/s ($(json_get "$E2E_DIR/xramp.json" 'round(r["steps"][r["knee"]]["valid_rate"]) if r["knee"] >= 0 else 0') valid/s)"

# ntsd's basic answers to interleaved-looking requests by reason, since the last call.
declare -A seen=()
reasons() {
  local out="" r v
  for r in unknown ambiguous no_tx_timestamp; do
    v=$(in_s curl -sf http://127.0.0.1:9123/metrics | awk -v r="reason=\"$r\"" '/^ntsd_interleaved_basic_total/ && index($0, r) { s += $NF } END { print s + 0 }')
    out+="${out:+ }$r $((v - ${seen[$r]:-0}))"
    seen[$r]=$v
  done
  echo "$out"
}
us() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / 1000))" "$1"; }
row() {  # row NAME RATE MODE
  local f=$E2E_DIR/$1.json k=basic
  [ "$3" = interleaved ] && k=interleaved
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$2" "$3" \
    "$(json_get "$f" 'round(r["steps"][0]["valid_rate"])')" \
    "$(json_get "$f" 'round(r["steps"][0]["lost_pct"] + r["steps"][0]["invalid_pct"], 2)')" \
    "$(json_get "$f" 'round(r["steps"][0]["interleaved"]["share_pct"], 2) if r["interleaved_requests"] else "-"')" \
    "$(json_get "$f" "r['steps'][0]['t3_offset_ns']['$k']['count']")" \
    "$(us "$(json_get "$f" "r['steps'][0]['t3_offset_ns']['$k']['p50']")")" \
    "$(us "$(json_get "$f" "r['steps'][0]['t3_offset_ns']['$k']['p99']")")" "$(reasons)"
}
reasons >/dev/null
echo "| offered/s | mode | valid/s | lost+invalid % | interleaved % | answers | T4-T3 p50 (us) | T4-T3 p99 (us) | ntsd basic answers to interleaved requests |"
echo "|---|---|---|---|---|---|---|---|---|"
for rate in 10000 $(printf '%s\n' "$xknee" "$knee" | sort -n -u); do
  gen "basic-$rate" --offsets --rate "$rate" --duration $dur
  row "basic-$rate" "$rate" basic
  gen "xleave-$rate" --interleaved --rate "$rate" --duration $dur
  row "xleave-$rate" "$rate" interleaved
done
e2e_pass "done (work dir $E2E_DIR)"
