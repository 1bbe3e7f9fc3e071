#!/usr/bin/env bash
# e2e-timeout: 200
# Per-client rate limiting (issue 5) end to end, with ntsd-ke next to ntsd in
# two namespaces joined by a veth pair:
#   ratelimit.sh          kernel-socket backend
#   ratelimit.sh dpdk     DPDK backend on net_af_packet (ratelimit_dpdk.sh)
# [ratelimit] interval = 0 (one request per second), burst 8, leak 0.
# Proves: a client address that floods gets RATE Kiss-o'-Deaths for plain
# requests (48 bytes, never more than the request) and no answer at all for
# NTS requests; its IPv6 /64 neighbour is limited with it; a second IPv4
# client address under the limit, chrony 4.3 as an NTS client, keeps getting
# authenticated responses throughout; the Prometheus counters show each.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
MODE=${1:-socket}
e2e_init "rl_$MODE"
e2e_require_peers
e2e_require_bin ntsd ntsd-ke
probe=$NTSD_SOURCE/tests/dataplane/ntp_probe.py
if [ "$MODE" = dpdk ]; then ns_pair --dpdk; else ns_pair; fi
C4B=192.0.2.3 C6B=2001:db8::3  # the second client: another IPv4 /32, the same IPv6 /64
in_c ip addr add "$C4B/24" dev "$IF_C"
in_c ip -6 addr add "$C6B/64" dev "$IF_C" nodad
make_certs "$E2E_DIR/pki" ntsd.test "$S4" "$S6" "$KE4"

# The stack as ntsd_stack_start starts it, with a [ratelimit] table added.
_e2e_new_inst "ntsd-$MODE"
NTSD_DIR=$E2E_INST
ntsd_write_config "$NTSD_DIR" "$MODE" "" "[ratelimit]" "enabled = true" "interval = 0" "burst = 8" "leak = 0" \
  "table_size = 1024"
e2e_spawn "ntsd-ke-$MODE" "$NS_S" "$(e2e_bin ntsd-ke)" --config "$NTSD_CONF"
wait_for "[ -s $NTSD_DIR/ntskeys ]" 10 || e2e_fail "ntsd-ke wrote no key file"
wait_for "in_s ss -ltn | grep -q ':4460 '" 10 || e2e_fail "ntsd-ke is not listening"
e2e_spawn "ntsd-$MODE" "$NS_S" "$(e2e_bin ntsd)" --config "$NTSD_CONF"
NTSD_PID=$E2E_LAST_PID
if [ "$MODE" = socket ]; then up="in_s ss -lun | grep -q '$S4:123 '"; else up="in_c ping -c 1 -W 1 $S4"; fi
wait_for "! e2e_alive $NTSD_PID || $up" 20 || true
e2e_alive "$NTSD_PID" || {
  grep -q 'without DPDK' "$E2E_DIR/ntsd-$MODE.log" && e2e_skip_no_dpdk "ntsd lacks the $MODE backend in this build"
  e2e_fail "ntsd did not start"
}
grep -q "rate limit per client: burst 8" "$E2E_DIR/ntsd-$MODE.log" || e2e_fail "no rate-limit log line"

metrics() { in_s curl -sf "http://127.0.0.1:9123/metrics"; }
# sum NAME LABEL: sum over workers of NAME{..LABEL..}.
sum() { metrics | awk -v n="$1" -v l="$2" 'index($0, n "{") == 1 && index($0, l) { s += $NF } END { print s + 0 }'; }
field() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" <<<"$2"; }

# --- the second client: chrony over NTS from 192.0.2.3, polling every 2 s
# (under the limit of one per second), its NTP requests sent from there.
CHRONY_SERVER_OPTS="minpoll 1 maxpoll 1" chrony_nts_client "$NS_C" ntsd.test "$PKI_CA" "bindacqaddress $C4B"
cli=$E2E_INST
wait_for "chrony_authdata_ok $cli" 30 || e2e_fail "chrony: no NTS key establishment"
wait_for "chrony_got_samples $cli 4" 30 || e2e_fail "chrony: no authenticated responses before the flood"
samples() { chronyc_in "$cli" ntpdata 2>/dev/null | awk -F: '/^Total valid RX/ { gsub(/ /, "", $2); print $2 + 0 }'; }
before_samples=$(samples)
e2e_log "chrony (from $C4B) authenticated, $before_samples valid responses"

# --- plain flood from 192.0.2.2: the burst is answered, the rest kissed
kod0=$(sum ntsd_ratelimit_total 'action="kod"')
out=$(in_c "$probe" "$S4" 123 flood plain 60 "$C4")
e2e_log "plain flood from $C4: $out"
ok=$(field ok "$out") rate=$(field rate "$out")
[ "$ok" -ge 8 ] && [ "$ok" -le 10 ] || e2e_fail "plain flood: want the burst of 8 (plus refill) answered, got: $out"
[ "$rate" -ge 50 ] || e2e_fail "plain flood: want RATE kisses for the rest, got: $out"
[ "$(field other "$out")" -eq 0 ] || e2e_fail "plain flood: unexpected replies: $out"
wait_for "[ \$(sum ntsd_ratelimit_total 'action=\"kod\"') -ge $((kod0 + rate)) ]" 5 || e2e_fail "kod counter did not move by $rate"
[ "$(sum ntsd_requests_total 'reason="rate_limited"')" -ge "$rate" ] || e2e_fail "rate_limited reason not counted"

# --- NTS flood from the same address: no answer at all, not even a kiss
drop0=$(sum ntsd_ratelimit_total 'action="drop"')
out=$(in_c "$probe" "$S4" 123 flood nts 60 "$C4")
e2e_log "NTS flood from $C4: $out"
[ "$(field rate "$out")" -eq 0 ] || e2e_fail "NTS over the limit got a RATE kiss: $out"
[ "$(field ok "$out")" -eq 0 ] && [ "$(field other "$out")" -eq 0 ] || e2e_fail "NTS flood: unexpected replies: $out"
[ "$(field noreply "$out")" -ge 57 ] || e2e_fail "NTS flood: want silence over the limit, got: $out"
wait_for "[ \$(sum ntsd_ratelimit_total 'action=\"drop\"') -ge $((drop0 + 57)) ]" 5 || e2e_fail "drop counter did not move"

# --- another IPv4 address is its own client: its NTS request is NAKed (the
# cookie is forged), i.e. answered, and plain requests are answered.
out=$(in_c "$probe" "$S4" 123 flood nts 1 "$C4B")
[ "$(field nak "$out")" -eq 1 ] || e2e_fail "the second client's NTS request was not answered: $out"
out=$(in_c "$probe" "$S4" 123 flood plain 2 "$C4B")
[ "$(field ok "$out")" -eq 2 ] || e2e_fail "the second client's plain requests were not answered: $out"

# --- IPv6: the flooding client's /64 neighbour shares its limit (ipv6_prefix 64)
out=$(in_c "$probe" "$S6" 123 flood plain 40 "$C6")
e2e_log "IPv6 plain flood from $C6: $out"
[ "$(field rate "$out")" -ge 30 ] || e2e_fail "IPv6 flood: want RATE kisses, got: $out"
out=$(in_c "$probe" "$S6" 123 flood plain 4 "$C6B")
[ "$(field rate "$out")" -ge 3 ] || e2e_fail "$C6B is in the same /64 as $C6 and should be limited: $out"

# --- spoofed sources never reach the limiter or the core (DPDK classifier;
# the kernel already drops these before a socket sees them)
if [ "$MODE" = dpdk ]; then
  smac=$(in_s cat "/sys/class/net/$IF_S/address")
  bad0=$(sum ntsd_frames_dropped_total 'reason="ip4_bad_source"')
  for src in 127.0.0.1 0.1.2.3; do in_c "$probe" raw "$IF_C" "$smac" "$src" "$S4" valid >/dev/null; done
  wait_for "[ \$(sum ntsd_frames_dropped_total 'reason=\"ip4_bad_source\"') -ge $((bad0 + 2)) ]" 5 ||
    e2e_fail "frames from 127.0.0.1 and 0.1.2.3 were not dropped as ip4_bad_source"
  e2e_log "frames from 127.0.0.1 and 0.1.2.3 dropped as ip4_bad_source"
fi

# --- chrony on the second address kept getting authenticated responses
wait_for "[ \$(samples) -ge $((before_samples + 4)) ]" 20 || e2e_fail "chrony stopped getting responses during the flood"
[ "$(sum ntsd_ratelimit_total 'action="leak"')" -eq 0 ] || e2e_fail "leak = 0 but requests leaked"
e2e_log "chrony: $(samples) valid responses; counters: kod=$(sum ntsd_ratelimit_total 'action="kod"') drop=$(sum ntsd_ratelimit_total 'action="drop"')"
e2e_pass "$MODE: plain over the limit kissed (RATE), NTS over the limit silent, /64 shared, other client and chrony NTS unaffected"
