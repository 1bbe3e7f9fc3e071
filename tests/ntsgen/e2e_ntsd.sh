#!/usr/bin/env bash
# ntsgen against ntsd itself (issue 6): ntsd-ke and ntsd (kernel-socket
# backend) in one namespace, ntsgen in the other. ntsgen does NTS-KE with
# ntsd-ke, then fixed-rate NTS (with a placeholder, so that ntsd issues two
# cookies per request) and plain NTP runs must come back with zero loss and
# every response valid; and the NTS run again with AEAD 30 sessions
# (`--aead 30,15`: AES-128-GCM-SIV, 12-byte nonces, 64-byte cookies).
# Bounded: three runs of 1 s.
# (The same run over net_memif needs ntsd's DPDK backend; see docs/ntsgen.md.)
set -euo pipefail
. "$(dirname "$0")/../e2e/lib.sh"
e2e_init ntsgenntsd
NTSGEN=$(e2e_bin ntsgen) || e2e_fail "ntsgen is not built"
NTSD=$(e2e_bin ntsd) || e2e_fail "ntsd is not built"
NTSD_KE=$(e2e_bin ntsd-ke) || e2e_fail "ntsd-ke is not built"

ns_pair
make_certs "$E2E_DIR/pki" ntsgen.test "$S4" "$S6"
mkdir -p "$E2E_DIR/keys"
chmod 0700 "$E2E_DIR/keys"
cat >"$E2E_DIR/ntsd.toml" <<EOT
[server]
local_stratum = 1

[ke]
listen = ["$S4"]
cert = "$PKI_CERT"
key = "$PKI_KEY"
threads = 1

[keys]
file = "$E2E_DIR/keys/ntskeys"

[dataplane]
backend = "socket"
workers = 1
listen = ["$S4:123"]

[metrics]
listen = ""
EOT
e2e_spawn ntsd-ke "$NS_S" "$NTSD_KE" --config "$E2E_DIR/ntsd.toml"
wait_for "[ -s $E2E_DIR/keys/ntskeys ]" 10 || e2e_fail "ntsd-ke wrote no key file"
e2e_spawn ntsd "$NS_S" "$NTSD" --config "$E2E_DIR/ntsd.toml"
wait_for "in_s ss -lun | grep -q '$S4:123 '" 10 || e2e_fail "ntsd did not listen on $S4:123"
wait_for "in_s ss -ltn | grep -q ':4460 '" 10 || e2e_fail "ntsd-ke did not listen on 4460"

run() {  # run NAME ARGS...: a fixed-rate run that must have zero loss
  local name=$1; shift   # (RUN_QUIET= keeps ntsgen's stderr lines, e.g. the AEADs)
  in_c "$NTSGEN" --server ntsgen.test --rate 2000 --duration 1 --drain 1 ${RUN_QUIET---quiet} \
    --json "$E2E_DIR/$name.json" "$@" >"$E2E_DIR/$name.out" 2>&1 ||
    { cat "$E2E_DIR/$name.out" >&2; e2e_fail "ntsgen $name failed"; }
  ntsgen_zero_loss "$name" 1900
}

run nts --mode nts --ca "$PKI_CA" --sessions 16 --placeholders 1
RUN_QUIET= run nts30 --mode nts --ca "$PKI_CA" --sessions 16 --placeholders 1 --aead 30,15
grep -q 'sessions by AEAD: AEAD 30: 16$' "$E2E_DIR/nts30.out" ||
  { cat "$E2E_DIR/nts30.out" >&2; e2e_fail "ntsgen --aead 30,15: not all 16 sessions negotiated AEAD 30"; }
run ntp --mode ntp
e2e_pass "ntsgen against ntsd: NTS (AEAD 15 and 30) and NTP at 2000/s, zero loss, all valid"
