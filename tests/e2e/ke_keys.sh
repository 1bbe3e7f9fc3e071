#!/usr/bin/env bash
# e2e-timeout: 120
# Master keys of ntsd-ke (issue 4): rotation, restart, chrony's key format.
#  1. Cookies issued by ntsd-ke open with the key file (crypto::open_cookie
#     on ntsd::keys::load_ring), and still open after two rotations.
#  2. After a restart (with rotations missed while stopped) the same cookies
#     still open, and new ones do too.
#  3. Restarted on a fresh file with --keys-format chrony, ntsd-ke writes chrony's NKS0 file
#     (mode 0600); chrony 4.3 loads it (ntsrotate 0) and the cookies chrony's
#     NTS-KE then issues open with the master keys of that file.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init ke_keys
e2e_require_peers
e2e_require_bin ntsd-ke
probe=$NTSD_BUILD/tests/ke_cookie_probe
[ -x "$probe" ] || e2e_skip "$probe is not built"
ns_pair
make_certs "$E2E_DIR/pki" ntsd.test "$S4" "$S6"
mkdir -p "$E2E_DIR/keys"
keys=$E2E_DIR/keys/ntskeys

start_ke() {
  e2e_spawn "ntsd-ke-$1" "$NS_S" "$(e2e_bin ntsd-ke)" --cert "$PKI_CERT" --key "$PKI_KEY" \
    --listen "$S4" --keys-file "$keys" --threads 1 --rotation-interval 2 "${@:2}"
  ke_pid=$E2E_LAST_PID
  wait_for "in_s ss -ltn | grep -q ':4460 '" 10 || e2e_fail "ntsd-ke ($1) is not listening"
}
fetch() { in_c "$probe" fetch ntsd.test:4460 "$PKI_CA" "$E2E_DIR/$1" >/dev/null || e2e_fail "NTS-KE fetch $1 failed"; }
current_id() { awk '$4 == "current" { print $1 }' "$keys"; }

start_ke 1
[ "$(stat -c %a "$keys")" = 600 ] || e2e_fail "key file mode is $(stat -c %a "$keys")"
fetch a.cookies
"$probe" open "$keys" "$E2E_DIR/a.cookies" >/dev/null || e2e_fail "fresh cookies do not open with the key file"
id0=$(current_id)
sleep 4.5
id1=$(current_id)
[ "$id0" != "$id1" ] || e2e_fail "no rotation in 4.5 s with a 2 s interval"
out=$("$probe" open "$keys" "$E2E_DIR/a.cookies") || e2e_fail "cookies lost after rotation: $out"
e2e_log "rotated $id0 -> $id1, old cookies: $out"

e2e_stop "$ke_pid"
sleep 2.5  # at least one rotation is missed while stopped
start_ke 2
out=$("$probe" open "$keys" "$E2E_DIR/a.cookies") || e2e_fail "cookies lost across restart: $out"
e2e_log "after restart ($(current_id)): $out"
fetch b.cookies
"$probe" open "$keys" "$E2E_DIR/b.cookies" >/dev/null || e2e_fail "new cookies do not open after restart"
e2e_stop "$ke_pid"

# chrony format, shared with chrony 4.3. A fresh key set: the keys above are
# AES-128-GCM-SIV (the default of ntsd's own format), which chrony 4.3 can
# neither read (NKS1) nor open; chrony's format defaults to AES-SIV keys
# (docs/keys.md, "The master keys' algorithm").
rm -f "$keys"
start_ke 3 --keys-format chrony
head -1 "$keys" | grep -qx NKS0 || e2e_fail "not chrony's format: $(head -1 "$keys")"
[ "$(stat -c %a "$keys")" = 600 ] || e2e_fail "chrony key file mode is $(stat -c %a "$keys")"
fetch c.cookies
"$probe" open "$keys" "$E2E_DIR/c.cookies" >/dev/null || e2e_fail "cookies do not open with the chrony-format file"
e2e_stop "$ke_pid"
cp "$keys" "$E2E_DIR/keys.shared"
chrony_nts_server "$NS_S" "$PKI_CERT" "$PKI_KEY" "$E2E_DIR/keys" "ntsrotate 0"
wait_for "in_s ss -ltn | grep -q ':4460 '" 10 || e2e_fail "chrony NTS-KE is not listening"
# chrony would generate random keys if it could not load the file, so
# cookies opening with the copy below prove it loaded ntsd-ke's keys.
fetch d.cookies
out=$("$probe" layout "$E2E_DIR/keys.shared" "$E2E_DIR/d.cookies") ||
  e2e_fail "chrony's cookies do not open with the keys ntsd-ke wrote: $out"
e2e_log "chrony with ntsd-ke's key file: $(tr '\n' ';' <<<"$out")"
e2e_pass "rotation, restart and chrony key sharing keep cookies valid"
