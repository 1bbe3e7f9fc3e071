#!/usr/bin/env bash
# e2e-timeout: 120
# ntsd-ke's files go bad while it serves (issue 15).
#   1. The certificate replaced by garbage, then by an expired one, then by
#      a good new one: the bad ones are refused with the reason (log and
#      ntsd_ke_certificate_reload_errors_total), the old certificate goes on
#      serving (NTS-KE against the CA keeps working), the good one is taken;
#      a TLS connection established before all of it finishes its NTS-KE
#      exchange afterwards.
#   2. The key file's filesystem is full (a 64 KiB tmpfs, filled): a
#      rotation (SIGUSR1) fails loudly (log, ntsd_ke_key_rotation_errors_total),
#      the key file stays the whole previous one (no partial file, no temp
#      file left), NTS-KE goes on with the current keys, which ntsd opens;
#      once there is room, the rotation goes through by itself.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init fault_files
e2e_require_bin ntsd ntsd-ke
ns_pair
make_certs "$E2E_DIR/pki" ntsd.test "$S4" "$S6"
keys=$E2E_DIR/keys
mkdir -p "$keys"
mount -t tmpfs -o size=64k,mode=0700 tmpfs "$keys" || e2e_fail "cannot mount a tmpfs"
e2e_on_exit umount -l "$keys"

# A long exchange deadline, so that a connection can be held across reloads.
NTSD_TOML_KE=$(printf '%s\n' 'handshake_timeout_ms = 20000' 'first_byte_timeout_ms = 1000')
NTSD_TOML_KEYS='rotation_interval_s = 3600'
export NTSD_TOML_KE NTSD_TOML_KEYS
rc=0
ntsd_stack_start socket || rc=$?
[ $rc -eq 0 ] || e2e_fail "ntsd stack did not start"
# The stack's key file goes onto the tmpfs: restart both on it.
e2e_stop "$NTSD_PID"; e2e_stop "$NTSD_KE_PID"
sed -i "s|^file = .*|file = \"$keys/ntskeys\"|" "$NTSD_CONF"
e2e_spawn ntsd-ke "$NS_S" "$(e2e_bin ntsd-ke)" --config "$NTSD_CONF"
NTSD_KE_PID=$E2E_LAST_PID
wait_for "[ -s $keys/ntskeys ]" 10 || e2e_fail "ntsd-ke wrote no key file on the tmpfs"
e2e_spawn ntsd "$NS_S" "$(e2e_bin ntsd)" --config "$NTSD_CONF"
NTSD_PID=$E2E_LAST_PID
wait_for "in_s ss -lun | grep -q '$S4:123 '" 10 || e2e_fail "ntsd did not start"
wait_for "in_s ss -ltn | grep -q ':4460 '" 10 || e2e_fail "ntsd-ke did not start"
kelog=$E2E_DIR/ntsd-ke.log
kemetric() { in_s curl -sf "http://127.0.0.1:9124/metrics" | awk -v n="$1" '$1 == n { print $2 }'; }
query_ok() {  # query_ok WHAT: one NTS-KE + NTS exchange must work
  ntsd_client_query "$NS_C" ntsd.test "$PKI_CA" "$E2E_DIR/query.log" || e2e_fail "$1: NTS-KE + NTS failed: $NTSD_Q_NOTE"
}

# ---- 1. the certificate -------------------------------------------------------
# A held connection: TLS 1.3 done, the NTS-KE request sent only when told.
in_c python3 - "$S4" "$PKI_CA" "$E2E_DIR/go" >"$E2E_DIR/held.out" 2>&1 <<'PY' &
import os, socket, ssl, struct, sys, time
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.set_alpn_protocols(["ntske/1"])
ctx.check_hostname = False
s = ctx.wrap_socket(socket.create_connection((sys.argv[1], 4460), timeout=30))
print("held: TLS %s, ALPN %s" % (s.version(), s.selected_alpn_protocol()), flush=True)
while not os.path.exists(sys.argv[3]): time.sleep(0.1)
# Next Protocol NTPv4 (critical), AEAD 15 (critical), End of Message.
s.sendall(struct.pack("!HHH", 0x8001, 2, 0) + struct.pack("!HHH", 0x8004, 2, 15) + struct.pack("!HH", 0x8000, 0))
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk: break
    data += chunk
cookies, pos, eom = 0, 0, False
while pos + 4 <= len(data):
    t, n = struct.unpack("!HH", data[pos:pos + 4]); pos += 4 + n
    if t & 0x7fff == 5: cookies += 1
    if t & 0x7fff == 0: eom = True; break
print("response: %d cookies, end of message %s" % (cookies, eom), flush=True)
PY
held=$!
wait_for "grep -q '^held: TLS' $E2E_DIR/held.out" 10 || e2e_fail "the held connection did not come up: $(cat "$E2E_DIR/held.out")"

replace_cert() { cp "$1" "$PKI_CERT.new" && mv "$PKI_CERT.new" "$PKI_CERT"; }
cp "$PKI_CERT" "$E2E_DIR/good.pem"
errs=0
refused() {  # refused WHAT REASON: one more reload error, with REASON in the log
  errs=$((errs + 1))
  wait_for "[ \"\$(kemetric ntsd_ke_certificate_reload_errors_total)\" = $errs ]" 5 ||
    e2e_fail "$1: not refused (reload errors $(kemetric ntsd_ke_certificate_reload_errors_total))"
  grep -q "certificate reload failed, keeping the old one: .*$2" "$kelog" || e2e_fail "$1: no reason /$2/ in the log"
  query_ok "$1"
  e2e_log "$1: refused ($(grep -o "certificate reload failed.*$2.*" "$kelog" | tail -1 | cut -c1-150)); the old certificate serves"
}
head -c 600 /dev/urandom | base64 >"$E2E_DIR/garbage.pem"
replace_cert "$E2E_DIR/garbage.pem"
refused "garbage certificate" "PEM"

# An expired certificate for the same key, from the same CA (openssl ca can backdate).
(
  cd "$E2E_DIR/pki"
  : >index.txt
  echo 1000 >serial
  printf '[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\ndefault_md = sha256\npolicy = p\ncopy_extensions = copy\n[p]\ncommonName = supplied\n' >ca.cnf
  openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in server.csr -extfile server.ext -notext \
    -startdate 20250101000000Z -enddate 20250102000000Z -out expired.crt 2>/dev/null
  cat expired.crt ca.pem >expired.pem
) || e2e_fail "could not make an expired certificate"
replace_cert "$E2E_DIR/pki/expired.pem"
refused "expired certificate" "expired (notAfter Jan  2 00:00:00 2025 GMT)"

replace_cert "$E2E_DIR/good.pem"
wait_for "[ \"\$(kemetric ntsd_ke_certificate_reloads_total)\" = 1 ]" 5 || e2e_fail "the good certificate was not taken"
query_ok "good certificate again"
touch "$E2E_DIR/go"
wait "$held" || true
grep -q "^response: 8 cookies, end of message True" "$E2E_DIR/held.out" ||
  e2e_fail "the connection held across the reloads did not complete: $(cat "$E2E_DIR/held.out")"
e2e_log "held connection: $(tail -1 "$E2E_DIR/held.out") after three reloads"

# ---- 2. the key file's filesystem is full ---------------------------------------
before=$(sha256sum <"$keys/ntskeys")
dd if=/dev/zero of="$keys/filler" bs=1k count=1024 2>/dev/null || true  # until ENOSPC
lines=$(wc -l <"$kelog")
kill -USR1 "$NTSD_KE_PID"
wait_for "[ \"\$(kemetric ntsd_ke_key_rotation_errors_total)\" -ge 1 ]" 5 ||
  e2e_fail "a rotation onto a full disk did not fail visibly (rotation errors $(kemetric ntsd_ke_key_rotation_errors_total))"
tail -n +"$((lines + 1))" "$kelog" | grep -Eq "No space left on device" || e2e_fail "no ENOSPC reason in ntsd-ke's log"
e2e_log "full disk: $(tail -n +"$((lines + 1))" "$kelog" | grep -E 'No space' | head -1 | cut -c22-180)"
sleep 2  # ntsd-ke retries every tick: still failing
[ "$(sha256sum <"$keys/ntskeys")" = "$before" ] || e2e_fail "the key file changed on a full disk"
[ "$(find "$keys" -name '*.tmp*' | wc -l)" = 0 ] || e2e_fail "a temporary key file was left: $(ls "$keys")"
query_ok "full disk"
grep -q "NTS-KE: ok" "$E2E_DIR/query.log" && grep -q "^NTP: ok" "$E2E_DIR/query.log" || e2e_fail "full disk: $NTSD_Q_NOTE"
e2e_log "full disk: key file unchanged, no partial file, NTS-KE and NTS still work ($NTSD_Q_NOTE)"
rm -f "$keys/filler"
wait_for "[ \"\$(sha256sum <$keys/ntskeys)\" != \"$before\" ]" 5 || e2e_fail "the rotation did not go through once there was room"
wait_for "grep -q 'key ring generation 2' '$E2E_DIR/ntsd.log'" 5 || e2e_fail "ntsd did not load the rotated keys"
query_ok "after the disk has room again"
e2e_pass "bad and expired certificates refused while the old one serves (held connection untouched); full disk: rotation fails loudly, keys kept, retried when there is room"
