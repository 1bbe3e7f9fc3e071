#!/usr/bin/env bash
# NTS-KE handshakes/s through ntsd-pool against directly to ntsd-ke, same
# machine, same client load (ke_load = `ntsgen ke-load`), over loopback. The
# pool terminates each user's TLS 1.3 handshake itself and adds one Fixed Key
# Request exchange on a kept-alive connection to ntsd-ke (docs/pool.md).
# Target (issue 12): through the pool >= 0.7x direct.
#
#   bench/ke/pool.sh [BUILD_DIR] [SECONDS] [CLIENT_THREADS] [PAIRS]
#
# Runs PAIRS (default 3) alternating direct/pool runs of SECONDS (10) each and
# prints every run, the medians, their ratio, and the CPU the server side used
# per handshake (ntsd-ke, plus ntsd-pool on the pool runs, /proc/PID/stat).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
secs=${2:-10}
cthreads=${3:-4}
pairs=${4:-3}
load=$build/bin/ke_load ke=$build/bin/ntsd-ke pool=$build/bin/ntsd-pool
for b in "$load" "$ke" "$pool"; do [ -x "$b" ] || { echo "missing $b" >&2; exit 1; }; done
dir=$(mktemp -d /tmp/ntsd-bench-pool.XXXXXX)
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
  cat server.crt ca.pem >server.pem
  (umask 077; echo bench-pool-token >tokens; echo bench-pool-token >pool.token)) >/dev/null 2>&1

cat >"$dir/ke.toml" <<TOML
[ke]
listen = ["127.0.0.1"]
port = 24460
cert = "$dir/server.pem"
key = "$dir/server.key"
threads = 1
pool_tokens_file = "$dir/tokens"
[keys]
file = "$dir/ntskeys"
[metrics]
ke_listen = ""
TOML
cat >"$dir/pool.toml" <<TOML
[ke]
listen = ["127.0.0.1"]
port = 24470
cert = "$dir/server.pem"
key = "$dir/server.key"
threads = 1
[pool]
ca_file = "$dir/ca.pem"
workers = 4
[metrics]
pool_listen = ""
[[backend]]
name = "localhost"
address = "127.0.0.1"
port = 24460
token_file = "$dir/pool.token"
TOML
wait_port() { for _ in $(seq 50); do ss -ltn | grep -q ":$1 " && return 0; sleep 0.1; done; return 1; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
"$ke" --config "$dir/ke.toml" 2>"$dir/ke.log" &
ke_pid=$!; pids+=($ke_pid)
wait_port 24460
"$pool" --config "$dir/pool.toml" 2>"$dir/pool.log" &
pool_pid=$!; pids+=($pool_pid)
wait_port 24470
for _ in $(seq 50); do grep -q "backend localhost up" "$dir/pool.log" && break; sleep 0.1; done

hz=$(getconf CLK_TCK)
# run NAME PORT: one ke_load run; prints "NAME rate server_cpu_us_per_handshake"
run() {
  local k0 p0 k1 p1 out n rate cpu
  k0=$(cpu_ticks "$ke_pid"); p0=$(cpu_ticks "$pool_pid")
  out=$("$load" "127.0.0.1:$2" --ca "$dir/ca.pem" --threads "$cthreads" --seconds "$secs")
  k1=$(cpu_ticks "$ke_pid"); p1=$(cpu_ticks "$pool_pid")
  n=$(awk 'NR == 1 { print $2 }' <<<"$out")
  rate=$(awk 'NR == 1 { sub("/s", "", $8); print $8 }' <<<"$out")
  cpu=$(awk -v t=$((k1 - k0 + p1 - p0)) -v hz="$hz" -v n="$n" 'BEGIN { printf "%.1f", n ? 1e6 * t / hz / n : 0 }')
  echo "$1: $out, server CPU $cpu us per handshake" >&2
  echo "$1 $rate $cpu"
}
results=()
for _ in $(seq "$pairs"); do
  results+=("$(run direct 24460)")
  results+=("$(run pool 24470)")
done
printf '%s\n' "${results[@]}" | awk '
  { r[$1] = r[$1] " " $2; c[$1] = c[$1] " " $3 }
  function median(s,   a, n, i, j, t) { n = split(s, a, " ");
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  END {
    d = median(r["direct"]); p = median(r["pool"])
    printf "direct to ntsd-ke: handshakes/s%s, median %.0f; server CPU per handshake (us)%s\n", r["direct"], d, c["direct"]
    printf "through ntsd-pool: handshakes/s%s, median %.0f; server CPU per handshake (us)%s\n", r["pool"], p, c["pool"]
    printf "ratio pool/direct (medians): %.2f\n", p / d }'
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), client threads $cthreads, $secs s per run, $pairs pairs"
