#!/usr/bin/env bash
# e2e-timeout: 150
# The NTS pool (issue 12, docs/pool.md) in network namespaces: ntsd-pool in
# front of two ntsd stacks, each ntsd-ke (time source role, its own pool
# token file) + ntsd (socket backend) with its own master keys and address.
#  - ntsgen query through the pool: NTS-KE with the pool, NTS with the
#    chosen stack's ntsd (both stacks get users); --deny a.test gets b.test;
#  - chrony 4.3 and ntpsec 1.2 use pool.test as an ordinary NTS server and
#    synchronise with authenticated NTS to one stack's ntsd;
#  - AEAD 30 through the pool: ntsgen query --aead 30 (record 1024 echoed,
#    keys from exporter id 30) and Debian 13's chrony 4.6.1 (AEAD 30, no NAK:
#    the pool exports the user's keys in the context the user asked for);
#  - hostile inputs against ntsd-ke's pool role (wrong token, bad key length,
#    two AEADs, unknown critical, support mixed with Next Protocol) and
#    against ntsd-pool (Fixed Key / support requests from a user, unknown
#    critical, no Next Protocol, no AEAD or protocol in common, oversized,
#    TLS 1.2), each with its defined answer;
#  - stopping A's ntsd-ke: every new user gets B and none gets an error;
#    every stack down: Error 2;
#  - A restarted with a token file that lacks the pool's token: A refuses
#    the pool, and the pool's log and metrics say so;
#  - ntsd-ke's Keep Alive: 6 connections (the cap) kept, the 7th answered
#    without Keep Alive, all closed after the 3 s idle timeout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init pool
e2e_require_peers
e2e_require_trixie
e2e_require_bin ntsd-ke ntsd ntsd-pool ntsgen
ns_pair
A=192.0.2.11 B=192.0.2.12
in_s ip addr add "$A/24" dev "$IF_S"
in_s ip addr add "$B/24" dev "$IF_S"
ke=$(e2e_bin ntsd-ke) nt=$(e2e_bin ntsd) pool=$(e2e_bin ntsd-pool) gen=$(e2e_bin ntsgen)

# One CA per operator: the pool's (users trust it) and A's and B's (the pool
# trusts those). make_certs points every name at $KE4; a.test/b.test are
# pointed at their own addresses instead.
make_certs "$E2E_DIR/pki-pool" pool.test "$S4"; POOL_CA=$PKI_CA POOL_CERT=$PKI_CERT POOL_KEY=$PKI_KEY
ke4=$KE4; KE4=""
make_certs "$E2E_DIR/pki-a" a.test "$A"; A_CERT=$PKI_CERT A_KEY=$PKI_KEY
make_certs "$E2E_DIR/pki-b" b.test "$B"; B_CERT=$PKI_CERT B_KEY=$PKI_KEY
KE4=$ke4
ns_hosts a.test "$A"
ns_hosts b.test "$B"
# chrony resolves an NTPv4 Server name as a fully qualified one, with a
# trailing dot (nts_ke_client.c): /etc/hosts needs that spelling too.
ns_hosts a.test. "$A"
cat "$E2E_DIR/pki-a/ca.pem" "$E2E_DIR/pki-b/ca.pem" >"$E2E_DIR/sources-ca.pem"

secret() { (umask 077; printf '%s\n' "$2" >"$E2E_DIR/$1"); }
secret a.tokens pool-token-for-a
secret b.tokens pool-token-for-b
secret pool-a.token pool-token-for-a
secret pool-b.token pool-token-for-b
secret a-other.tokens some-other-pool

# stack_config NAME ADDR CERT KEY TOKENS METRICS_PORT [KE_LINE]: A names no
# NTP server (the pool inserts "a.test"), B announces its address (relayed).
stack_config() {
  cat >"$E2E_DIR/$1.toml" <<TOML
[server]
stratum = 1
local_stratum = 1
[ke]
listen = ["$2"]
cert = "$3"
key = "$4"
threads = 1
pool_tokens_file = "$E2E_DIR/$5"
pool_keepalive_connections = 6
pool_idle_timeout_ms = 3000
${7:-}
[keys]
file = "$E2E_DIR/$1.ntskeys"
[dataplane]
backend = "socket"
workers = 1
listen = ["$2:123"]
[metrics]
listen = "127.0.0.1:$6"
ke_listen = "127.0.0.1:1$6"
TOML
}
stack_config a "$A" "$A_CERT" "$A_KEY" a.tokens 9201
stack_config b "$B" "$B_CERT" "$B_KEY" b.tokens 9202 "ntp_server = \"$B\""
start_ke() {  # start_ke NAME ADDR: ntsd-ke of stack NAME; sets KE_PID
  e2e_spawn "ntsd-ke-$1" "$NS_S" "$ke" --config "$E2E_DIR/$1.toml" --verbose
  KE_PID=$E2E_LAST_PID
  wait_for "in_s ss -ltn | grep -q '$2:4460 '" 10 || e2e_fail "ntsd-ke $1 is not listening"
}
for s in a b; do
  addr=$A; [ $s = b ] && addr=$B
  start_ke $s "$addr"; eval "KE_$s=$KE_PID"
  wait_for "[ -s $E2E_DIR/$s.ntskeys ]" 10 || e2e_fail "ntsd-ke $s wrote no keys"
  e2e_spawn "ntsd-$s" "$NS_S" "$nt" --config "$E2E_DIR/$s.toml"
  wait_for "in_s ss -lun | grep -q '$addr:123 '" 10 || e2e_fail "ntsd $s does not listen on $addr:123"
done
cmp -s "$E2E_DIR/a.ntskeys" "$E2E_DIR/b.ntskeys" && e2e_fail "the two stacks share master keys"

cat >"$E2E_DIR/pool.toml" <<TOML
[ke]
listen = ["$S4"]
cert = "$POOL_CERT"
key = "$POOL_KEY"
threads = 1
[pool]
ca_file = "$E2E_DIR/sources-ca.pem"
workers = 4
timeout_ms = 1500
retry_min_ms = 300
retry_max_ms = 1000
[metrics]
pool_listen = "127.0.0.1:9200"
[[backend]]
name = "a.test"
token_file = "$E2E_DIR/pool-a.token"
[[backend]]
name = "b.test"
token_file = "$E2E_DIR/pool-b.token"
TOML
e2e_spawn ntsd-pool "$NS_S" "$pool" --config "$E2E_DIR/pool.toml" --verbose
POOL_PID=$E2E_LAST_PID
pmetric() {  # pmetric REGEX: the sum of matching samples of ntsd-pool
  in_s curl -s --max-time 2 http://127.0.0.1:9200/metrics | awk -v re="$1" '$1 ~ re { s += $NF } END { print s + 0 }'
}
wait_for '[ "$(pmetric "^ntsd_pool_backend_up")" = 2 ]' 10 || e2e_fail "the pool did not see both stacks up"
e2e_log "ntsd-pool up with a.test and b.test"

query() {  # query LOG [ARGS]: ntsgen query through the pool from the client namespace
  local log=$E2E_DIR/$1; shift
  in_c timeout 20 "$gen" query pool.test --ca "$POOL_CA" "$@" >"$log" 2>&1 || true
}
# 1. Ordinary NTS-KE with the pool, then NTS with the stack it named.
seen_a=0 seen_b=0
for i in $(seq 16); do
  query "q$i.log"
  grep -q '^NTS-KE: ok, AEAD 15, 8 cookies' "$E2E_DIR/q$i.log" && grep -q '^NTP: ok' "$E2E_DIR/q$i.log" ||
    e2e_fail "query $i through the pool: $(cat "$E2E_DIR/q$i.log")"
  grep -q 'NTP server a.test port 123' "$E2E_DIR/q$i.log" && seen_a=$((seen_a + 1))
  grep -q "NTP server $B port 123" "$E2E_DIR/q$i.log" && seen_b=$((seen_b + 1))
done
[ "$seen_a" -gt 0 ] && [ "$seen_b" -gt 0 ] || e2e_fail "16 users all went to one stack (a $seen_a, b $seen_b)"
e2e_log "16 users: $seen_a to a.test (Server record inserted by the pool), $seen_b to b.test (its own Server record, $B), all with authenticated NTS from that stack's ntsd"
# 2. --deny a.test gets b.test.
for i in $(seq 6); do
  query "deny$i.log" --deny a.test
  grep -q "NTP server $B port 123" "$E2E_DIR/deny$i.log" && grep -q '^NTP: ok' "$E2E_DIR/deny$i.log" ||
    e2e_fail "--deny a.test: $(cat "$E2E_DIR/deny$i.log")"
done
e2e_log "--deny a.test: 6 of 6 got b.test"
# AEAD 30 with the compliant exporter context (record 1024) through the pool.
query q30.log --aead 30
grep -q '^NTS-KE: ok, AEAD 30' "$E2E_DIR/q30.log" && grep -q 'compliant exporter context' "$E2E_DIR/q30.log" &&
  grep -q '^NTP: ok' "$E2E_DIR/q30.log" || e2e_fail "--aead 30 through the pool: $(cat "$E2E_DIR/q30.log")"
e2e_log "--aead 30: record 1024 echoed by the pool, authenticated NTS from the stack"

# 3. chrony 4.3 and ntpsec 1.2 with pool.test as an ordinary NTS server.
chrony_nts_client "$NS_C" pool.test "$POOL_CA"; cli=$E2E_INST
ntpsec_nts_client "$NS_C" pool.test "$POOL_CA"; nsec=$E2E_INST
CHRONY=4.6 chrony_nts_client "$NS_C" pool.test "$POOL_CA"; c46=$E2E_INST
wait_for "chrony_authdata_ok $cli 1 && chrony_got_samples $cli 4" 30 ||
  e2e_fail "chrony did not get authenticated NTS samples: $(chronyc_in "$cli" -N authdata | tail -1)"
remote=$(chronyc_in "$cli" ntpdata | awk '/^Remote address/ { print $4 }')
[ "$remote" = "$A" ] || [ "$remote" = "$B" ] || e2e_fail "chrony talks NTP to $remote, not to a stack"
wait_for "chrony_selected $cli" 20 || e2e_fail "chrony did not select its pool source"
chronyc_in "$cli" -N authdata | awk '$2 == "NTS" && $8 != 0 { exit 1 }' || e2e_fail "chrony saw NTS NAKs"
e2e_log "chrony: NTS-KE with pool.test, synchronised to $remote with authenticated NTS ($(chronyc_in "$cli" ntpdata | grep 'Total valid RX'))"
wait_for "chrony_authdata_ok $c46 1 30 && chrony_got_samples $c46 4" 30 ||
  e2e_fail "chrony 4.6.1 did not get authenticated AEAD-30 samples: $(chronyc_in "$c46" -N authdata | tail -1)"
chronyc_in "$c46" -N authdata | awk '$2 == "NTS" && $8 != 0 { exit 1 }' ||
  e2e_fail "chrony 4.6.1 saw NTS NAKs (keys exported in the wrong context?): $(chronyc_in "$c46" -N authdata | tail -1)"
e2e_log "chrony 4.6.1: AEAD-30 NTS-KE with pool.test, no NAK ($(chronyc_in "$c46" ntpdata | grep 'Total valid RX' | tr -s ' '))"
wait_for "ntpsec_ntske_ok $nsec && ntpsec_peer_ok $nsec 2" 40 ||
  e2e_fail "ntpsec did not sync over NTS: $(grep -i nts "$nsec/ntpd.log" | tail -3)"
e2e_log "ntpsec: $(grep -o 'NTSc: Got [0-9]* cookies.*' "$nsec/ntpd.log" | head -1); $(wc -l <"$nsec/peerstats") authenticated updates"
nts_ok=0
for p in 9201 9202; do
  n=$(in_s curl -s --max-time 2 "http://127.0.0.1:$p/metrics" | awk '$1 ~ /reason="ok_nts"/ { s += $NF } END { print s + 0 }')
  nts_ok=$((nts_ok + n))
done
[ "$nts_ok" -gt 20 ] || e2e_fail "the stacks' ntsd answered only $nts_ok NTS requests"
e2e_log "the two ntsd answered $nts_ok authenticated NTS requests"

# 4. Hostile inputs. sc HOST ADDR FILE: raw NTS-KE bytes over TLS 1.3 + ALPN.
sc() {
  in_c timeout 5 openssl s_client -quiet -connect "$2:4460" -servername "$1" -CAfile "$3" -alpn ntske/1 \
    <"$E2E_DIR/$4" 2>"$E2E_DIR/sc-${4%.bin}.log" | od -An -tx1 | tr -d ' \n' || true
}
hexfile() { printf '%s' "$2" | xxd -r -p >"$E2E_DIR/$1"; }
tok=$(printf pool-token-for-a | xxd -p)   # 16 bytes
auth="000e0010$tok"
k32=$(printf '%064x' 0)$(printf '%064x' 1)  # 2 x 32 bytes
expect() {  # expect WHAT GOT WANT
  [ "$2" = "$3" ] || e2e_fail "$1: got ${2:-nothing}, want $3"
  e2e_log "$1: $3"
}
ACA=$E2E_DIR/pki-a/ca.pem
hexfile wrongtok.bin "000e0005776f726e67800a0000800900008000""0000"
expect "ntsd-ke, support query with a wrong token" "$(sc a.test "$A" "$ACA" wrongtok.bin)" 80020002000180000000
hexfile badlen.bin "$auth""800c0010$(printf '%032x' 5)80010002000080040002000f80000000"
expect "ntsd-ke, Fixed Key with a 2x8-byte key for AEAD 15" "$(sc a.test "$A" "$ACA" badlen.bin)" 80020002000180000000
hexfile twoaead.bin "$auth""800c0040${k32}80010002000080040004000f001180000000"
expect "ntsd-ke, Fixed Key with two AEADs" "$(sc a.test "$A" "$ACA" twoaead.bin)" 80020002000180000000
hexfile crit.bin "$auth""800a0000812300008000""0000"
expect "ntsd-ke, support query with an unknown critical record" "$(sc a.test "$A" "$ACA" crit.bin)" 80020002000080000000
hexfile mixed.bin "$auth""800a000080010002000080000000"
expect "ntsd-ke, support query mixed with Next Protocol" "$(sc a.test "$A" "$ACA" mixed.bin)" 80020002000180000000
hexfile support.bin "$auth""800a00008009000080000000"
expect "ntsd-ke, support query with the token" "$(sc a.test "$A" "$ACA" support.bin)" 800a000c001e0010000f002000110040800900020000""80000000
hexfile userfk.bin "$auth""800c0040${k32}80010002000080040002000f80000000"
expect "ntsd-pool, Fixed Key Request from a user" "$(sc pool.test "$S4" "$POOL_CA" userfk.bin)" 80020002000180000000
expect "ntsd-pool, support query from a user" "$(sc pool.test "$S4" "$POOL_CA" support.bin)" 80020002000180000000
hexfile ucrit.bin "80010002000080040002000f81230000""80000000"
expect "ntsd-pool, unknown critical record" "$(sc pool.test "$S4" "$POOL_CA" ucrit.bin)" 80020002000080000000
hexfile unp.bin "80040002000f80000000"
expect "ntsd-pool, no Next Protocol" "$(sc pool.test "$S4" "$POOL_CA" unp.bin)" 80020002000180000000
hexfile uaead.bin "800100020000800400020010""80000000"
expect "ntsd-pool, only AEAD 16 (no source has it)" "$(sc pool.test "$S4" "$POOL_CA" uaead.bin)" 8001000200008004000080000000
hexfile uproto.bin "80010002000580040002000f80000000"
expect "ntsd-pool, only next protocol 5" "$(sc pool.test "$S4" "$POOL_CA" uproto.bin)" 8001000080000000
head -c 1100 /dev/zero >"$E2E_DIR/big.bin"
expect "ntsd-pool, 1100 zero bytes (over max_request_bytes)" "$(sc pool.test "$S4" "$POOL_CA" big.bin)" 80020002000180000000
out=$(in_c timeout 5 openssl s_client -connect "$S4:4460" -servername pool.test -CAfile "$POOL_CA" -tls1_2 </dev/null 2>&1 || true)
grep -q "alert protocol version" <<<"$out" || e2e_fail "ntsd-pool accepted TLS 1.2"
e2e_log "ntsd-pool refuses TLS 1.2 (shared KE server)"
query after-hostile.log
grep -q '^NTP: ok' "$E2E_DIR/after-hostile.log" || e2e_fail "the pool stopped serving after hostile inputs"

# 5. A's ntsd-ke stops: every new user gets b.test, none an error.
before_fail=$(pmetric 'outcome="(backend_failed|no_backend)"')
e2e_stop "$KE_a"
for i in $(seq 12); do
  query "down$i.log" --ke-only
  grep -q "NTS-KE: ok, AEAD 15, 8 cookies.*NTP server $B" "$E2E_DIR/down$i.log" ||
    e2e_fail "user $i after A's ntsd-ke stopped: $(cat "$E2E_DIR/down$i.log")"
done
[ "$(pmetric 'outcome="(backend_failed|no_backend)"')" = "$before_fail" ] || e2e_fail "some users got errors"
grep -q "backend a.test down" "$E2E_DIR/ntsd-pool.log" || e2e_fail "the pool did not log a.test down"
e2e_log "A's ntsd-ke stopped: 12 of 12 new users got b.test without an error"
e2e_stop "$KE_b"
query alldown.log --ke-only
grep -q 'server sent Error 2' "$E2E_DIR/alldown.log" || e2e_fail "every stack down: $(cat "$E2E_DIR/alldown.log")"
e2e_log "every stack down: Error 2"

# 6. A comes back with a token file without the pool's token.
sed -i "s|$E2E_DIR/a.tokens|$E2E_DIR/a-other.tokens|" "$E2E_DIR/a.toml"
start_ke a "$A"
wait_for 'grep -q "backend a.test still down (refused)" "$E2E_DIR/ntsd-pool.log"' 10 ||
  e2e_fail "the pool did not log A's refusal"
[ "$(pmetric 'ntsd_pool_backend_errors_total\{backend="a.test",reason="refused"\}')" -ge 1 ] ||
  e2e_fail "no refused count for a.test in the pool's metrics"
wait_for 'grep -q "refused [0-9]* pool request" "$E2E_DIR/ntsd-ke-a.log"' 12 || e2e_fail "ntsd-ke A did not log the refusal"
bad=$(in_s curl -s --max-time 2 http://127.0.0.1:19201/metrics | awk '$1 ~ /ntsd_ke_pool_refused_total\{reason="bad_token"\}/ { print $NF }')
[ "${bad:-0}" -ge 1 ] || e2e_fail "ntsd-ke A's metrics show no refused token"
grep -q "pool-token-for-a" "$E2E_DIR/ntsd-pool.log" "$E2E_DIR/ntsd-ke-a.log" && e2e_fail "a token reached a log"
e2e_log "wrong token: ntsd-ke A counted $bad refused; $(grep -o 'backend a.test still down (refused).*' "$E2E_DIR/ntsd-pool.log" | tail -1 | cut -c1-110)"
# 7. Keep Alive on ntsd-ke (the pool is stopped, so that only these hold
# connections): a cap of 6 kept-alive connections, then the 3 s idle timeout.
e2e_stop "$POOL_PID"
other=$(printf some-other-pool | xxd -p)
hexfile keep.bin "000e000f$other""800a000000080000""80000000"
kpids=()
for i in $(seq 6); do
  (cat "$E2E_DIR/keep.bin"; sleep 7) | in_c timeout 10 openssl s_client -quiet -connect "$A:4460" \
    -servername a.test -CAfile "$ACA" -alpn ntske/1 2>/dev/null | od -An -tx1 | tr -d ' \n' >"$E2E_DIR/keep$i.out" &
  kpids+=($!)
done
wait_for "[ \$(in_s ss -Htn state established '( sport = :4460 and src $A )' | wc -l) -ge 6 ]" 5 || true
sleep 0.5
got=$(sc a.test "$A" "$ACA" keep.bin)
expect "ntsd-ke, the 7th Keep Alive past the cap of 6: answered without Keep Alive" "$got" 800a000c001e0010000f00200011004080000000
# The clients hold their side open for 7 s: only the server can close by 5 s.
wait_for "[ \$(in_s ss -Htn state established '( sport = :4460 and src $A )' | wc -l) -eq 0 ]" 5 ||
  e2e_fail "kept-alive connections were not closed after pool_idle_timeout_ms"
wait "${kpids[@]}" 2>/dev/null || true
for i in $(seq 6); do
  [ "$(cat "$E2E_DIR/keep$i.out")" = 800a000c001e0010000f002000110040000800008000""0000 ] || e2e_fail "keep-alive $i got $(cat "$E2E_DIR/keep$i.out")"
done
e2e_log "ntsd-ke: 6 Keep Alive connections held, the 7th refused, all closed after the 3 s idle timeout"
e2e_pass "ntsd-pool in front of two ntsd stacks: users served, deny, chrony and ntpsec synced, failover, Error 2, token refusal, hostile inputs"
