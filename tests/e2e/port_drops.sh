#!/usr/bin/env bash
# e2e-timeout: 90
# Port drops become visible (issue 19): frames the port drops because its RX
# ring is full are counted by the PMD (imissed) and must show in /metrics as
# ntsd_port_rx_missed_total, the counter docs/operations.md tells operators
# to page on. ntsd runs on net_pcap over a veth (the PMD that reports
# imissed here: libpcap's kernel capture ring, whose drops pcap_stats
# counts; DPDK 22.11 fixes that ring at libpcap's default 2 MiB), with a
# small DPDK RX ring (rx_desc = 64). The worker is stopped (SIGSTOP: a
# worker that lost its core) while ntsgen bursts 60 000 requests, so the ring
# overflows; after SIGCONT the counter must have risen, and the link gauges
# must say up. Plain NTP is answered before and after.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init port_drops
e2e_require_bin ntsd ntsgen
probe=$NTSD_SOURCE/tests/dataplane/ntp_probe.py
ns_pair --bare
d=$E2E_DIR/ntsd
mkdir -p "$d"
eal="" ; for a in $E2E_EAL_COMMON "--file-prefix=ntsd-$E2E_NS"; do eal+="${eal:+, }\"$a\""; done
cat >"$d/ntsd.toml" <<TOML
[server]
stratum = 1
# This machine's kernel says "unsynchronised": serve it as a local reference.
local_stratum = 1

[keys]
file = "$d/ntskeys"

[dataplane]
backend = "dpdk"
workers = 1
eal_args = [$eal]
ports = ["net_pcap0,iface=$IF_S"]
addresses = ["$S4"]
rx_desc = 64

[metrics]
listen = "127.0.0.1:9123"
TOML
e2e_spawn ntsd "$NS_S" "$(e2e_bin ntsd)" --config "$d/ntsd.toml"
ntsd_pid=$E2E_LAST_PID
wait_for "! e2e_alive $ntsd_pid || in_c ping -c 1 -W 1 $S4" 20 || true
e2e_alive "$ntsd_pid" || e2e_fail "ntsd exited: $(tail -3 "$E2E_DIR/ntsd.log")"
out=$(in_c "$probe" "$S4" 123 plain 20) || e2e_fail "plain NTP before the burst: $out"

metrics() { in_s curl -sf "http://127.0.0.1:9123/metrics"; }
port_metric() { metrics | awk -v n="$1" 'index($0, n "{port=\"net_pcap0\"") == 1 { print $NF }'; }
wait_for "[ \"\$(port_metric ntsd_port_link_up)\" = 1 ]" 5 || e2e_fail "ntsd_port_link_up is not 1: $(metrics | grep '^ntsd_port')"
[ "$(port_metric ntsd_port_link_speed_bits_per_second)" -gt 0 ] || e2e_fail "no link speed"
missed0=$(port_metric ntsd_port_rx_missed_total)
rx0=$(port_metric ntsd_port_rx_packets_total)
e2e_log "before: rx_missed $missed0, rx $rx0, link up at $(port_metric ntsd_port_link_speed_bits_per_second) b/s"

kill -STOP "$ntsd_pid"
in_c timeout 30 "$(e2e_bin ntsgen)" --server "$S4" --mode ntp --rate 100000 --count 60000 --duration 2 \
  --drain 0.1 --quiet --json "$E2E_DIR/burst.json" >"$E2E_DIR/burst.out" 2>&1 || true
sent=$(json_get "$E2E_DIR/burst.json" 'r["steps"][0]["sent"]' 2>/dev/null || echo 0)
kill -CONT "$ntsd_pid"
[ "$sent" -ge 30000 ] || e2e_fail "ntsgen sent only $sent requests: $(tail -3 "$E2E_DIR/burst.out")"
wait_for "[ \$(port_metric ntsd_port_rx_missed_total) -gt $missed0 ]" 10 ||
  e2e_fail "ntsd_port_rx_missed_total stayed at $(port_metric ntsd_port_rx_missed_total) after $sent requests into a stopped worker"
missed=$(port_metric ntsd_port_rx_missed_total)
e2e_log "burst of $sent requests into a stalled worker: ntsd_port_rx_missed_total $missed0 -> $missed, rx $(port_metric ntsd_port_rx_packets_total)"
out=$(in_c "$probe" "$S4" 123 plain 20) || e2e_fail "plain NTP after the burst: $out"
# One scrape, then grep it: `curl | grep -q` under pipefail fails whenever
# grep stops reading before curl has written everything (SIGPIPE).
scrape=$(metrics)
for m in ntsd_port_rx_nombuf_total ntsd_port_rx_errors_total ntsd_port_tx_errors_total ntsd_port_tx_packets_total; do
  grep -q "^# TYPE $m counter" <<<"$scrape" || e2e_fail "$m missing"
done
e2e_pass "imissed rose from $missed0 to $missed in /metrics after a burst into a stalled worker; link up; service continues"
