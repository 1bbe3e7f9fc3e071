#!/usr/bin/env bash
# Debian 13's chrony 4.6.1 and ntsd with AEAD 30 (AES-128-GCM-SIV, RFC 8452):
#  1. chrony 4.6.1 as the NTS client of ntsd (socket backend): it offers
#     "30 15" with record 1024, ntsd picks 30 in the client's order and
#     echoes 1024 (compliant exporter context, id 30), hands out 64-byte
#     cookies sealed with its AES-128-GCM-SIV master key, and answers the
#     AEAD-30 NTP requests without a single NAK. A chrony 4.3 client at the
#     same time gets AEAD 15 with 96-byte cookies under the same master key.
#  2. ntsd's client against chrony 4.6.1 as the server: `ntsgen query
#     --aead 30` negotiates AEAD 30 with the compliant context and gets an
#     authenticated answer with a 64-byte cookie.
# Peers: build/peers/trixie (scripts/setup), run through trixie's own loader.
# e2e-timeout: 120
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init chrony46_ntsd
e2e_require_peers
e2e_require_trixie
e2e_require_bin ntsd-ke ntsd
NAME=nts46.test
ns_pair
make_certs "$E2E_DIR/pki" "$NAME" "$S4" "$S6"

# 1. chrony 4.6.1 (and 4.3) -> ntsd.
ntsd_stack_start socket || e2e_fail "ntsd did not start"
grep -q ' 30 current ' "$NTSD_DIR/ntskeys" || e2e_fail "master keys are not AES-128-GCM-SIV: $(cat "$NTSD_DIR/ntskeys")"
CHRONY=4.6 chrony_nts_client "$NS_C" "$NAME" "$PKI_CA"; c46=$E2E_INST
chrony_nts_client "$NS_C" "$NAME" "$PKI_CA"; c43=$E2E_INST
wait_for "chrony_authdata_ok $c46 8 30" 15 0.2 ||
  e2e_fail "chrony 4.6.1: no AEAD-30 NTS-KE: $(chronyc_in "$c46" -N authdata | tail -1)"
read -r aead clen <<<"$(chrony_aead "$c46")"
[ "$clen" = 64 ] || e2e_fail "chrony 4.6.1: cookies of $clen bytes, want 64 (AEAD 30 under a GCM-SIV master key)"
wait_for "chrony_got_samples $c46 5" 20 || e2e_fail "chrony 4.6.1: no valid AEAD-30 NTS responses"
wait_for "chrony_authdata_ok $c43 8 15" 15 0.2 || e2e_fail "chrony 4.3: no NTS-KE"
read -r aead43 clen43 <<<"$(chrony_aead "$c43")"
[ "$clen43" = 96 ] || e2e_fail "chrony 4.3: cookies of $clen43 bytes, want 96 (AEAD 15 under a GCM-SIV master key)"
wait_for "chrony_got_samples $c43 5" 20 || e2e_fail "chrony 4.3: no valid NTS responses"
for d in "$c46" "$c43"; do
  chronyc_in "$d" -N authdata | awk '$2 == "NTS" && $8 != 0 { exit 1 }' ||
    e2e_fail "NTS NAKs: $(chronyc_in "$d" -N authdata | tail -1)"
done
e2e_log "chrony 4.6.1: AEAD $aead, cookies $clen bytes, $(chronyc_in "$c46" ntpdata | grep 'Total valid RX' | tr -s ' ')"
e2e_log "chrony 4.3:   AEAD $aead43, cookies $clen43 bytes"
for pid in "${E2E_PIDS[@]}"; do e2e_stop "$pid"; done
E2E_PIDS=() E2E_LABELS=()

# 2. ntsd's client -> chrony 4.6.1.
CHRONY=4.6 chrony_nts_server "$NS_S" "$PKI_CERT" "$PKI_KEY"
wait_for "in_s ss -ltn | grep -q ':4460 '" 10 || e2e_fail "chrony 4.6.1 NTS-KE did not listen"
sleep 1
NTSD_Q_WANT_AEAD=30 ntsd_client_query "$NS_C" "$NAME" "$PKI_CA" "$E2E_DIR/query.log" --aead 30,15 ||
  e2e_fail "ntsd client -> chrony 4.6.1: $(cat "$E2E_DIR/query.log")"
grep -q 'compliant exporter context' "$E2E_DIR/query.log" ||
  e2e_fail "chrony 4.6.1 did not echo record 1024: $(cat "$E2E_DIR/query.log")"
grep -q 'new cookie(s) of 64 bytes' "$E2E_DIR/query.log" ||
  e2e_fail "chrony 4.6.1's new cookie is not 64 bytes: $(cat "$E2E_DIR/query.log")"
e2e_log "$NTSD_Q_NOTE"
e2e_pass "chrony 4.6.1 and ntsd use AEAD 30 in both directions (64-byte cookies, compliant exporter context)"
