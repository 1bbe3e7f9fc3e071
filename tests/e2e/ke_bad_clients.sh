#!/usr/bin/env bash
# e2e-timeout: 120
# ntsd-ke refuses what RFC 8915 §4 forbids and survives hostile clients
# (issue 4), across a veth between two namespaces:
#  - a TLS 1.2-only client (openssl s_client -tls1_2): handshake refused;
#  - a client without ALPN: no response, connection closed; the same bytes
#    with ALPN ntske/1 get a response (control);
#  - a malformed request (no Next Protocol): Error record, code 1;
#  - slowloris: 40 connections that send nothing plus one that trickles a
#    ClientHello are cut off after handshake_timeout_ms, while a good client
#    is served at once;
#  - max_connections: connections past the bound are closed at accept;
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

# Slowloris: idle connections and one trickling a ClientHello, 1 byte/200 ms.
slow=()
for i in $(seq 40); do
  in_c bash -c "exec 3<>/dev/tcp/$S4/4460; sleep 8" >/dev/null 2>&1 &
  slow+=($!)
done
in_c bash -c "exec 3<>/dev/tcp/$S4/4460; for b in 16 03 01 02 00 01 00 01 fc 03 03 00 00 00 00; do printf \"\\x\$b\" >&3 || exit; sleep 0.2; done" >/dev/null 2>&1 &
slow+=($!)
sleep 0.5
held=$(in_s ss -Htn state established "( sport = :4460 )" | wc -l)
[ "$held" -ge 40 ] || e2e_fail "only $held slow connections established"
t0=$(date +%s%N)
out=$(in_c "$(e2e_bin ntsd-query)" ntsd.test --ca "$PKI_CA" --ke-only --timeout 3000) || e2e_fail "good client failed during slowloris: $out"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
# Well under handshake_timeout_ms (1500): it did not wait for a slow one.
[ "$ms" -lt 1200 ] || e2e_fail "good client took $ms ms during slowloris"
e2e_log "good client served in $ms ms with $held slow connections open"
wait_for "[ \$(in_s ss -Htn state established '( sport = :4460 )' | wc -l) -eq 0 ]" 4 ||
  e2e_fail "slow connections not cut off: $(in_s ss -Htn state established '( sport = :4460 )' | wc -l) left"
e2e_log "all slow connections cut off after handshake_timeout_ms"

# Connection bound: 70 idle connections against max_connections = 60.
for i in $(seq 70); do
  in_c bash -c "exec 3<>/dev/tcp/$S4/4460; sleep 1.2" >/dev/null 2>&1 &
  slow+=($!)
done
sleep 0.6
held=$(in_s ss -Htn state established "( sport = :4460 )" | wc -l)
[ "$held" -le 60 ] || e2e_fail "$held connections held, bound is 60"
e2e_log "$held connections held with 70 attempts (bound 60)"
for pid in "${slow[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
# The server frees a slot only when its event loop sees the close: wait for
# that, or the next connection can still find the bound full.
wait_for "[ \$(in_s ss -Htn state established state close-wait '( sport = :4460 )' | wc -l) -eq 0 ]" 5 ||
  e2e_fail "held connections were not released after their clients closed"

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
e2e_alive "$ke_pid" || e2e_fail "ntsd-ke died"
e2e_stop "$ke_pid"
grep -q "stopping:" "$E2E_DIR/ntsd-ke.log" || e2e_fail "ntsd-ke did not stop cleanly"
e2e_log "$(grep 'stopping:' "$E2E_DIR/ntsd-ke.log")"
e2e_pass "TLS 1.2, no ALPN, malformed request, slowloris and connection bound handled"
