#!/usr/bin/env bash
# e2e-timeout: 120
# ntsd-ke refuses what RFC 8915 §4 forbids and survives hostile clients
# (issue 4), across a veth between two namespaces:
#  - a TLS 1.2-only client (openssl s_client -tls1_2): handshake refused;
#  - a client without ALPN: no response, connection closed; the same bytes
#    with ALPN ntske/1 get a response (control);
#  - a malformed request (no Next Protocol): Error record, code 1;
#  - slowloris: 40 connections that send nothing plus one that trickles a
#    ClientHello: the silent ones are cut off at the first-byte deadline
#    (after the kernel's 1 s TCP_DEFER_ACCEPT), the trickler at
#    handshake_timeout_ms, while a good client is served at once;
#  - max_connections: 70 connections that have each sent a byte against a
#    bound of 60 (from 5 addresses, under the per-source bound): exactly 60
#    held and exactly 10 refused, by ntsd-ke's own count;
#  - max_connections_per_source: 40 such connections from 4 IPv6 addresses
#    of one /64 against a bound of 32: exactly 32 held, 8 refused;
#  - IPv6 works, and a new certificate is picked up on SIGHUP and when the
#    files change, without a restart.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init ke_bad_cli
e2e_require_bin ntsd-ke ntsd-query
ns_pair
make_certs "$E2E_DIR/pki" ntsd.test "$S4" "$S6"
cat >"$E2E_DIR/ntsd.toml" <<TOML
[ke]
listen = ["$S4", "$S6"]
cert = "$PKI_CERT"
key = "$PKI_KEY"
threads = 1
handshake_timeout_ms = 1500
max_connections = 60
max_connections_per_source = 32
[keys]
file = "$E2E_DIR/ntskeys"
TOML
e2e_spawn ntsd-ke "$NS_S" "$(e2e_bin ntsd-ke)" --config "$E2E_DIR/ntsd.toml"
ke_pid=$E2E_LAST_PID
wait_for "in_s ss -ltn | grep -q ':4460 '" 10 || e2e_fail "ntsd-ke is not listening"

# Request: Next Protocol [0] (critical), AEAD [15], End of Message (critical).
printf '\x80\x01\x00\x02\x00\x00\x00\x04\x00\x02\x00\x0f\x80\x00\x00\x00' >"$E2E_DIR/req.bin"
# Error 1 expected: AEAD and End of Message only.
printf '\x00\x04\x00\x02\x00\x0f\x80\x00\x00\x00' >"$E2E_DIR/bad.bin"
sclient() { in_c timeout 10 openssl s_client -connect ntsd.test:4460 -servername ntsd.test -CAfile "$PKI_CA" "$@"; }

out=$(sclient -tls1_2 </dev/null 2>&1 || true)
grep -q "alert protocol version" <<<"$out" || e2e_fail "TLS 1.2 client was not refused: $(tail -3 <<<"$out")"
e2e_log "TLS 1.2 refused (protocol_version alert)"

sclient -quiet <"$E2E_DIR/req.bin" >"$E2E_DIR/noalpn.out" 2>/dev/null || true
[ ! -s "$E2E_DIR/noalpn.out" ] || e2e_fail "a client without ALPN got $(stat -c %s "$E2E_DIR/noalpn.out") bytes"
sclient -quiet -alpn ntske/1 <"$E2E_DIR/req.bin" >"$E2E_DIR/alpn.out" 2>/dev/null || true
size=$(stat -c %s "$E2E_DIR/alpn.out")
[ "$size" -gt 800 ] || e2e_fail "control with ALPN ntske/1 got only $size bytes"
e2e_log "no ALPN: closed without data; with ALPN: $size bytes"
sclient -quiet -alpn ntske/1 <"$E2E_DIR/bad.bin" >"$E2E_DIR/bad.out" 2>/dev/null || true
# Error (critical) [1], End of Message (critical).
[ "$(od -An -tx1 "$E2E_DIR/bad.out" | tr -d ' \n')" = "80020002000180000000" ] ||
  e2e_fail "malformed request: got $(od -An -tx1 "$E2E_DIR/bad.out")"
e2e_log "no Next Protocol: Error 1"

# hold COUNT SECONDS HOST TALK ADDR...: COUNT connections to HOST:4460 from
# the client namespace, spread over the source addresses ADDR, each sending
# one byte (the first of a TLS record) if TALK is 1, then nothing, for
# SECONDS. In the background.
hold() {
  local n=$1 secs=$2 host=$3 talk=$4; shift 4
  in_c python3 -c '
import socket, sys, time
n, secs, host, talk, srcs = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4] == "1", sys.argv[5:]
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
held = []
for i in range(n):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.bind((srcs[i % len(srcs)], 0))
    s.connect((host, 4460))
    if talk:
        s.send(b"\x16")
    held.append(s)
time.sleep(secs)
' "$n" "$secs" "$host" "$talk" "$@" &
  slow+=($!)
}
# established: connections on the server side of port 4460 in these states.
server_conns() { in_s ss -Htn state "${1:-established}" "( sport = :4460 )" | wc -l; }
# stat NAME: a number from ntsd-ke's "stopping:" line, e.g. stat "refused (full)".
stat() { grep -o "stopping:.*" "$E2E_DIR/ntsd-ke.log" | grep -o "[0-9]* $1" | awk '{ print $1 }'; }

# Five client addresses, so that the per-source bound (32) is not what
# limits the slowloris and connection-bound phases below.
for i in 11 12 13 14; do in_c ip addr add "192.0.2.$i/24" dev "$IF_C"; done
srcs4=("$C4" 192.0.2.11 192.0.2.12 192.0.2.13 192.0.2.14)

# Slowloris: silent connections and one trickling a ClientHello, 1 byte/200 ms.
slow=()
hold 40 8 "$S4" 0 "${srcs4[@]}"
in_c bash -c "exec 3<>/dev/tcp/$S4/4460; for b in 16 03 01 02 00 01 00 01 fc 03 03 00 00 00 00; do printf \"\\x\$b\" >&3 || exit; sleep 0.2; done" >/dev/null 2>&1 &
slow+=($!)
sleep 0.5
# The client sees them established; the server kernel holds the silent
# ones back from ntsd-ke (TCP_DEFER_ACCEPT) for a second.
open=$(in_c ss -Htn state established "( dport = :4460 )" | wc -l)
[ "$open" -ge 41 ] || e2e_fail "only $open slow connections established"
t0=$(date +%s%N)
out=$(in_c "$(e2e_bin ntsd-query)" ntsd.test --ca "$PKI_CA" --ke-only --timeout 3000) || e2e_fail "good client failed during slowloris: $out"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
# Well under handshake_timeout_ms (1500): it did not wait for a slow one.
[ "$ms" -lt 1200 ] || e2e_fail "good client took $ms ms during slowloris"
e2e_log "good client served in $ms ms with $open slow connections open"
# Silent: ~1 s in the kernel + 300 ms first-byte deadline; the trickler 1.5 s.
wait_for "[ \$(server_conns established) -eq 0 ] && [ \$(server_conns syn-recv) -eq 0 ]" 5 ||
  e2e_fail "slow connections not cut off: $(server_conns established) established, $(server_conns syn-recv) deferred"
e2e_log "all slow connections cut off"
for pid in "${slow[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
slow=()
wait_for "[ \$(server_conns 'established state close-wait') -eq 0 ]" 5 || e2e_fail "slowloris connections linger"

# Connection bound: 70 connections that have sent a byte, against
# max_connections = 60, 14 from each address. None is silent, so none can
# be displaced: exactly 60 are held and 10 refused.
hold 70 2 "$S4" 1 "${srcs4[@]}"
sleep 0.8
held=$(server_conns)
[ "$held" -eq 60 ] || e2e_fail "$held connections held with 70 attempts, bound 60"
e2e_log "$held connections held with 70 attempts (bound 60)"
for pid in "${slow[@]}"; do wait "$pid" 2>/dev/null || true; done
slow=()
# The server frees a slot only when its event loop sees the close: wait for
# that, or the next connection can still find the bound full.
wait_for "[ \$(server_conns 'established state close-wait') -eq 0 ]" 5 ||
  e2e_fail "held connections were not released after their clients closed"

# Per-source bound over an IPv6 /64: 4 addresses of the client's /64, 10
# connections each, count as one source: 32 held, 8 refused.
for i in 3 4 5; do in_c ip addr add "2001:db8::$i/64" dev "$IF_C" nodad; done
hold 40 1.2 "$S6" 1 "$C6" 2001:db8::3 2001:db8::4 2001:db8::5
sleep 0.6
held=$(server_conns)
[ "$held" -eq 32 ] || e2e_fail "$held connections held from one /64, bound 32 per source"
e2e_log "$held connections held from 4 addresses of one /64 (bound 32 per source)"
for pid in "${slow[@]}"; do wait "$pid" 2>/dev/null || true; done
slow=()
wait_for "[ \$(server_conns 'established state close-wait') -eq 0 ]" 5 ||
  e2e_fail "per-source connections were not released"

query() { in_c "$(e2e_bin ntsd-query)" "$@" --ke-only --timeout 3000; }
out=$(query "[$S6]" --ca "$PKI_CA") || e2e_fail "IPv6 NTS-KE failed: $out"
e2e_log "IPv6: $out"
# Certificate reload: a second CA and certificate, copied over the live files.
old_ca=$PKI_CA live_cert=$PKI_CERT live_key=$PKI_KEY
make_certs "$E2E_DIR/pki2" ntsd.test "$S4" "$S6"
cp "$PKI_CERT" "$live_cert.new" && cp "$PKI_KEY" "$live_key.new"
mv "$live_key.new" "$live_key" && mv "$live_cert.new" "$live_cert"
kill -HUP "$ke_pid"
wait_for "grep -q 'certificate reloaded' $E2E_DIR/ntsd-ke.log" 5 || e2e_fail "no reload after SIGHUP"
out=$(query ntsd.test --ca "$PKI_CA") || e2e_fail "new certificate not served: $out"
out=$(query ntsd.test --ca "$old_ca") && e2e_fail "old certificate still served"
grep -q "certificate" <<<"$out" || e2e_fail "old CA: unexpected error: $out"
e2e_log "after SIGHUP: new certificate served, old CA gets: $out"
n0=$(grep -c 'certificate reloaded' "$E2E_DIR/ntsd-ke.log")
sleep 1.1; touch "$live_cert"
wait_for "[ \$(grep -c 'certificate reloaded' $E2E_DIR/ntsd-ke.log) -gt $n0 ]" 5 || e2e_fail "no reload after the file changed"
e2e_log "file change picked up without a signal"
# The operator's explicit rotation (issue 20, item 1): SIGUSR1 rotates the
# master keys once, whatever the schedule: the future key becomes current.
current() { awk '$4 == "current" { print $1 }' "$E2E_DIR/ntskeys"; }
future() { awk '$4 == "future" { print $1 }' "$E2E_DIR/ntskeys"; }
fut=$(future)
kill -USR1 "$ke_pid"
wait_for "[ \"\$(current)\" = $fut ]" 5 || e2e_fail "SIGUSR1 did not rotate the keys (current $(current), expected $fut)"
grep -q 'rotated master keys (SIGUSR1)' "$E2E_DIR/ntsd-ke.log" || e2e_fail "no log line for the SIGUSR1 rotation"
e2e_log "SIGUSR1: current key $(current)"
e2e_alive "$ke_pid" || e2e_fail "ntsd-ke died"
e2e_stop "$ke_pid"
grep -q "stopping:" "$E2E_DIR/ntsd-ke.log" || e2e_fail "ntsd-ke did not stop cleanly"
e2e_log "$(grep 'stopping:' "$E2E_DIR/ntsd-ke.log")"
# ntsd-ke's own counts agree: the bound refused exactly the 10 over it, the
# per-source bound exactly the 8 over it; the 40 silent ones were closed
# for silence and the trickler at the handshake deadline.
[ "$(stat 'refused (full)')" = 10 ] || e2e_fail "ntsd-ke refused $(stat 'refused (full)') at the bound, expected 10"
[ "$(stat 'refused (per source)')" = 8 ] || e2e_fail "ntsd-ke refused $(stat 'refused (per source)') per source, expected 8"
[ "$(stat 'silent closed')" = 40 ] || e2e_fail "$(stat 'silent closed') silent connections closed, expected 40"
[ "$(stat 'timed out')" -ge 1 ] || e2e_fail "the trickler was not timed out"
# --rotate-now: a start that rotates once at once (the schedule is not due).
fut=$(future)
e2e_spawn ntsd-ke-again "$NS_S" "$(e2e_bin ntsd-ke)" --config "$E2E_DIR/ntsd.toml" --rotate-now
wait_for "grep -q 'rotated once (--rotate-now)' $E2E_DIR/ntsd-ke-again.log" 10 || e2e_fail "no --rotate-now rotation"
[ "$(current)" = "$fut" ] || e2e_fail "--rotate-now: current key $(current), expected $fut"
e2e_stop "$E2E_LAST_PID"
e2e_pass "TLS 1.2, no ALPN, malformed request, slowloris, connection and per-source bounds handled; SIGUSR1 and --rotate-now rotate"
