#!/usr/bin/env bash
# e2e-timeout: 150
# The ntsd NTS-KE client (ntsd-query) completes NTS-KE and one NTS-protected
# NTP exchange against chrony 4.3's and ntpsec 1.2's servers (issue 4), and
# finds out which cookie layout chrony uses: a cookie chrony issued is opened
# with chrony's own key file (ntsdumpdir/ntskeys) by crypto::open_cookie and,
# for comparison, with AD = ["", nonce] (see docs/keys.md). With Debian 13's
# chrony 4.6.1 (issue 13): AEAD 30 with record 1024, and its own key file
# (NKS1, AES-128-GCM-SIV master keys it generated) opens its cookies.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init ke_cli_peers
e2e_require_peers
e2e_require_bin ntsd-query
probe=$NTSD_BUILD/tests/ke_cookie_probe
[ -x "$probe" ] || e2e_fail "$probe is not built (it is part of every build with tests)"
ns_pair
make_certs "$E2E_DIR/pki" ntsd.test "$S4" "$S6"

query() { in_c "$(e2e_bin ntsd-query)" "$@" --ca "$PKI_CA" --timeout 3000; }

# --- chrony
chrony_nts_server "$NS_S" "$PKI_CERT" "$PKI_KEY"
srv=$E2E_INST
wait_for "in_s ss -ltn | grep -q ':4460 '" 10 || e2e_fail "chrony NTS-KE is not listening"
out=$(wait_for 10 query ntsd.test; query ntsd.test) || e2e_fail "query against chrony failed: $out"
e2e_log "chrony: $out"
grep -q "NTS-KE: ok, AEAD 15, 8 cookies of 100 bytes" <<<"$out" || e2e_fail "chrony KE: $out"
grep -q "NTP: ok, stratum 1" <<<"$out" || e2e_fail "chrony NTP: $out"
out6=$(query "[$S6]" --ke-only) || e2e_fail "query over IPv6: $out6"
in_c "$probe" fetch ntsd.test:4460 "$PKI_CA" "$E2E_DIR/chrony.cookies" >/dev/null ||
  e2e_fail "cookie fetch from chrony failed"
layout=$("$probe" layout "$srv/nts/ntskeys" "$E2E_DIR/chrony.cookies" || true)
e2e_log "chrony cookie layout: $(tr '\n' ';' <<<"$layout")"
grep -q "^layout:" <<<"$layout" || e2e_fail "chrony's cookies open with neither AD layout: $layout"
# ntsd's own cookie code (default CookieAd) must open every cookie chrony
# issued, and recover from each the keys this client exported: the probe
# prints "opened N/N with crypto::open_cookie (keys match N)". All three
# counts must be the same N; "(keys match 0)" means the cookies opened to
# the wrong keys (issue 20, item 6.8).
grep -Eq "^opened ([1-9][0-9]*)/\1 with crypto::open_cookie \(keys match \1\)$" <<<"$layout" ||
  e2e_fail "ntsd's cookie code does not open chrony's cookies to the exported keys: $layout"
e2e_stop "$(cat "$srv/pid")"

# --- chrony 4.6.1 (Debian 13), when unpacked (scripts/setup)
if [ -x "$TRIXIE/usr/sbin/chronyd" ]; then
  e2e_require_trixie
  CHRONY=4.6 chrony_nts_server "$NS_S" "$PKI_CERT" "$PKI_KEY"
  srv46=$E2E_INST
  wait_for "in_s ss -ltn | grep -q ':4460 '" 10 || e2e_fail "chrony 4.6.1 NTS-KE is not listening"
  out=$(wait_for 10 query ntsd.test --aead 30,15; query ntsd.test --aead 30,15) || e2e_fail "query against chrony 4.6.1 failed: $out"
  e2e_log "chrony 4.6.1: $out"
  grep -q "NTS-KE: ok, AEAD 30 (compliant exporter context, record 1024), 8 cookies of 64 bytes" <<<"$out" ||
    e2e_fail "chrony 4.6.1 KE: $out"
  grep -q "NTP: ok, stratum 1" <<<"$out" || e2e_fail "chrony 4.6.1 NTP: $out"
  in_c "$probe" fetch ntsd.test:4460 "$PKI_CA" "$E2E_DIR/chrony46.cookies" 30,15 >/dev/null ||
    e2e_fail "cookie fetch from chrony 4.6.1 failed"
  head -n 1 "$srv46/nts/ntskeys" | grep -qx NKS1 || e2e_fail "chrony 4.6.1 wrote no NKS1 key file"
  opened=$("$probe" open "$srv46/nts/ntskeys" "$E2E_DIR/chrony46.cookies") ||
    e2e_fail "chrony 4.6.1's cookies do not open with its own key file: $opened"
  e2e_log "chrony 4.6.1 key file ($(awk 'NR > 2 { print $3 }' "$srv46/nts/ntskeys" | sort -u | tr '\n' ' ')): $opened"
  e2e_stop "$(cat "$srv46/pid")"
fi

# --- ntpsec
ntpsec_nts_server "$NS_S" "$PKI_CERT" "$PKI_KEY"
wait_for "in_s ss -ltn | grep -q ':4460 '" 15 || e2e_fail "ntpsec NTS-KE is not listening"
out=$(wait_for 15 query ntsd.test; query ntsd.test) || e2e_fail "query against ntpsec failed: $out"
e2e_log "ntpsec: $out"
grep -q "NTS-KE: ok, AEAD 15, 8 cookies" <<<"$out" || e2e_fail "ntpsec KE: $out"
grep -q "NTP: ok" <<<"$out" || e2e_fail "ntpsec NTP: $out"
e2e_pass "ntsd client completed NTS-KE + NTS NTP with chrony and ntpsec; $(grep '^layout' <<<"$layout" | head -1)"
