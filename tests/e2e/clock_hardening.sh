#!/usr/bin/env bash
# e2e-timeout: 60
# The shipped unit lets ntsd read the clock and never set it (issue 18).
# systemd is not PID 1 on the test machines, so tests/tools/unit_sandbox
# applies packaging/systemd/ntsd.service's confinement itself: its
# SystemCallFilter deny list through seccomp (EPERM) and its
# CapabilityBoundingSet (no CAP_SYS_TIME).
#   1. The probe's clock calls unconfined: every setter gets EINVAL (its
#      arguments are invalid on purpose, so the host clock is never changed).
#   2. Under the unit: adjtimex still reads; adjtimex/clock_settime/
#      settimeofday writes get EPERM.
#   3. ntsd under the unit, clock = "system", leap = "auto", no local_stratum:
#      it starts, reads the kernel's state (its metrics match what adjtimex
#      says here) and answers accordingly.
#   4. The previous unit's ProtectClock=yes: ntsd refuses to start and says
#      that it cannot read the kernel's clock state.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init clock_hardening
e2e_require_bin ntsd
sandbox=$NTSD_BUILD/tests/unit_sandbox
[ -x "$sandbox" ] || e2e_fail "$sandbox is not built (libseccomp-dev and libcap-dev from scripts/setup)"
unit=$NTSD_SOURCE/packaging/systemd/ntsd.service
probe=$NTSD_SOURCE/tests/dataplane/ntp_probe.py
grep -q '^ProtectClock' "$unit" && e2e_fail "ntsd.service sets ProtectClock, which denies reading adjtimex"
grep -q '^CapabilityBoundingSet=.*CAP_SYS_TIME' "$unit" && e2e_fail "ntsd.service keeps CAP_SYS_TIME"

want() { grep -qx "$1" <<<"$2" || e2e_fail "$3: want '$1' in: $(tr '\n' ';' <<<"$2")"; }
out=$("$sandbox" --probe)
for call in "adjtimex write" clock_settime settimeofday; do want "$call: EINVAL" "$out" "unconfined"; done
want "adjtimex read: ok" "$out" "unconfined"
out=$("$sandbox" "$unit" -- "$sandbox" --probe)
want "adjtimex read: ok" "$out" "under ntsd.service"
for call in "adjtimex write" clock_settime settimeofday; do want "$call: EPERM" "$out" "under ntsd.service"; done
e2e_log "under ntsd.service: $(tr '\n' ';' <<<"$out")"

ns_pair
make_certs "$E2E_DIR/pki" ntsd.test "$S4" "$S6"
_e2e_new_inst conf
ntsd_write_config "$E2E_INST" socket
sed -i '/^local_stratum = 1$/d' "$NTSD_CONF"
e2e_spawn ntsd-unit "$NS_S" "$sandbox" "$unit" -- "$(e2e_bin ntsd)" --config "$NTSD_CONF"
NTSD_PID=$E2E_LAST_PID
wait_for "! e2e_alive $NTSD_PID || in_s ss -lun | grep -q '$S4:123 '" 10 || true
e2e_alive "$NTSD_PID" || e2e_fail "ntsd did not start under ntsd.service's confinement"
kernel=$(python3 - <<'PY'
import ctypes, ctypes.util
class Timex(ctypes.Structure):
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("pad", ctypes.c_byte * 200)]
t = Timex()
rc = ctypes.CDLL(ctypes.util.find_library("c")).adjtimex(ctypes.byref(t))
print(1 if rc == 5 or t.status & 0x40 else 0)
PY
)
metric() { in_s curl -sf "http://127.0.0.1:9123/metrics" | awk -v n="$1" '$1 == n { print $2 }'; }
wait_for "[ -n \"\$(metric ntsd_clock_kernel_unsynchronised)\" ]" 5 || e2e_fail "no metrics from ntsd"
[ "$(metric ntsd_clock_kernel_unsynchronised)" = "$kernel" ] ||
  e2e_fail "ntsd read kernel unsynchronised = $(metric ntsd_clock_kernel_unsynchronised), adjtimex here says $kernel"
ans=$(in_c "$probe" "$S4" 123 trace 1 0 | awk '{ print $5, $6 }')
if [ "$kernel" = 1 ]; then [ "$ans" = "3 16" ] || e2e_fail "unsynchronised kernel: want leap 3 stratum 16, got $ans"
else [[ $ans =~ ^[012]\ 1$ ]] || e2e_fail "synchronised kernel: want stratum 1, got $ans"; fi
e2e_log "ntsd under ntsd.service read the kernel's state (unsynchronised = $kernel) and answers 'leap stratum' = $ans"
e2e_stop "$NTSD_PID"

printf '[Service]\nProtectClock=yes\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE\n' >"$E2E_DIR/old.service"
if out=$(in_s timeout 10 "$sandbox" "$E2E_DIR/old.service" -- "$(e2e_bin ntsd)" --config "$NTSD_CONF" 2>&1); then
  e2e_fail "ntsd started under ProtectClock=yes"
fi
grep -q "cannot read the kernel's clock state (adjtimex failed: Operation not permitted)" <<<"$out" ||
  e2e_fail "under ProtectClock=yes: unclear error: $out"
e2e_log "ProtectClock=yes: $(tail -1 <<<"$out")"
e2e_pass "ntsd reads the kernel's clock state under the shipped unit, which denies every clock write"
