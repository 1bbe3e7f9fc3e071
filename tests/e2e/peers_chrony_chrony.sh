#!/usr/bin/env bash
# Proves the e2e library on real peers: a chrony 4.3 NTS client reaches NTS
# sync with a chrony 4.3 NTS server across a namespace pair (RFC 8915: NTS-KE
# over TLS 1.3 gives 8 cookies for AEAD 15, then authenticated NTP), over
# IPv4 and IPv6.
# e2e-timeout: 90
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init peers_cc
e2e_require_peers
ns_pair
make_certs "$E2E_DIR/pki" chrony-srv.test "$S4" "$S6"

chrony_nts_server "$NS_S" "$PKI_CERT" "$PKI_KEY"; srv=$E2E_INST
wait_for "in_s ss -ltn | grep -q ':4460 '" 10 || e2e_fail "chrony NTS-KE server did not listen"

chrony_nts_client "$NS_C" chrony-srv.test "$PKI_CA"; cli4=$E2E_INST
# The IPv6 client dials the bare address: chrony (GnuTLS) matches it against
# the certificate's IP SAN, so no name is needed (ntpsec does need one).
chrony_nts_client "$NS_C" "$S6" "$PKI_CA"; cli6=$E2E_INST

wait_for "chrony_authdata_ok $cli4 8" 20 || e2e_fail "IPv4: no NTS-KE with 8 cookies and AEAD 15"
wait_for "chrony_got_samples $cli4 4" 20 || e2e_fail "IPv4: no authenticated NTP responses"
wait_for "chrony_selected $cli4" 20 || e2e_fail "IPv4: chrony did not select the NTS source"
e2e_log "IPv4: $(chronyc_in "$cli4" -N authdata | tail -1)"
wait_for "chrony_authdata_ok $cli6 8" 20 || e2e_fail "IPv6: no NTS-KE with 8 cookies and AEAD 15"
wait_for "chrony_got_samples $cli6 4" 20 || e2e_fail "IPv6: no authenticated NTP responses"
chronyc_in "$cli6" ntpdata | grep -q "Remote address  : $S6" || e2e_fail "IPv6 client did not use $S6"
chronyc_in "$cli4" ntpdata | grep -q '^Authenticated   : Yes' || e2e_fail "responses not authenticated"

# The server side agrees: it counted NTS-KE sessions and authenticated packets.
stats=$(chronyc_in "$srv" serverstats)
ke=$(awk -F: '/NTS-KE connections accepted/ { print $2 + 0 }' <<<"$stats")
auth=$(awk -F: '/Authenticated NTP packets/ { print $2 + 0 }' <<<"$stats")
[ "$ke" -ge 2 ] && [ "$auth" -ge 8 ] || e2e_fail "server counted $ke NTS-KE sessions, $auth authenticated packets"
e2e_pass "chrony <-> chrony NTS over IPv4 and IPv6 (server: $ke KE sessions, $auth authenticated packets, offset $(chrony_offset "$cli4") s)"
