#!/usr/bin/env bash
# e2e-timeout: 240
# The responder end to end (issue 5), with ntsd-ke next to it, in two
# namespaces joined by a veth pair:
#   ntsd_socket.sh          kernel-socket backend on the server's addresses
#   ntsd_socket.sh dpdk     DPDK backend on net_af_packet,iface=veth-s; ntsd
#                           owns 192.0.2.1/2001:db8::1 and answers ARP/ND/echo
# Proves: the client resolves ntsd's MAC by ARP and ND (dpdk), sntp gets plain
# time, chrony 4.3 and ntpsec 1.2 as NTS clients authenticate and keep getting
# responses, bad packets get their defined outcome and the Prometheus counters
# show them, and ntsd stops cleanly on SIGTERM.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
MODE=${1:-socket}
e2e_init "ntsd_$MODE"
e2e_require_peers
e2e_require_bin ntsd ntsd-ke
probe=$NTSD_SOURCE/tests/dataplane/ntp_probe.py
if [ "$MODE" = dpdk ]; then ns_pair --dpdk; else ns_pair; fi
make_certs "$E2E_DIR/pki" ntsd.test "$S4" "$S6" "$KE4"

rc=0
ntsd_stack_start "$MODE" || rc=$?
if [ $rc -eq 3 ]; then
  [ "$MODE" = dpdk ] && e2e_skip_no_dpdk "ntsd or ntsd-ke lacks the DPDK backend in this build"
  e2e_skip "ntsd or ntsd-ke is not built"
fi
[ $rc -eq 0 ] || e2e_fail "ntsd stack did not start ($MODE)"
grep -q "serving NTP/NTS" "$E2E_DIR/ntsd-$MODE.log" || e2e_fail "no 'serving' log line"

# --- --check-config: the running config validates, a broken one names the problem
"$(e2e_bin ntsd)" --check-config "$NTSD_CONF" | grep -q "configuration OK" || e2e_fail "--check-config rejected a working config"
sed 's/^workers = 1$/workers = 1\nbogus_key = 3/' "$NTSD_CONF" >"$E2E_DIR/bad.toml"
if msg=$("$(e2e_bin ntsd)" --check-config "$E2E_DIR/bad.toml" 2>&1); then e2e_fail "--check-config accepted an unknown key"; fi
grep -q "bogus_key" <<<"$msg" || e2e_fail "--check-config error does not name the key: $msg"
if [ "$MODE" = socket ]; then
  sed 's/^workers = 1$/workers = 1\nrx_timestamps = "unix-us"/' "$NTSD_CONF" >"$E2E_DIR/bad-ts.toml"
  if msg=$("$(e2e_bin ntsd)" --check-config "$E2E_DIR/bad-ts.toml" 2>&1); then e2e_fail "--check-config accepted rx_timestamps = unix-us with the socket backend"; fi
  grep -q 'rx_timestamps = "unix-us" describes a DPDK port' <<<"$msg" || e2e_fail "unix-us with sockets: unclear error: $msg"
fi

metrics() { in_s curl -sf "http://127.0.0.1:9123/metrics"; }
# counter NAME REASON: sum over workers of NAME{reason=REASON}.
counter() {
  metrics | awk -v n="$1" -v r="reason=\"$2\"" 'index($0, n "{") == 1 && index($0, r) { s += $NF } END { print s + 0 }'
}

# --- neighbour resolution: no static entries anywhere
if [ "$MODE" = dpdk ]; then
  smac=$(in_s cat "/sys/class/net/$IF_S/address")
  in_c ping -c 2 -W 1 "$S4" >/dev/null || e2e_fail "no ICMP echo reply from ntsd"
  in_c ping -6 -c 2 -W 1 "$S6" >/dev/null || e2e_fail "no ICMPv6 echo reply from ntsd"
  in_c ip neigh show "$S4" | grep -qi "lladdr $smac" || e2e_fail "ARP did not resolve $S4 to $smac: $(in_c ip neigh show)"
  in_c ip -6 neigh show "$S6" | grep -qi "lladdr $smac" || e2e_fail "ND did not resolve $S6 to $smac"
  [ "$(metrics | awk '/^ntsd_arp_replies_total/ { s += $NF } END { print s + 0 }')" -ge 1 ] || e2e_fail "no ARP reply counted"
  e2e_log "client resolved ntsd ($S4, $S6) to $smac by ARP and ND; echo answered"
fi

# --- plain NTP: sntp and the probe
out=$(in_c timeout 20 sntp "$S4" 2>&1) || e2e_fail "sntp failed: $out"
e2e_log "sntp: $(tail -1 <<<"$out")"
out=$(in_c "$probe" "$S4" 123 plain 20) || e2e_fail "plain NTP over IPv4: $out"
out6=$(in_c "$probe" "$S6" 123 plain 20) || e2e_fail "plain NTP over IPv6: $out6"
e2e_log "probe v4: $out; v6: $out6"

# --- NTS: chrony and ntpsec as clients
chrony_nts_client "$NS_C" ntsd.test "$PKI_CA"
cli=$E2E_INST
ntpsec_nts_client "$NS_C" ntsd.test "$PKI_CA"
ntp=$E2E_INST
wait_for "chrony_authdata_ok $cli" 30 || e2e_fail "chrony: no NTS key establishment: $(chronyc_in "$cli" -N authdata 2>&1)"
wait_for "chrony_got_samples $cli 8" 40 || e2e_fail "chrony: too few authenticated responses: $(chronyc_in "$cli" ntpdata 2>&1 | grep -i 'RX')"
wait_for "chrony_selected $cli" 30 || e2e_fail "chrony did not select ntsd: $(chronyc_in "$cli" sources 2>&1)"
e2e_log "chrony: $(chronyc_in "$cli" -N authdata | tail -1); offset $(chrony_offset "$cli") s"
wait_for "ntpsec_ntske_ok $ntp" 30 || e2e_fail "ntpsec: no NTS-KE"
wait_for "ntpsec_peer_ok $ntp 2" 60 || e2e_fail "ntpsec: no authenticated responses"
e2e_log "ntpsec: authenticated and reachable, offset $(ntpsec_offset "$ntp") s"
nts_before=$(counter ntsd_requests_total ok_nts)
sleep 2
[ "$(counter ntsd_requests_total ok_nts)" -gt "$nts_before" ] || e2e_fail "NTS responses stopped"

# --- bad packets: each gets its defined outcome and is counted
declare -A want=([short]=too_short [mode4]=not_client_mode [badver]=bad_version
                 [ef_len]=bad_ef_length [ef_trunc]=ef_truncated [forged_cookie]=cookie_unknown_key)
for kind in short mode4 badver ef_len ef_trunc forged_cookie; do
  before=$(counter ntsd_requests_total "${want[$kind]}")
  reply=$(in_c "$probe" "$S4" 123 bad "$kind")
  if [ "$kind" = forged_cookie ]; then
    grep -q "refid=NTSN" <<<"$reply" || e2e_fail "forged cookie: want an NTS NAK (RFC 8915 §5.7), got: $reply"
  else
    [ "$reply" = noreply ] || e2e_fail "$kind: want no reply, got: $reply"
  fi
  wait_for "[ \$(counter ntsd_requests_total ${want[$kind]}) -gt $before ]" 5 ||
    e2e_fail "$kind: counter ${want[$kind]} did not move"
done
e2e_log "malformed requests: dropped or NAKed as defined, counters moved"
if [ "$MODE" = dpdk ]; then
  cmac=$(in_s cat "/sys/class/net/$IF_S/address")
  # A lone IP fragment never reaches ntsd here: net_af_packet joins a
  # PACKET_FANOUT group with the DEFRAG flag, so the kernel holds fragments
  # for reassembly. net_test covers the classifier's ip4_fragment drop.
  declare -A frame=([udp_checksum]=udp_checksum [ip_checksum]=ip4_checksum [ip_truncated]=truncated)
  for kind in udp_checksum ip_checksum ip_truncated; do
    before=$(counter ntsd_frames_dropped_total "${frame[$kind]}")
    in_c "$probe" raw "$IF_C" "$cmac" "$C4" "$S4" "$kind" >/dev/null
    wait_for "[ \$(counter ntsd_frames_dropped_total ${frame[$kind]}) -gt $before ]" 5 ||
      e2e_fail "$kind frame: counter ${frame[$kind]} did not move"
  done
  e2e_log "broken frames (checksums, truncation) dropped and counted"
fi

# --- metrics format: every sample's metric has HELP and TYPE
m=$(metrics)
for name in $(grep -v '^#' <<<"$m" | sed 's/[{ ].*//' | sort -u); do
  base=$name  # histogram series share their family's HELP/TYPE
  for suf in _bucket _sum _count; do
    if [[ $name == *$suf ]] && grep -q "^# TYPE ${name%"$suf"} histogram" <<<"$m"; then base=${name%"$suf"}; fi
  done
  grep -q "^# HELP $base " <<<"$m" && grep -q "^# TYPE $base " <<<"$m" || e2e_fail "metric $name lacks HELP/TYPE"
done
[ "$(awk '/^ntsd_processing_seconds_count/ { s += $NF } END { print s + 0 }' <<<"$m")" -gt 0 ] ||
  e2e_fail "no T3-T2 samples in ntsd_processing_seconds"

# --- clean shutdown
nts_total=$(counter ntsd_requests_total ok_nts)
kill -TERM "$NTSD_PID"
wait_for "! e2e_alive $NTSD_PID" 10 || e2e_fail "ntsd did not stop on SIGTERM"
grep -q "stopped:" "$E2E_DIR/ntsd-$MODE.log" || e2e_fail "no clean stop in the log"
host_note=""
[ "$MODE" = dpdk ] && host_note="ARP/ND/echo, "
e2e_pass "$MODE: ${host_note}sntp, chrony+ntpsec NTS, bad packets and metrics OK ($nts_total NTS responses)"
