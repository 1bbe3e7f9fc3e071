#!/usr/bin/env bash
# Responder benchmark: ntsd (DPDK backend, one worker lcore on core 1) against
# ntsgen (DPDK, core 0) over net_memif, no NIC and no hugepages needed.
#
#   bench/ntsd_memif.sh [--build DIR] [--quick] [--burst N] [--modes "ntp nts nts30"] [--copy] [--at RATE]
#                       [--interleaved] [--server-basic]
#
# --interleaved: ntsgen's clients send interleaved requests (RFC 9769, ntsgen
# --interleaved; 4096 clients on 4096 addresses, so one request out per
# client at these rates, and no two clients share a receive timestamp)
# and the row gets the share of interleaved answers in the fixed-rate run.
# --server-basic: [server] interleaved = false (the core without a table).
# CLIENTS, SRC_ADDRS (environment) override ntsgen's --clients and
# --src-addrs (default 1024 on 1 address; 4096 on 4096 with --interleaved).
# NTS_RAMP="START FACTOR STEPS" (environment) replaces the NTS ramp's
# 500000 x1.25, 10 steps, e.g. "1000000 1.06 10" to tell close knees apart.
#
# --burst sets ntsd's [dataplane] burst (default 32): smaller bursts trade
# multi-buffer throughput for a shorter T3 - T2, since every request of a
# burst shares the T2 read after rx_burst.
#
# --at RATE skips the ramp: only the fixed-rate run, at RATE requests/s.
#
# By default ntsd is the memif client in zero-copy mode (zero-copy=yes, EAL
# --single-file-segments): its own mbufs are the ring buffers and ntsgen, the
# memif server, does the copies. --copy runs the copy mode instead, ntsd as
# the server copying every frame in and out (about 45 % of the worker).
# Rings are 2^12 descriptors: 2^14 measured slower (the buffers no longer
# fit in the caches) and 2^10 overflows during VM stalls (docs/benchmarks.md).
#
# Measures, for plain NTP, NTS with AEAD 15 (mode nts) and NTS with AEAD 30
# (AES-128-GCM-SIV, mode nts30: ntsgen offers 30 first, with record 1024),
# one cookie per request, cookies sealed under ntsd-ke's default
# AES-128-GCM-SIV master keys (96 bytes for AEAD 15, 64 for AEAD 30):
#   - the knee of an open-loop ramp: the highest step with < 0.1 % of requests
#     unanswered, refused or invalid (ntsgen verifies every response,
#     docs/ntsgen.md). A step over that is run up to 3 times before the ramp
#     ends (ntsgen --attempts; every attempt is in the log): this VM takes
#     the worker's core away for 1-6 ms a few times a second (the stall
#     column; bench/stalls/cpu_stalls measures it without ntsd), longer than
#     its 4096-descriptor RX ring lasts at these rates;
#   - a 4 s fixed-rate run at the knee's offered rate: requests not answered
#     validly, the server's processing time T3 - T2 p50/p99 (ntsd's
#     ntsd_processing_seconds histogram, T2 read right after rx_burst; bucket
#     upper bounds 0.1 us up to 10 us, 1 us up to 100 us), and ntsd's worker
#     stalls over 1 ms meanwhile.
# KEEP=1 keeps the work directory (logs, ntsgen JSON, metrics scrapes).
# MASTER_AEAD=15 seals cookies under AES-SIV master keys (100-byte AEAD-15
# cookies) instead of ntsd-ke's default AES-128-GCM-SIV ones.
# GEN_VERIFY=N passes --verify-every N to ntsgen: one NTS response in N is
# fully verified (AEAD open, fresh cookies), the others are matched and
# checked without the AEAD, so that the generator outruns one ntsd worker
# (docs/ntsgen.md; sessions then reuse cookies). Default 1: every response.
# Prints a Markdown table row per mode. Needs root (DPDK memif sockets).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/tests/e2e/lib.sh"  # json_get, bench_work_dir
BUILD=${NTSD_BUILD:-$ROOT/build}
quick=0
burst=32
modes="ntp nts nts30"
copy=0
at=""
gen_interleaved=""
server_interleaved=true
clients=1024 src_addrs=1
while [ $# -gt 0 ]; do
  case $1 in
    --build) BUILD=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --burst) burst=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    --copy) copy=1; shift ;;
    --at) at=$2; shift 2 ;;
    --interleaved) gen_interleaved="--interleaved"; clients=4096 src_addrs=4096; shift ;;
    --server-basic) server_interleaved=false; shift ;;
    *) echo "usage: $0 [--build DIR] [--quick] [--burst N] [--modes \"ntp nts nts30\"] [--copy] [--at RATE] [--interleaved] [--server-basic]" >&2; exit 2 ;;
  esac
done
BIN=$BUILD/bin
for b in ntsd ntsd-ke ntsgen; do [ -x "$BIN/$b" ] || { echo "missing $BIN/$b" >&2; exit 1; }; done

bench_work_dir ntsd-bench

# Throwaway certificate for NTS-KE on loopback.
(cd "$work" &&
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout key.pem -out cert.pem 2>/dev/null)
rsize=12
if [ $copy = 1 ]; then
  ntsd_port="net_memif0,role=server,socket=$work/memif.sock,rsize=$rsize"
  gen_port="net_memif0,role=client,socket=$work/memif.sock,rsize=$rsize"
  segments=""
else
  ntsd_port="net_memif0,role=client,zero-copy=yes,socket=$work/memif.sock,rsize=$rsize"
  gen_port="net_memif0,role=server,socket=$work/memif.sock,rsize=$rsize"
  segments='"--single-file-segments", '  # memif zero-copy shares the EAL memory by fd
fi
ke_port=$((20000 + $$ % 20000))
metrics_port=$((ke_port + 1))
cat >"$work/ntsd.toml" <<EOT
[server]
local_stratum = 1
interleaved = $server_interleaved

[ke]
listen = ["127.0.0.1"]
port = $ke_port
cert = "$work/cert.pem"
key = "$work/key.pem"
threads = 1

[keys]
file = "$work/ntskeys"
${MASTER_AEAD:+aead = $MASTER_AEAD}

[dataplane]
backend = "dpdk"
workers = 1
burst = $burst
rx_desc = $((1 << rsize))
tx_desc = $((1 << rsize))
eal_args = ["-l", "0-1", "--main-lcore", "0", "--no-huge", "-m", "512", "--no-shconf", ${segments}"--no-pci", "--no-telemetry", "--file-prefix=ntsdb$$"]
ports = ["$ntsd_port"]
addresses = ["198.18.0.2"]

[metrics]
listen = "127.0.0.1:$metrics_port"
EOT
# ntsd-ke on the generator's core, off ntsd's worker lcore.
taskset -c 0 "$BIN/ntsd-ke" --config "$work/ntsd.toml" >"$work/ke.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -s "$work/ntskeys" ] && break; sleep 0.1; done
# One ntsd per mode, stopped while ntsgen lingers idle: DPDK 22.11's
# net_memif unmaps its rings on a peer disconnect without waiting for the
# datapath, so the poller must never be the side left behind
# (docs/dataplane.md, "net_memif").
start_ntsd() {
  "$BIN/ntsd" --config "$work/ntsd.toml" >"$work/ntsd-$1.log" 2>&1 &
  ntsd_pid=$!
  pids+=($ntsd_pid)
  for _ in $(seq 100); do grep -qs "serving NTP/NTS" "$work/ntsd-$1.log" && break; sleep 0.1; done
  grep -q "serving NTP/NTS" "$work/ntsd-$1.log" || { cat "$work/ntsd-$1.log" >&2; exit 1; }
}

# T3 - T2 quantile from the cumulative histogram: quantile Q of the samples
# added between two scrapes (files A and B).
proc_quantile() {
  local a=$1 b=$2 q=$3
  awk -v q="$q" '
    FNR == NR && /^ntsd_processing_seconds_bucket/ { split($0, p, "le=\""); split(p[2], l, "\""); base[l[1]] = $NF; next }
    /^ntsd_processing_seconds_bucket/ { split($0, p, "le=\""); split(p[2], l, "\""); n++; le[n] = l[1]; c[n] = $NF - base[l[1]] }
    END { total = c[n]; if (total == 0) { print "n/a"; exit }
          for (i = 1; i <= n; i++) if (c[i] >= q * total) { if (le[i] == "+Inf") print ">100"; else printf "%.1f", le[i] * 1e6; exit } }' "$a" "$b"
}

# The worker's capacity between scrapes A and B: packets received per
# second of its busy time (ntsd_worker_busy_seconds_total: iterations that
# served a burst), "-" for an ntsd without that metric. Measured below
# saturation too, so it shows what one worker can take when the generator
# cannot offer that much (docs/dataplane.md).
capacity() {
  local busy rx
  busy=$(metric_delta "$1" "$2" 'ntsd_worker_busy_seconds_total{worker="0"}')
  rx=$(metric_delta "$1" "$2" 'ntsd_rx_packets_total{worker="0"}')
  awk -v b="$busy" -v r="$rx" 'BEGIN { if (b == "" || b <= 0) print "-"; else printf "%.0f", r / b }'
}

# Increase of metric line NAME (exact series, e.g. with its labels) between scrapes A and B.
metric_delta() {
  awk -v n="$3" 'FNR == NR { if ($1 == n) a = $2; next } $1 == n { printf "%g", $2 - a }' "$1" "$2"
}

# One ntsd and one ntsgen run: load TAG MODE "NTSGEN LOAD ARGS" "EXTRA ARGS".
# Leaves ntsgen's table in TAG.out, its JSON in TAG.json and ntsd's metrics
# before and after in TAG.m0 and TAG.m1.
load() {
  local tag=$1 mode=$2 args=$3 extra=$4
  # The memif server must listen before its client connects: ntsd first in
  # copy mode; ntsgen first (it waits for the link) in zero-copy mode.
  [ $copy = 1 ] && start_ntsd "$tag"
  # ntsgen's stderr comes back on fd 4, so the wait for its "lingering" line
  # below is a blocking read: polling with grep and sleep forked processes
  # that preempted the two pollers for about a millisecond each, ten times
  # a second (the RTT p99 went from ~50 us to ~1 ms).
  # shellcheck disable=SC2086
  exec 4< <("$BIN/ntsgen" --transport dpdk --mode "$mode" $extra $args $gen_interleaved ${GEN_VERIFY:+--verify-every "$GEN_VERIFY"} \
    --eal "-l 0 --no-huge -m 512 --no-shconf --no-pci --no-telemetry --file-prefix=gen$$ --vdev=$gen_port" \
    --src-ip 198.18.0.1 --dst-ip 198.18.0.2 --clients ${CLIENTS:-$clients} --src-addrs ${SRC_ADDRS:-$src_addrs} --threshold 0.1 --json "$work/$tag.json" \
    --quiet --linger 30 2>&1 >"$work/$tag.out")
  local gen=$!
  if [ $copy = 0 ]; then
    # The socket is abstract (no file to wait for); ntsgen waits 5 s for the link.
    sleep 1
    start_ntsd "$tag"
  fi
  curl -sf "http://127.0.0.1:$metrics_port/metrics" >"$work/$tag.m0"
  while IFS= read -r -u 4 line; do
    echo "$line" >>"$work/$tag.err"
    [[ $line == *lingering* ]] && break
  done
  curl -sf "http://127.0.0.1:$metrics_port/metrics" >"$work/$tag.m1"
  kill -TERM "$ntsd_pid"; wait "$ntsd_pid" || echo "ntsd exited with status $? after $tag" >&2
  kill -TERM "$gen" 2>/dev/null || true
  cat <&4 >>"$work/$tag.err"
  exec 4<&-
  cat "$work/$tag.out" >&2
}

# A ramp to the knee, then a fixed-rate run at the knee's offered rate (or
# the ramp's first rate if no step passed), which gives T3 - T2: over the
# ramp it would mix in the saturated steps past the knee.
run() {
  local row=$1 rate=$2 ramp=$3 steps=$4 extra=$5
  local mode=${row%30}  # nts30 runs ntsgen's nts mode (with --aead 30,15 in extra)
  local dur=2 fixed_dur=4
  [ $quick = 1 ] && steps=4 dur=1 fixed_dur=2
  local knee_valid="none" fixed_rate=$rate
  if [ -n "$at" ]; then
    knee_valid="(no ramp)" fixed_rate=$at
  else
    load "$row-ramp" "$mode" "--rate $rate --ramp $ramp --steps $steps --duration $dur --attempts 3" "$extra"
  fi
  if [ -z "$at" ] && [ "$(json_get "$work/$row-ramp.json" 'r["knee"]')" -ge 0 ]; then
    knee_valid=$(json_get "$work/$row-ramp.json" 'round(r["steps"][r["knee"]]["valid_rate"])')
    fixed_rate=$(json_get "$work/$row-ramp.json" 'round(r["steps"][r["knee"]]["offered_rate"])')
  fi
  load "$row-fixed" "$mode" "--rate $fixed_rate --steps 1 --duration $fixed_dur" "$extra"
  local f=$work/$row-fixed.json m0=$work/$row-fixed.m0 m1=$work/$row-fixed.m1
  local share=""
  [ -n "$gen_interleaved" ] && share=" $(json_get "$f" 'round(r["steps"][0]["interleaved"]["share_pct"], 2)') |"
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |%s %s |\n' "$row" "$knee_valid" "$fixed_rate" \
    "$(json_get "$f" 'r["steps"][0]["sent"] + r["steps"][0]["send_errors"] - r["steps"][0]["valid"]')" \
    "$(json_get "$f" 'round(100 * (1 - r["steps"][0]["valid"] / max(1, r["steps"][0]["sent"] + r["steps"][0]["send_errors"])), 3)')" \
    "$(proc_quantile "$m0" "$m1" 0.5)" "$(proc_quantile "$m0" "$m1" 0.99)" \
    "$(metric_delta "$m0" "$m1" 'ntsd_worker_stalls_total{worker="0",over="0.001"}') / $(awk -v s="$(metric_delta "$m0" "$m1" 'ntsd_worker_stalled_seconds_total{worker="0"}')" 'BEGIN { printf "%.1f", s * 1000 }')" \
    "$share" "$(capacity "$m0" "$m1")"
}

# Columns: the knee of the ramp; then the fixed-rate run at that offered
# rate: requests not answered validly (refused by the ring, lost, invalid),
# T3 - T2, and how often ntsd's worker lost its core meanwhile (poll-loop
# iterations over 1 ms / the time of all those over 0.25 ms): its RX ring
# (2^rsize descriptors) is its only buffer while that lasts.
if [ -n "$gen_interleaved" ]; then
  echo "| mode | valid/s at the knee (<0.1 % not valid) | fixed run at (offered/s) | not valid | not valid (%) | T3-T2 p50 (us) | T3-T2 p99 (us) | worker stalls > 1 ms / stalled (ms) | interleaved (%) | worker capacity (rx/s busy) |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
else
  echo "| mode | valid/s at the knee (<0.1 % not valid) | fixed run at (offered/s) | not valid | not valid (%) | T3-T2 p50 (us) | T3-T2 p99 (us) | worker stalls > 1 ms / stalled (ms) | worker capacity (rx/s busy) |"
  echo "|---|---|---|---|---|---|---|---|---|"
fi
for m in $modes; do
  case $m in
    ntp) run ntp 1000000 1.15 12 "" ;;
    # NTS_RAMP="START FACTOR STEPS" (env) for a finer ramp, e.g. "1000000 1.06 10".
    # shellcheck disable=SC2086
    nts) run nts ${NTS_RAMP:-500000 1.25 10} "--ke 127.0.0.1:$ke_port --ca $work/cert.pem --sessions 256" ;;
    # shellcheck disable=SC2086
    nts30) run nts30 ${NTS_RAMP:-500000 1.25 10} "--ke 127.0.0.1:$ke_port --ca $work/cert.pem --sessions 256 --aead 30,15" ;;
    *) echo "unknown mode $m" >&2; exit 2 ;;
  esac
done
