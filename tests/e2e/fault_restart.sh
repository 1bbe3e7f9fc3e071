#!/usr/bin/env bash
# e2e-timeout: 120
# Processes die and come back while clients query (issue 15).
#   1. ntsd-ke killed (SIGKILL) and restarted under an NTS load: ntsd answers
#      every valid request (0 lost, 0 NAK); chrony, whose cookies came from
#      the ntsd-ke before the restart, keeps getting authenticated answers
#      without a new NTS-KE and without a NAK; an NTS-KE attempted during the
#      outage gets a clean connection refusal, and one after the restart
#      succeeds end to end (its cookies open in ntsd).
#   2. ntsd killed (SIGKILL) and restarted: ntsd-ke goes on issuing cookies
#      while it is down, and chrony's queries succeed again within one poll
#      (0.25 s here, minpoll -2) of ntsd's return, with the cookies it had.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init fault_restart
e2e_require_peers
e2e_require_bin ntsd ntsd-ke ntsgen
ns_pair
make_certs "$E2E_DIR/pki" ntsd.test "$S4" "$S6"
rc=0
ntsd_stack_start socket || rc=$?
[ $rc -eq 0 ] || e2e_fail "ntsd stack did not start"
metric() { in_s curl -sf "http://127.0.0.1:9123/metrics" | awk -v n="$1" '$1 == n { print $2 }'; }
valid_rx() { chronyc_in "$cli" ntpdata 2>/dev/null | awk -F: '/^Total valid RX/ { gsub(/ /, "", $2); print $2 }'; }
# authdata: how many NTS-KE sessions chrony made (KeyID), and its NAKs.
authdata() { chronyc_in "$cli" -N authdata 2>/dev/null | awk 'NR > 2 { print "key-establishments=" $3, "NAKs=" $8 }'; }

chrony_nts_client "$NS_C" ntsd.test "$PKI_CA"
cli=$E2E_INST
wait_for "chrony_got_samples $cli 4" 20 || e2e_fail "chrony got no NTS samples"
before_auth=$(authdata)
# The current key as ntsd last loaded it ("key ring generation N ...: K keys, current ID").
current_key() { grep -o 'keys, current [0-9A-F]*' "$E2E_DIR/ntsd-socket.log" | tail -1; }
key=$(current_key)

# ---- 1. ntsd-ke dies -----------------------------------------------------------
in_c "$(e2e_bin ntsgen)" --server ntsd.test --mode nts --ca "$PKI_CA" --sessions 8 --rate 1000 --duration 8 \
  --drain 1 --quiet --json "$E2E_DIR/load.json" >"$E2E_DIR/load.out" 2>&1 &
load=$!
sleep 2
kill -KILL "$NTSD_KE_PID"
wait "$NTSD_KE_PID" 2>/dev/null || true
t0=$SECONDS
q=$E2E_DIR/query-down.log
ntsd_client_query "$NS_C" ntsd.test "$PKI_CA" "$q" || true
[ $((SECONDS - t0)) -le 3 ] || e2e_fail "an NTS-KE during the outage took $((SECONDS - t0)) s, not a prompt refusal"
grep -qi "refused" "$q" || e2e_fail "NTS-KE during the outage: want a connection refusal, got: $(cat "$q")"
e2e_log "NTS-KE while ntsd-ke is down: $(grep -i refused "$q" | head -1)"
sleep 1
e2e_spawn ntsd-ke-again "$NS_S" "$(e2e_bin ntsd-ke)" --config "$NTSD_CONF"
NTSD_KE_PID=$E2E_LAST_PID
wait_for "in_s ss -ltn | grep -q ':4460 '" 10 || e2e_fail "ntsd-ke did not come back"
ntsd_client_query "$NS_C" ntsd.test "$PKI_CA" "$E2E_DIR/query-up.log" ||
  e2e_fail "NTS-KE + NTS after ntsd-ke's restart failed: $NTSD_Q_NOTE"
e2e_log "after ntsd-ke's restart: $NTSD_Q_NOTE"
wait "$load" || { cat "$E2E_DIR/load.out" >&2; e2e_fail "ntsgen failed"; }
ntsgen_zero_loss load 7500
[ "$(json_get "$E2E_DIR/load.json" 'r["steps"][0]["nak"]')" = 0 ] || e2e_fail "NAKs during ntsd-ke's restart"
[ "$(current_key)" = "$key" ] || e2e_fail "ntsd-ke's restart changed the current key ($key -> $(current_key))"
rx=$(valid_rx)
wait_for "[ \$(valid_rx) -ge $((rx + 4)) ]" 5 || e2e_fail "chrony stopped getting answers after ntsd-ke's restart"
[ "$(authdata)" = "$before_auth" ] || e2e_fail "chrony's NTS-KE/NAK counts changed: $before_auth -> $(authdata)"
e2e_log "ntsd-ke restart: the load lost nothing, chrony's cookies from before still open ($(authdata))"

# ---- 2. ntsd dies ----------------------------------------------------------------
kill -KILL "$NTSD_PID"
wait "$NTSD_PID" 2>/dev/null || true
ntsd_client_query "$NS_C" ntsd.test "$PKI_CA" "$E2E_DIR/query-ntsd-down.log" || true
[ "$NTSD_Q_KE" = ok ] || e2e_fail "ntsd-ke did not issue cookies while ntsd was down: $NTSD_Q_NOTE"
[ "$NTSD_Q_NTP" = FAIL ] || e2e_fail "an NTP answer came while ntsd was down?"
e2e_log "while ntsd is down, NTS-KE still works: $(grep '^NTS-KE' "$E2E_DIR/query-ntsd-down.log")"
sleep 1
rx=$(valid_rx)
e2e_spawn ntsd-again "$NS_S" "$(e2e_bin ntsd)" --config "$NTSD_CONF"
NTSD_PID=$E2E_LAST_PID
wait_for "in_s ss -lun | grep -q '$S4:123 '" 10 || e2e_fail "ntsd did not come back"
t_up=$(date +%s.%N)
wait_for "[ \$(valid_rx) -gt $rx ]" 5 0.05 || e2e_fail "chrony got no answer after ntsd's restart"
t_ok=$(date +%s.%N)
dt=$(python3 -c "print('%.3f' % ($t_ok - $t_up))")
python3 -c "import sys; sys.exit(0 if $dt < 1.0 else 1)" || e2e_fail "chrony's first answer came $dt s after ntsd's return"
[ "$(authdata)" = "$before_auth" ] || e2e_fail "chrony needed a new NTS-KE after ntsd's restart: $before_auth -> $(authdata)"
e2e_pass "ntsd-ke and ntsd killed and restarted: 0 lost, prompt KE refusal, cookies from before still open, chrony answered $dt s after ntsd's return"
