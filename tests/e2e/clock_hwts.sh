#!/usr/bin/env bash
# e2e-timeout: 90
# Hardware T2 on another timescale is caught (issue 18): ntsd's DPDK backend
# on net_pcap,iface=veth-s with rx_timestamps = "unix-us" (every packet
# carries the kernel's receive time), and the test seam
# NTSD_TEST_RX_TIMESTAMP_SHIFT_NS moving every hardware T2 as a NIC clock on
# another timescale would (docs/operations.md, "Test seams").
#   1. Shifted 50 ms earlier, beyond [dataplane] rx_timestamp_max_offset_us
#      (10 ms): every hardware T2 is discarded and counted, the software T2 is
#      used, and the answers stay right (T2 after the client's T1 by the
#      path's delay, not 50 ms before it).
#   2. Shifted 1 s later (a hardware T2 after the software one): the same.
#   3. Shifted 2 ms earlier, inside the bound: the hardware T2 is used (the
#      client sees T2 2 ms before its own T1), nothing is discarded.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init clock_hwts
e2e_require_bin ntsd ntsd-ke
probe=$NTSD_SOURCE/tests/dataplane/ntp_probe.py
ns_pair --dpdk
make_certs "$E2E_DIR/pki" ntsd.test "$S4" "$S6" "$KE4"
export NTSD_TOML_DATAPLANE='rx_timestamps = "unix-us"'
eval "_lib_$(declare -f ntsd_write_config)"
ntsd_write_config() {
  _lib_ntsd_write_config "$@"
  sed -i 's/"net_af_packet0,iface=/"net_pcap0,iface=/' "$NTSD_CONF"
}
sum() {
  in_s curl -sf "http://127.0.0.1:9123/metrics" | awk -v n="$1" 'index($0, n "{") == 1 { s += $NF } END { print s + 0 }'
}

# run_case SHIFT_NS: ntsd with every hardware T2 shifted; 20 plain requests.
# Sets OUT (the probe's trace), STAMPED, DISCARDED.
run_case() {
  [ -n "${NTSD_PID:-}" ] && e2e_stop "$NTSD_PID"
  e2e_spawn "ntsd-shift$1" "$NS_S" env NTSD_TEST_RX_TIMESTAMP_SHIFT_NS="$1" "$(e2e_bin ntsd)" --config "$NTSD_CONF"
  NTSD_PID=$E2E_LAST_PID
  wait_for "! e2e_alive $NTSD_PID || in_c ping -c 1 -W 1 $S4" 20 || true
  e2e_alive "$NTSD_PID" || { grep -q 'without DPDK' "$E2E_DIR/ntsd-shift$1.log" && e2e_skip_no_dpdk "no DPDK backend"; e2e_fail "ntsd did not start"; }
  grep -q "TEST SEAM: every hardware RX timestamp is shifted by $1 ns" "$E2E_DIR/ntsd-shift$1.log" || e2e_fail "seam not logged"
  OUT=$(in_c "$probe" "$S4" 123 trace 20 20)
  [ "$(grep -c '^[0-9]' <<<"$OUT")" = 20 ] || e2e_fail "shift $1: not every request answered: $OUT"
  STAMPED=$(sum ntsd_rx_timestamped_total)
  DISCARDED=$(sum ntsd_rx_timestamp_discarded_total)
}
# t2_within LO HI OUTER: the median exchange's T2 - T1 (ms: the one-way
# delay plus any error in T2; client and server share this machine's clock)
# in [LO, HI], and every exchange within +-OUTER ms (a loaded machine may
# delay one packet or the probe by some ms, never by 50 ms or a second).
# A software T2 lags by the PMD's receive path (net_pcap polls libpcap: up to
# a few ms); the kernel's stamp does not.
t2_within() {
  awk -v lo="$1" -v hi="$2" -v outer="$3" '/^[0-9]/ { d[n++] = ($2 - $1) * 1000 }
    END {
      for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (d[j] < d[i]) { t = d[i]; d[i] = d[j]; d[j] = t }
      med = d[int(n / 2)]
      printf "T2 - T1 median %.3f ms, %.3f..%.3f ms over %d exchanges\n", med, d[0], d[n - 1], n
      exit !(n > 0 && med >= lo && med <= hi && d[0] >= -outer && d[n - 1] <= outer)
    }' <<<"$OUT"
}

# The stack (ntsd-ke too: a real deployment's shape), then the cases.
rc=0
ntsd_stack_start dpdk || rc=$?
[ $rc -eq 3 ] && e2e_skip_no_dpdk "ntsd or ntsd-ke lacks the DPDK backend in this build"
[ $rc -eq 0 ] || e2e_fail "ntsd on net_pcap did not start"

run_case -50000000
msg=$(t2_within 0 10 30) || e2e_fail "hardware T2 50 ms early: answers wrong ($msg)"
[ "$DISCARDED" -ge 20 ] && [ "$STAMPED" = 0 ] ||
  e2e_fail "50 ms early: discarded $DISCARDED, used $STAMPED; want every one discarded"
e2e_log "hardware T2 50 ms early: $DISCARDED discarded, $STAMPED used, $msg"

run_case 1000000000
msg=$(t2_within 0 10 30) || e2e_fail "hardware T2 1 s late: answers wrong ($msg)"
[ "$DISCARDED" -ge 20 ] && [ "$STAMPED" = 0 ] ||
  e2e_fail "1 s late: discarded $DISCARDED, used $STAMPED; want every one discarded"
e2e_log "hardware T2 1 s late: $DISCARDED discarded, $STAMPED used, $msg"

run_case -2000000
msg=$(t2_within -2.2 -1.5 30) || e2e_fail "hardware T2 2 ms early (inside the bound) was not used ($msg)"
[ "$STAMPED" -ge 20 ] && [ "$DISCARDED" = 0 ] ||
  e2e_fail "2 ms early: used $STAMPED, discarded $DISCARDED; want every one used"
e2e_log "hardware T2 2 ms early, inside the bound: $STAMPED used, $msg"
e2e_pass "implausible hardware T2s discarded and counted, answers right; plausible ones used"
