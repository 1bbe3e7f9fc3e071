#!/usr/bin/env bash
# Responder benchmark: ntsd (DPDK backend, one worker lcore on core 1) against
# ntsgen (DPDK, core 0) over net_memif, no NIC and no hugepages needed.
#
#   bench/ntsd_memif.sh [--build DIR] [--quick] [--burst N] [--modes "ntp nts"]
#
# --burst sets ntsd's [dataplane] burst (default 32): smaller bursts trade
# multi-buffer throughput for a shorter T3 - T2, since every request of a
# burst shares the T2 read after rx_burst.
#
# Measures, for plain NTP and NTS (AEAD 15, one cookie per request):
#   - the knee of an open-loop ramp: the highest step with < 0.1 % of requests
#     unanswered or invalid (ntsgen verifies every response, docs/ntsgen.md);
#   - the server's processing time T3 - T2 (ntsd's ntsd_processing_seconds
#     histogram, T2 read right after rx_burst) p50/p99 over that run
#     (bucket upper bounds: 0.1 us up to 10 us, 1 us up to 100 us).
# Prints a Markdown table row per mode. Needs root (DPDK memif sockets).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${NTSD_BUILD:-$ROOT/build}
quick=0
burst=32
modes="ntp nts"
while [ $# -gt 0 ]; do
  case $1 in
    --build) BUILD=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --burst) burst=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--quick] [--burst N] [--modes \"ntp nts\"]" >&2; exit 2 ;;
  esac
done
BIN=$BUILD/bin
for b in ntsd ntsd-ke ntsgen; do [ -x "$BIN/$b" ] || { echo "missing $BIN/$b" >&2; exit 1; }; done

work=$(mktemp -d /tmp/ntsd-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Throwaway certificate for NTS-KE on loopback.
(cd "$work" &&
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout key.pem -out cert.pem 2>/dev/null)
ke_port=$((20000 + $$ % 20000))
metrics_port=$((ke_port + 1))
cat >"$work/ntsd.toml" <<EOT
[ke]
listen = ["127.0.0.1"]
port = $ke_port
cert = "$work/cert.pem"
key = "$work/key.pem"
threads = 1

[keys]
file = "$work/ntskeys"

[dataplane]
backend = "dpdk"
workers = 1
burst = $burst
eal_args = ["-l", "0-1", "--main-lcore", "0", "--no-huge", "-m", "256", "--no-shconf", "--no-pci", "--no-telemetry", "--file-prefix=ntsdb$$"]
ports = ["net_memif0,role=server,socket=$work/memif.sock,rsize=12"]
addresses = ["198.18.0.2"]

[metrics]
listen = "127.0.0.1:$metrics_port"
EOT
"$BIN/ntsd-ke" --config "$work/ntsd.toml" >"$work/ke.log" 2>&1 &
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

run() {
  local mode=$1 rate=$2 extra=$3
  local steps=10 dur=2
  [ $quick = 1 ] && steps=4 dur=1
  start_ntsd "$mode"
  curl -sf "http://127.0.0.1:$metrics_port/metrics" >"$work/m0"
  # shellcheck disable=SC2086
  "$BIN/ntsgen" --transport dpdk --mode "$mode" $extra \
    --eal "-l 0 --no-huge -m 256 --no-shconf --no-pci --no-telemetry --file-prefix=gen$$ --vdev=net_memif0,role=client,socket=$work/memif.sock,rsize=12" \
    --src-ip 198.18.0.1 --dst-ip 198.18.0.2 --clients 1024 --rate "$rate" --ramp 1.25 --steps $steps \
    --duration $dur --threshold 0.1 --quiet --linger 30 >"$work/$mode.out" 2>"$work/$mode.err" &
  local gen=$!
  for _ in $(seq 1200); do grep -qs lingering "$work/$mode.err" && break; kill -0 $gen 2>/dev/null || break; sleep 0.1; done
  curl -sf "http://127.0.0.1:$metrics_port/metrics" >"$work/m1"
  kill -TERM "$ntsd_pid"; wait "$ntsd_pid" || echo "ntsd exited with status $? after $mode" >&2
  kill -TERM "$gen" 2>/dev/null || true; wait "$gen" || true
  local knee
  knee=$(grep '^knee' "$work/$mode.out" || echo "knee: none")
  echo "$mode: $knee" >&2
  cat "$work/$mode.out" >&2
  printf '| %s | %s | %s | %s |\n' "$mode" "$(sed -E 's/.*step [0-9]+, ([0-9.]+) valid responses.*/\1/' <<<"$knee")" \
    "$(proc_quantile "$work/m0" "$work/m1" 0.5)" "$(proc_quantile "$work/m0" "$work/m1" 0.99)"
}

echo "| mode | valid responses/s at the knee (<0.1 % loss) | T3-T2 p50 (us) | T3-T2 p99 (us) |"
echo "|---|---|---|---|"
for m in $modes; do
  case $m in
    ntp) run ntp 1000000 "" ;;
    nts) run nts 500000 "--ke 127.0.0.1:$ke_port --ca $work/cert.pem --sessions 256" ;;
    *) echo "unknown mode $m" >&2; exit 2 ;;
  esac
done
