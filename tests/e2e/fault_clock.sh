#!/usr/bin/env bash
# e2e-timeout: 90
# The clock source is lost, then stepped, while ntsd serves (issue 15).
# ntsd reads a simulated PHC (clock = "sim:tai") whose control file
# (NTSD_TEST_SIM_PHC, docs/operations.md "Test seams") makes it unreadable or
# steps it by a second. Each time: leap 3 within one control-thread period
# (250 ms, measured from the fault to the first leap-3 answer of a probe that
# asks every 20 ms), a log line saying why, ntsd_clock_healthy 0 and the age
# of the last good read growing; normal answers again after the recovery.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init fault_clock
e2e_require_bin ntsd ntsd-ke
probe=$NTSD_SOURCE/tests/dataplane/ntp_probe.py
ns_pair
make_certs "$E2E_DIR/pki" ntsd.test "$S4" "$S6"
python3 "$NTSD_SOURCE/tests/e2e/leapfile.py" "$E2E_DIR/leap.list" 0 $(( $(date +%s) + 86400 * 100 ))
control=$E2E_DIR/phc-control
: >"$control"
export NTSD_TEST_SIM_PHC=$control
NTSD_TOML_SERVER=$(printf '%s\n' 'clock = "sim:tai"' "leap_seconds_file = \"$E2E_DIR/leap.list\"" 'max_clock_offset_ms = 100')
export NTSD_TOML_SERVER
rc=0
ntsd_stack_start socket || rc=$?
[ $rc -eq 0 ] || e2e_fail "ntsd stack did not start"
log=$E2E_DIR/ntsd-socket.log
grep -q "TEST SEAM: the simulated PHC obeys $control" "$log" || e2e_fail "control file not in use"
metric() { in_s curl -sf "http://127.0.0.1:9123/metrics" | awk -v n="$1" '$1 == n { print $2 }'; }

# fault NAME CONTENT REASON: write CONTENT to the control file while a probe
# asks every 20 ms; leap 3 must come within 0.5 s (one 250 ms period, plus
# the VM's scheduling), logged with REASON; then clear it and expect leap 0
# back within 0.5 s.
fault() {
  local name=$1 content=$2 reason=$3 trace=$E2E_DIR/trace-$1.txt
  in_c "$probe" "$S4" 123 trace 150 20 >"$trace" &
  local p=$!
  sleep 0.5
  local t_fault t_clear
  t_fault=$(date +%s.%N)
  echo "$content" >"$control"
  sleep 1.2
  [ "$(metric ntsd_clock_healthy)" = 0 ] || e2e_fail "$name: ntsd_clock_healthy is not 0"
  python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > 0.5 else 1)" "$(metric ntsd_clock_last_read_age_seconds)" ||
    [ "$name" != unreadable ] || e2e_fail "$name: last read age $(metric ntsd_clock_last_read_age_seconds) s does not grow"
  t_clear=$(date +%s.%N)
  : >"$control"
  wait "$p"
  python3 - "$trace" "$t_fault" "$t_clear" "$name" <<'PY' || e2e_fail "$name: leap 3 not within one period, or no recovery"
import sys
rows = [l.split() for l in open(sys.argv[1]) if l[0].isdigit()]
t_fault, t_clear, name = float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
pre = [r for r in rows if float(r[3]) < t_fault]
first3 = next((float(r[0]) for r in rows if float(r[0]) > t_fault and r[4] == "3"), None)
back = next((float(r[0]) for r in rows if float(r[0]) > t_clear and r[4] == "0"), None)
ok_pre = pre and all(r[4] == "0" and r[5] == "1" for r in pre)
during = [r for r in rows if first3 is not None and first3 <= float(r[0]) and float(r[3]) < t_clear]
ok_during = during and all(r[4] == "3" and r[5] == "16" for r in during)
print("%s: leap 3 %.3f s after the fault, %d answers with leap 3 / stratum 16 while it lasted, leap 0 again %.3f s after the recovery"
      % (name, (first3 or 99) - t_fault, len(during), (back or 99) - t_clear))
sys.exit(0 if ok_pre and first3 is not None and first3 - t_fault < 0.5 and ok_during and back is not None
         and back - t_clear < 0.5 else 1)
PY
  grep -Eq "$reason" "$log" || e2e_fail "$name: no log line /$reason/"
  e2e_log "$name: $(grep -E "$reason" "$log" | tail -1 | cut -c22-)"
}
fault unreadable unreadable "clock unhealthy, answering with leap=3 stratum 16: phc sim:tai unreadable: simulated PHC unreadable"
fault stepped step_ns=1000000000 "clock unhealthy, answering with leap=3 stratum 16: offset of phc sim:tai to the system clock is 100[0-9]{7} ns"
[ "$(metric ntsd_clock_unhealthy_transitions_total)" = 2 ] || e2e_fail "unhealthy transitions: $(metric ntsd_clock_unhealthy_transitions_total), want 2"
e2e_pass "clock source lost and stepped: leap 3 within one period, logged and in metrics, recovered"
