#!/usr/bin/env bash
# Debian 13's ntpd-rs 1.4 and ntsd:
#  1. ntpd-rs as the NTS client of ntsd (socket backend): NTS-KE completes
#     (ntpd-rs 1.4 offers AES-SIV only: it picks AEAD 17 or 15), it holds 8
#     cookies and measures ntsd's NTS responses.
#  2. ntsd's client against ntpd-rs as the NTS server (no sources, local
#     stratum 1): NTS-KE and one authenticated exchange.
# ntpd-rs runs as root (it refuses to start if it may not steer the clock)
# with noclock.so preloaded (tests/peers/noclock.c), which turns every clock
# adjustment into a read: the test checks that ntpd-rs did try, and that the
# machine's clock state (tests/peers/clock_state.c) did not change.
# e2e-timeout: 120
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init ntpdrs_ntsd
e2e_require_peers
e2e_require_trixie
e2e_require_bin ntsd-ke ntsd
NAME=ntsrs.test
ns_pair
make_certs "$E2E_DIR/pki" "$NAME" "$S4" "$S6"
before=$(clock_state) || e2e_fail "cannot read the clock state"

# 1. ntpd-rs -> ntsd.
ntsd_stack_start socket || e2e_fail "ntsd did not start"
ntpdrs_nts_client "$NS_C" "$NAME" "$PKI_CA"; rs=$E2E_INST
wait_for "ntpdrs_nts_ok $rs" 15 0.5 || e2e_fail "ntpd-rs: no NTS-KE with ntsd: $(ntpdrs_status "$rs" 2>&1 | tr '\n' ' ')"
wait_for "ntpdrs_samples_ok $rs" 20 0.5 || e2e_fail "ntpd-rs: no NTS measurements: $(ntpdrs_status "$rs" 2>&1 | tr '\n' ' ')"
aead=$(ntpdrs_aead "$rs")
case $aead in 15|17) ;; *) e2e_fail "ntpd-rs negotiated AEAD '$aead'" ;; esac
sleep 4  # a few more polls (every 2 s)
status=$(ntpdrs_status "$rs")
grep -q 'NTS cookies: 8/8' <<<"$status" || e2e_fail "ntpd-rs does not hold 8 cookies: $status"
e2e_log "ntpd-rs -> ntsd: AEAD $aead; $(grep -E '\[NTS\]|cookies' <<<"$status" | tr -s ' ' | tr '\n' ' ')"
grep -q 'noclock: .* turned into a read' "$E2E_DIR/$(basename "$rs").log" ||
  e2e_fail "ntpd-rs never tried to adjust the clock: is the shim loaded?"
for pid in "${E2E_PIDS[@]}"; do e2e_stop "$pid"; done
E2E_PIDS=() E2E_LABELS=()

# 2. ntsd's client -> ntpd-rs.
ntpdrs_nts_server "$NS_S" "$PKI_CERT" "$PKI_KEY"; rsrv=$E2E_INST
wait_for "in_s ss -ltn | grep -q ':4460 '" 10 || e2e_fail "ntpd-rs NTS-KE did not listen"
NTSD_Q_WANT_AEAD='[0-9]+' ntsd_client_query "$NS_C" "$NAME" "$PKI_CA" "$E2E_DIR/query.log" --aead 30,15,17 ||
  e2e_fail "ntsd client -> ntpd-rs: $(cat "$E2E_DIR/query.log")"
e2e_log "ntsd client -> ntpd-rs: $NTSD_Q_NOTE"
for pid in "${E2E_PIDS[@]}"; do e2e_stop "$pid"; done
E2E_PIDS=() E2E_LABELS=()

after=$(clock_state)
# status, frequency and offset must be what they were (tick too).
[ "${before% state=*}" = "${after% state=*}" ] ||
  e2e_fail "the machine's clock state changed: before '$before', after '$after'"
e2e_pass "ntpd-rs 1.4 and ntsd interoperate in both directions (AEAD $aead); clock untouched ($after)"
