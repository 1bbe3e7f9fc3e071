#!/usr/bin/env bash
# Proves the e2e library's ntpsec launchers and parsers on real peers, in both
# directions across a namespace pair:
#   ntpsec 1.2 NTS client -> chrony 4.3 NTS server
#   chrony 4.3 NTS client -> ntpsec 1.2 NTS server
# ntpsec verifies the certificate against the dialled name (OpenSSL
# SSL_set1_host, no IP SAN match), so the clients dial a name that the
# namespace's own /etc/hosts resolves (ns_hosts).
# e2e-timeout: 90
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init peers_nc
e2e_require_peers
ns_pair
make_certs "$E2E_DIR/pki" nts-srv.test "$S4" "$S6"

# Direction 1: chrony serves, ntpsec asks.
chrony_nts_server "$NS_S" "$PKI_CERT" "$PKI_KEY"; csrv=$E2E_INST
wait_for "in_s ss -ltn | grep -q ':4460 '" 10 || e2e_fail "chrony NTS-KE server did not listen"
ntpsec_nts_client "$NS_C" nts-srv.test "$PKI_CA"; ncli=$E2E_INST
wait_for "ntpsec_ntske_ok $ncli 8" 15 || e2e_fail "ntpsec client: no NTS-KE with 8 cookies, AEAD 15"
wait_for "ntpsec_peer_ok $ncli 2" 25 || e2e_fail "ntpsec client: no authenticated, reachable updates"
auth=$(chronyc_in "$csrv" serverstats | awk -F: '/Authenticated NTP packets/ { print $2 + 0 }')
[ "$auth" -ge 2 ] || e2e_fail "chrony server counted only $auth authenticated packets"
e2e_log "ntpsec -> chrony ok: offset $(ntpsec_offset "$ncli") s, chrony saw $auth authenticated packets"
e2e_stop "$(cat "$ncli/pid")"
e2e_stop "$(cat "$csrv/pid")"

# Direction 2: ntpsec serves, chrony asks.
ntpsec_nts_server "$NS_S" "$PKI_CERT" "$PKI_KEY"; nsrv=$E2E_INST
wait_for "in_s ss -ltn | grep -q ':4460 '" 10 || e2e_fail "ntpsec NTS-KE server did not listen"
chrony_nts_client "$NS_C" nts-srv.test "$PKI_CA"; ccli=$E2E_INST
wait_for "chrony_authdata_ok $ccli 8" 15 || e2e_fail "chrony client: no NTS-KE with 8 cookies, AEAD 15"
wait_for "chrony_got_samples $ccli 3" 20 || e2e_fail "chrony client: no authenticated responses from ntpsec"
e2e_log "chrony -> ntpsec ok: $(chronyc_in "$ccli" -N authdata | tail -1)"
e2e_pass "ntpsec <-> chrony NTS in both directions"
