#!/usr/bin/env bash
# e2e-timeout: 120
# chrony 4.3 and ntpsec 1.2 as NTS clients complete NTS-KE against ntsd-ke
# (issue 4): both get 8 cookies and AEAD 15. ntsd-ke runs alone (no
# responder), so their NTP requests go unanswered; only NTS-KE is checked.
#   evidence: ntsd-ke --verbose logs "NTS-KE completed: AEAD 15, 8 cookies"
#   per session; chronyc -N authdata shows mode NTS, KeyID >= 1, AEAD 15;
#   ntpsec logs "NTSc: Got 8 cookies ... aead=15".
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init ke_peer_cli
e2e_require_peers
e2e_require_bin ntsd-ke
ns_pair
make_certs "$E2E_DIR/pki" ntsd.test "$S4" "$S6"

e2e_spawn ntsd-ke "$NS_S" "$(e2e_bin ntsd-ke)" --cert "$PKI_CERT" --key "$PKI_KEY" \
  --listen "$S4" --listen "$S6" --keys-file "$E2E_DIR/ntskeys" --threads 2 --verbose
ke_pid=$E2E_LAST_PID
wait_for "in_s ss -ltn | grep -q ':4460 '" 10 || e2e_fail "ntsd-ke is not listening"

chrony_nts_client "$NS_C" ntsd.test "$PKI_CA"
chr=$E2E_INST
ntpsec_nts_client "$NS_C" ntsd.test "$PKI_CA"
ntp=$E2E_INST

wait_for "chrony_authdata_ok $chr 1" 30 || e2e_fail "chrony did not complete NTS-KE with ntsd-ke"
e2e_log "chrony: $(chronyc_in "$chr" -N authdata | tail -1)"
wait_for "ntpsec_ntske_ok $ntp 8" 40 || e2e_fail "ntpsec did not get 8 cookies with AEAD 15"
e2e_log "ntpsec: $(grep -m1 'NTSc: Got' "$ntp/ntpd.log")"
n=$(grep -c "NTS-KE completed: AEAD 15, 8 cookies" "$E2E_DIR/ntsd-ke.log" || true)
[ "$n" -ge 2 ] || e2e_fail "ntsd-ke logged $n sessions with AEAD 15 and 8 cookies, want >= 2"
e2e_alive "$ke_pid" || e2e_fail "ntsd-ke died"
e2e_pass "chrony and ntpsec completed NTS-KE against ntsd-ke ($n sessions, AEAD 15, 8 cookies)"
