#!/usr/bin/env bash
# e2e-timeout: 180
# NTS-KE connection slots cannot be exhausted by empty TCP connections
# (issue 20, item 2), across a veth between two namespaces. A good client
# (tests/ctrl/ke_flood: full NTS-KE exchanges one after another) measures its
# handshakes on an idle ntsd-ke, then while an attacker holds connections
# that never send a byte; every handshake must succeed, with p99 at most
# twice the idle p99:
#  - max_connections = 8: the review's reproduction (8 silent connections,
#    each renewed every 1.8 s, which failed every handshake at 119d3ed), and
#    64 of them from 16 addresses, reopened as soon as the server closes one;
#  - the defaults (1024 slots, handshake_timeout_ms 2000): 1100 silent
#    connections from 16 addresses, each renewed every 1.8 s and reopened as
#    soon as the server closes it (at 119d3ed about 570 new ones per second,
#    "about 512/s", kept every slot taken);
#  - the anchor: chrony 4.3's NTS-KE server with `maxntsconnections 8`
#    under the same reproduction; ntsd-ke must do better than it.
# Run against an older build with NTSD_BIN=DIR (its ntsd-ke) to see it fail.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
ke_flood_init ke_flood
# The attack comes from 16 more client addresses (192.0.2.100-115).
client_addrs 100 115; from=$CLIENT_ADDRS
N=300  # handshakes per measurement

# ke_start NAME [TOML_LINE...]: ntsd-ke on $S4 with one event loop.
ke_start() {
  local name=$1; shift
  {
    echo "[ke]"
    echo "listen = [\"$S4\"]"
    echo "cert = \"$PKI_CERT\""
    echo "key = \"$PKI_KEY\""
    echo "threads = 1"
    local l
    for l in "$@"; do echo "$l"; done
    echo "[keys]"
    echo "file = \"$E2E_DIR/ntskeys\""
  } >"$E2E_DIR/$name.toml"
  e2e_spawn "$name" "$NS_S" "$(e2e_bin ntsd-ke)" --config "$E2E_DIR/$name.toml"
  KE_PID=$E2E_LAST_PID
  wait_for "in_s ss -ltn | grep -q '$S4:4460 '" 10 || e2e_fail "$name is not listening"
}
ke_stop() {
  e2e_stop "$KE_PID"
  wait_for "! in_s ss -ltn | grep -q ':4460 '" 5 || e2e_fail "port 4460 still in use"
}

# measure LABEL [KE_FLOOD_ARGS...]: N handshakes; sets OK FAILED P99 and logs.
measure() {
  local label=$1 out; shift
  out=$(in_c "$KE_FLOOD" "$S4" 4460 --ca "$PKI_CA" --handshakes "$N" "$@") || e2e_fail "$label: ke_flood failed: $out"
  echo "$out" >"$E2E_DIR/$label.out"
  OK=$(awk '/^handshakes/ { print $4 }' <<<"$out")
  FAILED=$(awk '/^handshakes/ { print $6 }' <<<"$out")
  P99=$(awk '/^handshakes/ { print $11 }' <<<"$out")
  e2e_log "$label: $(head -1 <<<"$out")"
  grep '^first error' <<<"$out" >&2 || true
}

# attack NAME LABEL KE_FLOOD_ARGS...: an idle measurement, the attack, and
# another idle one; no good handshake may fail, and the attack's p99 must be
# at most twice the idle p99 (the larger of the two around it, so that a
# neighbour's load on this small machine does not decide the outcome). A
# p99 over that bound is measured again, up to 3 attempts in all: on 2 vCPUs
# a VM stall during 300 handshakes alone can double a p99 (a CI run saw
# 3.83 ms against 1.85 ms with no handshake lost); a lost handshake fails at once.
attack() {
  local name=$1 label=$2 before failed p99 idle attempt; shift 2
  for attempt in 1 2 3; do
    measure "$name-idle"
    [ "$FAILED" -eq 0 ] || e2e_fail "idle server: $FAILED handshakes failed"
    before=$P99
    measure "$name" "$@"
    failed=$FAILED p99=$P99
    measure "$name-idle-after"
    idle=$(awk -v a="$before" -v b="$P99" 'BEGIN { print (a > b) ? a : b }')
    [ "$failed" -eq 0 ] || e2e_fail "$label: $failed of $N good handshakes failed"
    if awk -v p="$p99" -v i="$idle" 'BEGIN { exit !(p <= 2 * i) }'; then
      e2e_log "$label: ok, p99 $p99 ms against $idle ms idle (attempt $attempt)"
      return
    fi
    e2e_log "$label: p99 $p99 ms is more than twice the idle p99 ($idle ms), attempt $attempt of 3"
  done
  e2e_fail "$label: p99 $p99 ms is more than twice the idle p99 ($idle ms) in 3 attempts"
}

# --- 1. max_connections = 8
ke_start ke-small "max_connections = 8"
attack small-repro "cap 8, 8 silent renewed every 1.8 s" --empty 8 --renew 1800 --warmup 2.5
attack small-many "cap 8, 64 silent from 16 addresses" --empty 64 --renew 1800 --warmup 2.5 --from "$from"
ke_stop
e2e_log "ntsd-ke (cap 8): $(grep -o 'stopping:.*' "$E2E_DIR/ke-small.log" || true)"

# --- 2. the defaults
ke_start ke-default
attack default-flood "defaults, 1100 silent from 16 addresses" --empty 1100 --renew 1800 --warmup 3 --from "$from"
opened=$(awk '/^handshakes/ { print $(NF-1) }' "$E2E_DIR/default-flood.out")
[ "$opened" -ge 2000 ] || e2e_fail "the attacker opened only $opened connections"
ke_stop
e2e_log "ntsd-ke (defaults): $(grep -o 'stopping:.*' "$E2E_DIR/ke-default.log" || true)"
ntsd_repro_failed=$(awk '/^handshakes/ { print $6 }' "$E2E_DIR/small-repro.out")
ntsd_repro_p99=$(awk '/^handshakes/ { print $11 }' "$E2E_DIR/small-repro.out")

# --- 3. the anchor: chrony 4.3 with maxntsconnections 8, same reproduction
chrony_nts_server "$NS_S" "$PKI_CERT" "$PKI_KEY" - "maxntsconnections 8"
wait_for "in_s ss -ltn | grep -q ':4460 '" 10 || e2e_fail "chrony NTS-KE is not listening"
measure chrony-idle
measure chrony-repro --empty 8 --renew 1800 --warmup 2.5
e2e_log "chrony (maxntsconnections 8) under the reproduction: $FAILED of $N failed, p99 $P99 ms;" \
  "ntsd-ke: $ntsd_repro_failed failed, p99 $ntsd_repro_p99 ms"
better=$(awk -v cf="$FAILED" -v cp="$P99" -v nf="$ntsd_repro_failed" -v np="$ntsd_repro_p99" \
  'BEGIN { print (nf < cf || (nf == cf && np < cp)) ? 1 : 0 }')
[ "$better" = 1 ] || e2e_fail "ntsd-ke did no better than chrony under the same attack"
e2e_pass "no good handshake lost to silent connections; p99 within 2x idle at cap 8 and at the defaults; chrony at maxntsconnections 8: $FAILED/$N failed"
