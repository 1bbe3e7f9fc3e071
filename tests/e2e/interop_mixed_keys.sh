#!/usr/bin/env bash
# Mixed-key interop: ntsd and chrony 4.3 share one set of cookie master keys
# in chrony's key-file format (ntsdumpdir/ntskeys; chrony with "ntsrotate 0"
# loads it instead of making its own). ntsd-ke writes the file in chrony's
# format, so that:
#   A. a cookie issued by chrony's NTS-KE is accepted by ntsd's responder
#      (chrony announces ntsd's address with "ntsntpserver"), and
#   B. a cookie issued by ntsd-ke is accepted by chrony's NTP server
#      (ntsd-ke announces chrony's address in the NTPv4 Server record).
# RFC 8915 section 6 leaves the cookie format to the server; sharing works
# because both use chrony's layout (key id, nonce, AEAD(C2S||S2C)).
#
# MIXED_CHRONY=4.6 (interop_mixed_keys_chrony46.sh) runs Debian 13's chrony
# 4.6.1 on both sides instead, with AES-128-GCM-SIV master keys ([keys] aead
# = 30): the file is chrony 4.4's NKS1 (each key names its algorithm), the
# cookies have a 12-byte nonce, and the clients' sessions are AEAD 30.
# e2e-timeout: 120
set -euo pipefail
. "$(dirname "$0")/lib.sh"
MIXED_CHRONY=${MIXED_CHRONY:-4.3}
e2e_init "mixed_keys${MIXED_CHRONY/4.3/}"
e2e_require_peers
[ "$MIXED_CHRONY" = 4.6 ] && e2e_require_trixie
e2e_require_bin ntsd-ke ntsd
export CHRONY=$MIXED_CHRONY
MASTER_AEAD=15 SESSION_AEAD=15
[ "$MIXED_CHRONY" = 4.6 ] && MASTER_AEAD=30 SESSION_AEAD=30
ns_pair
N4=192.0.2.3                              # ntsd's NTS-KE and NTP address
in_s ip addr add "$N4/24" dev "$IF_S"
make_certs "$E2E_DIR/pki" chrony.mixed.test "$S4" "$N4"
# Second name in the same certificate for ntsd's side.
(
  cd "$E2E_DIR/pki"
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:chrony.mixed.test,DNS:ntsd.mixed.test,IP:%s,IP:%s\n' "$S4" "$N4" >server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -sha256 \
    -extfile server.ext -out server.crt 2>/dev/null
  cat server.crt ca.pem >server.pem
)
ns_hosts ntsd.mixed.test "$N4"
keys=$E2E_DIR/shared
mkdir -p "$keys"
chmod 0700 "$keys"

# ntsd-ke: the key owner. It writes $keys/ntskeys in chrony's format.
cat >"$E2E_DIR/ntsd.toml" <<EOT
[server]
local_stratum = 1

[ke]
listen = ["$N4"]
cert = "$PKI_CERT"
key = "$PKI_KEY"
threads = 1
ntp_server = "$S4"

[keys]
file = "$keys/ntskeys"
format = "chrony"
previous = 2
aead = $MASTER_AEAD

[dataplane]
backend = "socket"
workers = 1
listen = ["$N4:123"]

[metrics]
listen = "127.0.0.1:9123"
EOT
e2e_spawn ntsd-ke "$NS_S" "$(e2e_bin ntsd-ke)" --config "$E2E_DIR/ntsd.toml"
wait_for "[ -s $keys/ntskeys ]" 10 || e2e_fail "ntsd-ke did not write $keys/ntskeys"
e2e_log "shared key file: $(head -n 1 "$keys/ntskeys"), $(($(wc -l <"$keys/ntskeys") - 2)) keys"
if [ "$MASTER_AEAD" = 30 ]; then
  [ "$(head -n 1 "$keys/ntskeys")" = NKS1 ] && awk 'NR > 2 && $3 != 30 { exit 1 }' "$keys/ntskeys" ||
    e2e_fail "the key file is not NKS1 with AEAD-30 keys: $(cat "$keys/ntskeys")"
fi
e2e_spawn ntsd "$NS_S" "$(e2e_bin ntsd)" --config "$E2E_DIR/ntsd.toml"
wait_for "in_s ss -lun | grep -q '$N4:123 '" 10 || e2e_fail "ntsd did not listen on $N4:123"

# chrony: NTS-KE and NTP on $S4 only, keys loaded from the shared file.
chrony_nts_server "$NS_S" "$PKI_CERT" "$PKI_KEY" "$keys" \
  "ntsrotate 0" "bindaddress $S4" "ntsntpserver $N4"; csrv=$E2E_INST
wait_for "in_s ss -ltn | grep -q '$S4:4460 '" 10 || e2e_fail "chrony NTS-KE did not listen on $S4"

ntsd_metric() {  # ntsd_metric REGEX: sum of matching samples
  in_s curl -s --max-time 2 http://127.0.0.1:9123/metrics | awk -v re="$1" '$1 ~ re { s += $NF } END { print s + 0 }'
}
chrony_stat() {  # chrony_stat INST FIELD: a number from chronyc serverstats
  chronyc_in "$1" serverstats | awk -F: -v f="$2" '$1 ~ f { print $2 + 0 }'
}

# A: NTS-KE with chrony, NTP with ntsd.
chrony_nts_client "$NS_C" chrony.mixed.test "$PKI_CA"; ca=$E2E_INST
fails=()
wait_for "chrony_authdata_ok $ca 1 $SESSION_AEAD" 15 0.2 || fails+=("A: no AEAD-$SESSION_AEAD NTS-KE with chrony")
if ! wait_for "chrony_got_samples $ca 4" 20; then
  fails+=("A: ntsd did not accept the cookies chrony's NTS-KE issued (ntsd: $(ntsd_metric 'reason="ok_nts"') ok_nts, $(ntsd_metric 'reason="cookie_bad"') cookie_bad, $(ntsd_metric 'reason="cookie_unknown_key"') cookie_unknown_key)")
elif ! chronyc_in "$ca" ntpdata | grep -q "Remote address  : $N4"; then
  fails+=("A: client did not use ntsd at $N4")
else
  e2e_log "A ok: chrony NTS-KE -> ntsd NTP: $(chronyc_in "$ca" ntpdata | grep 'Total valid RX')"
fi

# B: NTS-KE with ntsd-ke, NTP with chrony.
before=$(chrony_stat "$csrv" "Authenticated NTP packets")
chrony_nts_client "$NS_C" ntsd.mixed.test "$PKI_CA"; cb=$E2E_INST
wait_for "chrony_authdata_ok $cb 1 $SESSION_AEAD" 15 0.2 || fails+=("B: no AEAD-$SESSION_AEAD NTS-KE with ntsd-ke")
if ! wait_for "chrony_got_samples $cb 4" 20; then
  fails+=("B: chrony did not accept the cookies ntsd-ke issued (chrony: $(chrony_stat "$csrv" "NTP packets received") NTP packets, $(chrony_stat "$csrv" "Authenticated NTP packets") authenticated)")
elif ! chronyc_in "$cb" ntpdata | grep -q "Remote address  : $S4"; then
  fails+=("B: client did not use chrony at $S4")
else
  after=$(chrony_stat "$csrv" "Authenticated NTP packets")
  if [ "$after" -gt "$before" ]; then
    e2e_log "B ok: ntsd-ke NTS-KE -> chrony NTP ($((after - before)) authenticated packets at chrony)"
  else
    fails+=("B: chrony counted no authenticated packets")
  fi
fi
[ ${#fails[@]} -eq 0 ] || e2e_fail "$(printf '%s; ' "${fails[@]}")"

# Neither side answered with NTS NAKs (RFC 8915 section 5.7) along the way.
for d in "$ca" "$cb"; do
  chronyc_in "$d" -N authdata | awk '$2 == "NTS" && $8 != 0 { exit 1 }' || e2e_fail "NAKs seen: $(chronyc_in "$d" -N authdata | tail -1)"
done
e2e_pass "cookies cross between chrony $MIXED_CHRONY and ntsd in both directions with one shared key file (master keys AEAD $MASTER_AEAD, sessions AEAD $SESSION_AEAD, cookies $(chrony_aead "$ca" | cut -d' ' -f2) bytes)"
