#!/usr/bin/env bash
# e2e-timeout: 240
# Interleaved mode (issue 14, RFC 9769) end to end, with ntsd-ke next to ntsd
# in two namespaces joined by a veth pair:
#   interleaved.sh          kernel-socket backend (kernel TX timestamps)
#   interleaved.sh dpdk     DPDK backend on net_af_packet (TSC after tx_burst)
# Proves:
# - chrony 4.3 with `xleave`, as an NTS client and as a plain NTP client,
#   gets interleaved answers (`chronyc ntpdata`: "Interleaved : Yes") and
#   selects ntsd; so does Debian 13's chrony 4.6.1 with `xleave` as an NTS
#   client on AEAD 30 (AES-128-GCM-SIV);
# - ntsgen --interleaved at a steady rate, plain and NTS: >= 99 % of the
#   answers after warm-up are interleaved, none invalid (every interleaved
#   T3 lies between the previous exchange's T2 and its arrival);
# - spoofed state: a request from another address whose origin is a client's
#   table entry gets a basic answer, and that client stays interleaved;
# - eviction: ntsd restarted with a 16-entry table and 256 clients gives
#   basic answers, never invalid ones, and counts the evictions.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
MODE=${1:-socket}
e2e_init "xleave_$MODE"
e2e_require_peers
e2e_require_trixie
e2e_require_bin ntsd ntsd-ke ntsgen
NTSGEN=$(e2e_bin ntsgen)
probe=$NTSD_SOURCE/tests/e2e/xleave_probe.py
if [ "$MODE" = dpdk ]; then ns_pair --dpdk; else ns_pair; fi
make_certs "$E2E_DIR/pki" ntsd.test "$S4" "$S6" "$KE4"
rc=0
ntsd_stack_start "$MODE" || rc=$?
[ $rc -eq 3 ] && e2e_skip "ntsd or ntsd-ke lacks the $MODE backend in this build"
[ $rc -eq 0 ] || e2e_fail "ntsd stack did not start ($MODE)"
grep -q "interleaved mode (RFC 9769): 65536 entries per worker (2048 KiB each)" "$E2E_DIR/ntsd-$MODE.log" ||
  e2e_fail "no interleaved-mode log line with the default table"

metrics() { in_s curl -sf "http://127.0.0.1:9123/metrics"; }
# sum NAME [LABEL]: sum over workers of NAME{...LABEL...}.
sum() {
  metrics | awk -v n="$1" -v l="${2:-}" 'index($0, n "{") == 1 && index($0, l) { s += $NF } END { print s + 0 }'
}

# --- chrony 4.3 with xleave: NTS, and plain NTP from a second instance;
# chrony 4.6.1 with xleave: NTS on AEAD 30
chrony_interleaved() { chronyc_in "$1" ntpdata 2>/dev/null | grep -Eq '^Interleaved +: Yes'; }
CHRONY_SERVER_OPTS="xleave" chrony_nts_client "$NS_C" ntsd.test "$PKI_CA"
nts=$E2E_INST
CHRONY=4.6 CHRONY_SERVER_OPTS="xleave" chrony_nts_client "$NS_C" ntsd.test "$PKI_CA"
nts46=$E2E_INST
_e2e_new_inst chrony-plain
plain=$E2E_INST
cat >"$plain/chrony.conf" <<EOT
server $S4 iburst minpoll -2 maxpoll -2 xleave
pidfile $plain/chronyd.pid
bindcmdaddress $plain/chronyd.sock
cmdport 0
port 0
logdir $plain
EOT
echo "$NS_C" >"$plain/ns"
e2e_spawn chrony-plain "$NS_C" "$CHRONYD" -f "$plain/chrony.conf" -x -d -u root
echo "$E2E_LAST_PID" >"$plain/pid"
for c in "$nts" "$plain" "$nts46"; do
  wait_for "chrony_interleaved $c" 40 ||
    e2e_fail "chrony ($(basename "$c")): no interleaved answers: $(chronyc_in "$c" ntpdata 2>&1 | grep -E 'Interleaved|RX|Mode');" \
      "ntsd: $(metrics | grep -E '^ntsd_(interleaved|tx_timestamps)' | tr '\n' ' ')"
  wait_for "chrony_selected $c" 30 || e2e_fail "chrony ($(basename "$c")) did not select ntsd: $(chronyc_in "$c" sources 2>&1)"
done
chrony_authdata_ok "$nts" || e2e_fail "chrony NTS: no NTS authentication: $(chronyc_in "$nts" -N authdata 2>&1)"
chrony_authdata_ok "$nts46" 1 30 || e2e_fail "chrony 4.6.1 NTS: not AEAD 30: $(chronyc_in "$nts46" -N authdata 2>&1)"
sleep 2
for c in "$nts" "$plain" "$nts46"; do
  chrony_interleaved "$c" || e2e_fail "chrony ($(basename "$c")) fell back to basic mode"
done
e2e_log "chrony xleave: 4.3 NTS and plain, 4.6.1 NTS (AEAD 30) interleaved and selected; offsets: 4.3 NTS $(chrony_offset "$nts") s," \
  "plain $(chrony_offset "$plain") s, 4.6.1 $(chrony_offset "$nts46") s"
[ "$(sum ntsd_interleaved_answers_total)" -gt 0 ] || e2e_fail "ntsd_interleaved_answers_total did not move"
for c in "$nts" "$plain" "$nts46"; do e2e_stop "$(cat "$c/pid" 2>/dev/null || echo 0)" 2>/dev/null || true; done

# --- ntsgen --interleaved at a steady rate: >= 99 % interleaved, none invalid
steady() {  # steady NAME MIN_SHARE ARGS...
  local name=$1 min=$2 f=$E2E_DIR/$1.json share invalid lost; shift 2
  in_c "$NTSGEN" --server "$S4" --ke ntsd.test --rate 2000 --duration 3 --drain 1 --sockets 128 --interleaved --quiet \
    --json "$f" "$@" >"$E2E_DIR/$name.out" 2>&1 || { cat "$E2E_DIR/$name.out" >&2; e2e_fail "ntsgen $name failed"; }
  share=$(json_get "$f" 'r["steps"][0]["interleaved"]["share_pct"]')
  invalid=$(json_get "$f" 'r["steps"][0]["invalid"]')
  lost=$(json_get "$f" 'r["steps"][0]["lost"]')
  e2e_log "$name: interleaved $share % after warm-up, invalid $invalid, lost $lost;" \
    "T4-T3 p50/p99 basic $(json_get "$f" 'r["steps"][0]["t3_offset_ns"]["basic"]["p50"]')/$(json_get "$f" 'r["steps"][0]["t3_offset_ns"]["basic"]["p99"]') ns," \
    "interleaved $(json_get "$f" 'r["steps"][0]["t3_offset_ns"]["interleaved"]["p50"]')/$(json_get "$f" 'r["steps"][0]["t3_offset_ns"]["interleaved"]["p99"]') ns"
  [ "$invalid" -eq 0 ] || { cat "$E2E_DIR/$name.out" >&2; e2e_fail "$name: $invalid invalid answers"; }
  python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)" "$share" "$min" ||
    { cat "$E2E_DIR/$name.out" >&2; e2e_fail "$name: only $share % interleaved (want >= $min); ntsd: $(metrics | grep -E '^ntsd_(interleaved|tx_timestamps)' | tr '\n' ' ')"; }
}
steady ntp 99 --mode ntp
steady nts 99 --mode nts --ca "$PKI_CA" --sessions 16

# --- spoofed state: another client's entry as origin gets a basic answer
in_c ip addr add 192.0.2.3/24 dev "$IF_C"
before=$(sum ntsd_interleaved_basic_total 'reason="unknown"')
out=$(in_c python3 "$probe" "$S4" 123 spoof "$C4" 192.0.2.3) || e2e_fail "spoofed state: $out"
e2e_log "spoof: $out"
[ "$(sum ntsd_interleaved_basic_total 'reason="unknown"')" -gt "$before" ] || e2e_fail "spoofed request not counted as reason=unknown"

# --- eviction: a 16-entry table, 256 clients: basic answers, never invalid ones
kill -TERM "$NTSD_PID"
wait_for "! e2e_alive $NTSD_PID" 10 || e2e_fail "ntsd did not stop on SIGTERM"
sed -i 's/^local_stratum = 1$/local_stratum = 1\ninterleaved_table_size = 16/' "$NTSD_CONF"
e2e_spawn "ntsd-$MODE-small" "$NS_S" "$(e2e_bin ntsd)" --config "$NTSD_CONF"
NTSD_PID=$E2E_LAST_PID
if [ "$MODE" = socket ]; then up="in_s ss -lun | grep -q '$S4:123 '"; else up="in_c ping -c 1 -W 1 $S4"; fi
wait_for "$up" 20 || e2e_fail "ntsd with a 16-entry table did not come up"
grep -q "interleaved mode (RFC 9769): 16 entries per worker" "$E2E_DIR/ntsd-$MODE-small.log" || e2e_fail "table size not applied"
f=$E2E_DIR/evict.json
in_c "$NTSGEN" --server "$S4" --rate 2000 --duration 2 --drain 1 --sockets 256 --interleaved --quiet --mode ntp \
  --json "$f" >"$E2E_DIR/evict.out" 2>&1 || { cat "$E2E_DIR/evict.out" >&2; e2e_fail "ntsgen evict failed"; }
share=$(json_get "$f" 'r["steps"][0]["interleaved"]["share_pct"]')
invalid=$(json_get "$f" 'r["steps"][0]["invalid"]')
valid=$(json_get "$f" 'r["steps"][0]["valid"]')
evictions=$(sum ntsd_interleaved_evictions_total)
e2e_log "evict: 256 clients, 16 entries: $valid valid, $invalid invalid, interleaved $share %, $evictions evictions"
[ "$invalid" -eq 0 ] || { cat "$E2E_DIR/evict.out" >&2; e2e_fail "evict: $invalid invalid answers"; }
[ "$valid" -ge 3800 ] || e2e_fail "evict: only $valid valid answers"
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 50 else 1)" "$share" || e2e_fail "evict: $share % interleaved with 16 entries for 256 clients?"
[ "$evictions" -gt 0 ] || e2e_fail "evict: no evictions counted"

e2e_pass "$MODE: chrony xleave (4.3 NTS and plain, 4.6.1 NTS AEAD 30) interleaved and selected, ntsgen >= 99 % interleaved (NTP, NTS), spoofed origin answered basic, eviction gives basic answers"
