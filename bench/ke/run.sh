#!/usr/bin/env bash
# NTS-KE handshakes/s: ntsd-ke against chrony 4.3's NTS-KE server, same
# machine, same load client (ke_load, the ntsd client library), ECDSA P-256
# certificate, over loopback. Bounded: SECONDS per server (default 10).
#
#   bench/ke/run.sh [BUILD_DIR] [SECONDS] [CLIENT_THREADS]
#
# On a small machine the load client (ECDSA verify, X25519, chain checks)
# costs more CPU per handshake than either server, so the raw rate is bound by
# the client. The comparable figure is therefore the server's capacity:
# handshakes per CPU-second the server process(es) used (from
# /proc/PID/stat utime+stime, chrony's NTS-KE helper processes included).
#
# Results go to stdout (one line per server); docs/benchmarks.md "## NTS-KE"
# records a run.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
secs=${2:-10}
cthreads=${3:-4}
load=$build/bin/ke_load
ke=$build/bin/ntsd-ke
chronyd=$src/build/peers/chrony/usr/sbin/chronyd
for b in "$load" "$ke" "$chronyd"; do [ -x "$b" ] || { echo "missing $b" >&2; exit 1; }; done
dir=$(mktemp -d /tmp/ntsd-bench-ke.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT

(cd "$dir"
  openssl ecparam -name prime256v1 -genkey -noout -out ca.key
  openssl req -x509 -new -key ca.key -sha256 -days 2 -subj "/CN=bench CA" -out ca.pem
  openssl ecparam -name prime256v1 -genkey -noout -out server.key
  openssl req -new -key server.key -subj /CN=localhost -out server.csr
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext -out server.crt
  cat server.crt ca.pem >server.pem) >/dev/null 2>&1

wait_port() { for _ in $(seq 50); do ss -ltn | grep -q ":$1 " && return 0; sleep 0.1; done; return 1; }
# CPU ticks (user + system) of a process and its direct children.
cpu_ticks() {
  local t=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    [ -r "/proc/$p/stat" ] || continue
    t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
  done
  echo "$t"
}
# run_load PORT PID: the load line plus the server's handshakes per CPU-second.
run_load() {
  local before after out n hz
  hz=$(getconf CLK_TCK)
  before=$(cpu_ticks "$2")
  out=$("$load" "127.0.0.1:$1" --ca "$dir/ca.pem" --threads "$cthreads" --seconds "$secs")
  after=$(cpu_ticks "$2")
  n=$(awk '{ print $2 }' <<<"$out")
  awk -v n="$n" -v t=$((after - before)) -v hz="$hz" -v o="$out" \
    'BEGIN { cpu = t / hz; printf "%s, server CPU %.2f s, %.0f handshakes per server CPU-second\n", o, cpu, (cpu > 0 ? n / cpu : 0) }'
}

ke_run() {
  local threads=$1
  "$ke" --cert "$dir/server.pem" --key "$dir/server.key" --listen 127.0.0.1 --port 24460 \
    --keys-file "$dir/ntskeys" --threads "$threads" 2>"$dir/ke.log" &
  pids+=($!)
  wait_port 24460
  echo "ntsd-ke (threads $threads): $(run_load 24460 "${pids[-1]}")"
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
  sleep 0.5
}
# One thread against chrony's one helper process: the same CPU is left to
# the client. Then one thread per core against two helpers.
ke_run 1
chrony_run() {
  local procs=$1 d=$dir/chrony-$1
  mkdir -p "$d"
  cat >"$d/chrony.conf" <<CONF
ntsserverkey $dir/server.key
ntsservercert $dir/server.pem
ntsport 24461
ntsprocesses $procs
port 0
cmdport 0
local stratum 1
allow all
ntsdumpdir $d
pidfile $d/pid
CONF
  "$chronyd" -f "$d/chrony.conf" -x -d -u root >"$d/log" 2>&1 &
  pids+=($!)
  wait_port 24461
  sleep 0.3  # the helper processes start after the listener
  echo "chrony 4.3 (ntsprocesses $procs): $(run_load 24461 "${pids[-1]}")"
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
  sleep 0.5
}
chrony_run 1
ke_run "$(nproc)"
chrony_run 2
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), client threads $cthreads, $secs s each"
