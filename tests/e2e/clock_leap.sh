#!/usr/bin/env bash
# e2e-timeout: 170
# A real leap second, end to end (issue 18). ntsd serves a simulated PHC
# (clock = "sim:tai": a PHC on TAI that runs through the leap without a step,
# docs/operations.md "Test seams") and takes TAI - UTC from a test leap-second
# file whose next leap (23:59:60) is half a minute ahead. Clients keep their
# own clocks, which do no leap, so after it ntsd's UTC is 1 s behind theirs.
#   1. PHC on TAI, with chrony 4.3 as an NTS client and a plain-NTP trace:
#      LI 1 in the last day before the leap (ntsd's metric, chrony's ntpdata
#      "Insert second", its measurements log "+"), 0 after; T2 and T3 follow
#      UTC: the server's time steps back exactly once, by one second, at the
#      leap; chrony never sees an offset step larger than the leap, and
#      (having seen it announced) inserts the leap itself: offset 0 after.
#   2. The same leap with a PHC on UTC (clock = "sim:utc", which repeats
#      23:59:59 itself): the same trace, and no "stepped" in ntsd's log.
#   3. An expired leap-second file: a warning with the date and
#      ntsd_leap_file_expired 1, and the service goes on.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init clock_leap
e2e_require_peers
e2e_require_bin ntsd ntsd-ke
probe=$NTSD_SOURCE/tests/dataplane/ntp_probe.py
leapfile=$NTSD_SOURCE/tests/e2e/leapfile.py
ns_pair
make_certs "$E2E_DIR/pki" ntsd.test "$S4" "$S6"

metric() { in_s curl -sf "http://127.0.0.1:9123/metrics" | awk -v n="$1" '$1 == n { print $2 }'; }

# restart_ntsd LABEL SERVER_LINES...: a new ntsd (log ntsd-LABEL.log) with
# these extra [server] lines.
restart_ntsd() {
  local label=$1; shift
  e2e_stop "$NTSD_PID"
  NTSD_TOML_SERVER=$(printf '%s\n' "$@") ntsd_write_config "$NTSD_DIR" socket
  e2e_spawn "ntsd-$label" "$NS_S" "$(e2e_bin ntsd)" --config "$NTSD_CONF"
  NTSD_PID=$E2E_LAST_PID
  wait_for "in_s ss -lun | grep -q '$S4:123 '" 10 || e2e_fail "ntsd did not restart ($*)"
  wait_for "[ \"\$(metric ntsd_clock_healthy)\" = 1 ]" 10 || e2e_fail "ntsd not healthy after restart ($*)"
}

# check_trace FILE LEAP: the server's UTC against the client's clock in a
# plain-NTP trace across the leap: offset 0 before, -1 s after, one step
# back of a second at the leap and no other jump, LI 1 before and 0 after.
check_trace() {
  python3 - "$1" "$2" <<'PY' || e2e_fail "trace across the leap is wrong (see above)"
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l[0].isdigit()]
leap = float(sys.argv[2])
before, after, bad = [], [], []
steps = 0
prev = None
# A loaded machine may delay one probe or packet by some ms; what must never
# happen is an error near a second, or a step anywhere but at the leap. So:
# medians within 2 ms, every exchange within 100 ms, jumps counted above 0.1 s.
for r in rows:
    t1, t2, t3, t4 = map(float, r[:4]); li = int(r[4]); st = int(r[5])
    off = ((t2 - t1) + (t3 - t4)) / 2
    if t4 < leap - 0.2:           # the whole exchange before the leap (client clock)
        before.append(off)
        if abs(off) > 0.1 or li != 1: bad.append("before: off %.6f li %d" % (off, li))
    elif t1 > leap + 1.5:         # after 23:59:60 ends (at leap + 1 s here; LI is re-judged every 250 ms)
        after.append(off)
        if abs(off + 1) > 0.1 or li != 0: bad.append("after: off %.6f li %d" % (off, li))
    if st != 1: bad.append("stratum %d" % st)
    if prev is not None:
        d = (t2 - prev[1]) - (t1 - prev[0])   # server time advance minus client time advance
        if abs(d + 1) < 0.1: steps += 1
        elif abs(d) > 0.1: bad.append("jump %.6f s at t1 %.3f" % (d, t1))
    prev = (t1, t2)
mb = statistics.median(before) if before else 9
ma = statistics.median(after) if after else 9
print("exchanges before the leap %d (median offset %.6f s), after %d (median %.6f s), one-second steps back %d, "
      "problems %d" % (len(before), mb, len(after), ma, steps, len(bad)))
for b in bad[:10]: print("  " + b)
sys.exit(0 if len(before) >= 10 and len(after) >= 10 and abs(mb) < 0.002 and abs(ma + 1) < 0.002 and steps == 1
         and not bad else 1)
PY
}

# ---- 1. PHC on TAI, chrony as the NTS client -------------------------------
leap=$(( $(date +%s) + 32 ))
python3 "$leapfile" "$E2E_DIR/leap.list" "$leap"
NTSD_TOML_SERVER=$(printf '%s\n' 'clock = "sim:tai"' "leap_seconds_file = \"$E2E_DIR/leap.list\"" 'max_clock_offset_ms = 0')
export NTSD_TOML_SERVER
rc=0
ntsd_stack_start socket || rc=$?
[ $rc -eq 0 ] || e2e_fail "ntsd stack did not start"
unset NTSD_TOML_SERVER
grep -q "phc sim:tai (tai)" "$E2E_DIR/ntsd-socket.log" || e2e_fail "ntsd does not say it serves the TAI PHC"
grep -q "TEST SEAM" "$E2E_DIR/ntsd-socket.log" || e2e_fail "the simulated PHC is not flagged as a test seam"
[ "$(metric ntsd_leap_indicator)" = 1 ] || e2e_fail "leap indicator $(metric ntsd_leap_indicator) in the last day before a leap, want 1"
[ "$(metric ntsd_tai_offset_seconds)" = 37 ] || e2e_fail "TAI-UTC $(metric ntsd_tai_offset_seconds), want 37"
[ "$(metric ntsd_next_leap_timestamp_seconds)" = "$leap" ] || e2e_fail "next leap $(metric ntsd_next_leap_timestamp_seconds), want $leap"

chrony_nts_client "$NS_C" ntsd.test "$PKI_CA"
cli=$E2E_INST
wait_for "chrony_got_samples $cli 4" 20 || e2e_fail "chrony got no NTS samples from ntsd"
chronyc_in "$cli" ntpdata | grep -q "^Leap status *: Insert second" ||
  e2e_fail "chrony does not see the leap announced: $(chronyc_in "$cli" ntpdata | grep Leap)"
e2e_log "chrony sees 'Leap status: Insert second' from ntsd; leap at $(date -u -d @"$leap" +%T) UTC"

now=$(date +%s)
in_c "$probe" "$S4" 123 trace $(( (leap - now + 8) * 10 )) 100 >"$E2E_DIR/trace-tai.txt"
check_trace "$E2E_DIR/trace-tai.txt" "$leap"
[ "$(metric ntsd_leap_indicator)" = 0 ] || e2e_fail "leap indicator not cleared after the leap"
[ "$(metric ntsd_tai_offset_seconds)" = 38 ] || e2e_fail "TAI-UTC after the leap $(metric ntsd_tai_offset_seconds), want 38"

# chrony's measurements (theta, column 12): "+" (insert announced) at offset
# 0 before the leap; chrony 4.3 then inserts the leap second into its own
# timescale (it saw it announced), so after it the offset is 0 again and the
# source is "N". Nothing in between is off by more than the leap itself.
python3 - "$cli/measurements.log" "$leap" <<'PY' || e2e_fail "chrony's measurements across the leap are wrong"
import sys
rows = []
for l in open(sys.argv[1]):
    f = l.split()
    if len(f) < 12 or not f[0][0].isdigit(): continue
    rows.append((f[3], float(f[11])))
plus = [r for r in rows if r[0] == "+" and abs(r[1]) < 0.005]
last = rows[-8:]
after_ok = len(last) == 8 and all(r[0] == "N" and abs(r[1]) < 0.05 for r in last)
jumps = [abs(b[1] - a[1]) for a, b in zip(rows, rows[1:])]
worst = max(jumps) if jumps else 0
print("chrony: %d measurements, %d with leap '+' at offset 0, last 8 at 'N' and offset 0: %s, largest offset %.6f s, "
      "largest step %.6f s" % (len(rows), len(plus), after_ok, max(abs(r[1]) for r in rows), worst))
sys.exit(0 if len(plus) >= 5 and after_ok and worst < 1.05 and all(abs(r[1]) < 1.05 for r in rows) else 1)
PY
e2e_log "PHC on TAI: LI 1 then 0, one 1 s step back at the leap in T2/T3; chrony followed the leap, no larger step"

# ---- 2. PHC on UTC ----------------------------------------------------------
leap=$(( $(date +%s) + 14 ))
python3 "$leapfile" "$E2E_DIR/leap2.list" "$leap"
restart_ntsd simutc 'clock = "sim:utc"' "leap_seconds_file = \"$E2E_DIR/leap2.list\"" 'max_clock_offset_ms = 0'
now=$(date +%s)
in_c "$probe" "$S4" 123 trace $(( (leap - now + 6) * 10 )) 100 >"$E2E_DIR/trace-utc.txt"
check_trace "$E2E_DIR/trace-utc.txt" "$leap"
if grep -q "stepped by" "$E2E_DIR/ntsd-simutc.log"; then e2e_fail "the UTC PHC's repeated second was taken for a step"; fi
e2e_log "PHC on UTC: the same trace, and the repeated second was no step to the TSC fit"

# ---- 3. An expired leap-second file -----------------------------------------
python3 "$leapfile" "$E2E_DIR/expired.list" 0 $(( $(date +%s) - 86400 * 3 ))
restart_ntsd expired 'clock = "system"' "leap_seconds_file = \"$E2E_DIR/expired.list\""
grep -q "WARNING: leap-second file .*expired on $(date -u -d @$(( $(date +%s) - 86400 * 3 )) +%F)" "$E2E_DIR/ntsd-expired.log" ||
  e2e_fail "no expiry warning with the date in ntsd's log"
[ "$(metric ntsd_leap_file_expired)" = 1 ] || e2e_fail "ntsd_leap_file_expired is not 1"
out=$(in_c "$probe" "$S4" 123 plain 5) || e2e_fail "no service with an expired leap file: $out"
grep -q "leap=0 stratum=1" <<<"$out" || e2e_fail "expired file: want leap 0 stratum 1, got $out"
e2e_log "expired leap file: warned with its date, metric set, service continues ($out)"
e2e_pass "leap second on a TAI and a UTC PHC, expired leap file"
