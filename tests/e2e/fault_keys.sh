#!/usr/bin/env bash
# e2e-timeout: 120
# The key file goes bad while ntsd serves NTS (issue 15): replaced by garbage,
# truncated, emptied, deleted, made unreadable. Each time ntsd keeps the key
# ring it has (an NTS load running through all of it loses nothing and gets
# no NAK), counts the failure (ntsd_key_reload_errors_total) and logs it with
# the reason; the good file put back is picked up (a new key-ring
# generation). ntsd runs under tests/tools/unit_sandbox without
# CAP_DAC_OVERRIDE, as the shipped unit has it, so that "unreadable" means
# unreadable to it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init fault_keys
e2e_require_bin ntsd ntsd-ke ntsgen
sandbox=$NTSD_BUILD/tests/unit_sandbox
[ -x "$sandbox" ] || e2e_fail "$sandbox is not built"
ns_pair
make_certs "$E2E_DIR/pki" ntsd.test "$S4" "$S6"
rc=0
ntsd_stack_start socket || rc=$?
[ $rc -eq 0 ] || e2e_fail "ntsd stack did not start"
keys=$NTSD_DIR/ntskeys
cp "$keys" "$E2E_DIR/good-keys"

# ntsd again, without the capabilities that would let root read anything.
printf '[Service]\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE\n' >"$E2E_DIR/nodac.service"
e2e_stop "$NTSD_PID"
e2e_spawn ntsd "$NS_S" "$sandbox" "$E2E_DIR/nodac.service" -- "$(e2e_bin ntsd)" --config "$NTSD_CONF"
NTSD_PID=$E2E_LAST_PID
wait_for "in_s ss -lun | grep -q '$S4:123 '" 10 || e2e_fail "ntsd did not restart"
log=$E2E_DIR/ntsd.log

metric() { in_s curl -sf "http://127.0.0.1:9123/metrics" | awk -v n="$1" '$1 == n { print $2 }'; }
wait_for "[ \"\$(metric ntsd_keyring_generation)\" = 1 ]" 5 || e2e_fail "no key ring loaded"

# NTS load through everything below: 1000 requests/s for 14 s.
in_c "$(e2e_bin ntsgen)" --server ntsd.test --mode nts --ca "$PKI_CA" --sessions 8 --rate 1000 --duration 14 \
  --drain 1 --quiet --json "$E2E_DIR/load.json" >"$E2E_DIR/load.out" 2>&1 &
load=$!
sleep 2

errors=0 gen=1
# fault NAME REASON_REGEX CMD...: break the file with CMD, expect one more
# reload error logged with REASON, then put the good file back atomically
# (or run RESTORE if set) and expect a new generation.
fault() {
  local name=$1 reason=$2; shift 2
  local lines
  lines=$(wc -l <"$log")
  "$@"
  errors=$((errors + 1))
  wait_for "[ \"\$(metric ntsd_key_reload_errors_total)\" = $errors ]" 3 ||
    e2e_fail "$name: ntsd_key_reload_errors_total = $(metric ntsd_key_reload_errors_total), want $errors"
  tail -n +"$((lines + 1))" "$log" | grep -Eq "$reason" ||
    e2e_fail "$name: no log line with the reason /$reason/: $(tail -n +"$((lines + 1))" "$log")"
  e2e_log "$name: kept the key ring; $(tail -n +"$((lines + 1))" "$log" | grep -E "$reason" | head -1 | cut -c22-)"
  if [ -n "${RESTORE:-}" ]; then $RESTORE; else cp "$E2E_DIR/good-keys" "$keys.tmp" && mv "$keys.tmp" "$keys"; fi
  gen=$((gen + 1))
  wait_for "[ \"\$(metric ntsd_keyring_generation)\" = $gen ]" 3 ||
    e2e_fail "$name: the good file was not picked up (generation $(metric ntsd_keyring_generation), want $gen)"
  sleep 0.5
}
garbage() { head -c 300 /dev/urandom | base64 >"$keys.tmp" && mv "$keys.tmp" "$keys"; }
fault garbage "not loaded, keeping the previous key ring" garbage
fault truncated "not loaded, keeping the previous key ring" truncate -s "$(( $(stat -c %s "$keys") / 2 ))" "$keys"
fault emptied "not loaded, keeping the previous key ring" truncate -s 0 "$keys"
fault deleted "No such file or directory \(keeping the key ring loaded before\)" rm -f "$keys"
RESTORE="chmod 600 $keys" fault unreadable "Permission denied" chmod 000 "$keys"

wait "$load" || { cat "$E2E_DIR/load.out" >&2; e2e_fail "ntsgen failed"; }
ntsgen_zero_loss load 13000
nak=$(json_get "$E2E_DIR/load.json" 'r["steps"][0]["nak"]')
[ "$nak" = 0 ] || e2e_fail "$nak NTS NAKs during the key-file faults"
e2e_pass "garbage, truncated, empty, deleted and unreadable key files: ring kept, counted, logged, good file picked up; NTS load lost nothing"
