#!/usr/bin/env bash
# ntsgen against ntsd over net_memif (issue 6): ntsd's DPDK backend owns
# 198.18.0.2 on the server end of a memif pair, ntsgen (DPDK, memif client)
# resolves its MAC by ARP, runs NTS-KE with ntsd-ke on loopback, and
# fixed-rate NTS and NTP runs must report zero loss with every response valid.
# Bounded: three runs of 1 s. No namespaces: memif is a unix socket in the work dir.
#
# Teardown order matters: DPDK 22.11's net_memif unmaps its shared rings when
# the peer disconnects without waiting for its own datapath, so a poller left
# running when its peer goes away can fault inside rx_burst. Each run
# therefore gets its own ntsd, and ntsd (workers stopped first, then the
# port closed) is stopped while ntsgen lingers idle with the results written.
# Then ntsd must have exited cleanly, not by a signal.
set -euo pipefail
. "$(dirname "$0")/../e2e/lib.sh"
e2e_init ntsgenmemif
NTSGEN=$(e2e_bin ntsgen) || e2e_fail "ntsgen is not built"
NTSD=$(e2e_bin ntsd) || e2e_fail "ntsd is not built"
NTSD_KE=$(e2e_bin ntsd-ke) || e2e_fail "ntsd-ke is not built"

(cd "$E2E_DIR" &&
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout key.pem -out cert.pem 2>/dev/null)
ke_port=$((20000 + $$ % 20000))
cat >"$E2E_DIR/ntsd.toml" <<EOT
[server]
local_stratum = 1

[ke]
listen = ["127.0.0.1"]
port = $ke_port
cert = "$E2E_DIR/cert.pem"
key = "$E2E_DIR/key.pem"
threads = 1

[keys]
file = "$E2E_DIR/ntskeys"

[dataplane]
backend = "dpdk"
workers = 1
eal_args = ["-l", "0-1", "--main-lcore", "0", "--no-huge", "-m", "256", "--no-shconf", "--no-pci", "--no-telemetry", "--file-prefix=ntsgenmemif-s$$"]
ports = ["net_memif0,role=server,socket=$E2E_DIR/memif.sock"]
addresses = ["198.18.0.2"]

[metrics]
listen = ""
EOT
e2e_spawn ntsd-ke - "$NTSD_KE" --config "$E2E_DIR/ntsd.toml"
wait_for "[ -s $E2E_DIR/ntskeys ]" 10 || e2e_fail "ntsd-ke wrote no key file"
start_ntsd() {  # start_ntsd NAME: a fresh ntsd, log ntsd-NAME.log
  e2e_spawn "ntsd-$1" - "$NTSD" --config "$E2E_DIR/ntsd.toml"
  NTSD_PID=$E2E_LAST_PID
  wait_for "grep -q 'serving NTP/NTS' $E2E_DIR/ntsd-$1.log" 20 || e2e_fail "ntsd (DPDK) did not start"
}
stop_ntsd() {  # stop_ntsd NAME: SIGTERM, and it must exit 0 (no crash)
  local rc=0
  kill -TERM "$NTSD_PID"
  wait "$NTSD_PID" || rc=$?
  [ "$rc" -eq 0 ] || { tail -5 "$E2E_DIR/ntsd-$1.log" >&2; e2e_fail "ntsd exited with status $rc after the $1 run"; }
}

run() {  # run NAME ARGS...: a fixed-rate run that must have zero loss
  local name=$1 gen rc=0; shift
  start_ntsd "$name"
  "$NTSGEN" --transport dpdk --src-ip 198.18.0.1 --dst-ip 198.18.0.2 --clients 1024 \
    --eal "-l 0 --no-huge -m 256 --no-shconf --no-pci --no-telemetry --log-level=warning --file-prefix=ntsgenmemif-c$$ --vdev=net_memif0,role=client,socket=$E2E_DIR/memif.sock" \
    --rate 20000 --duration 1 --drain 0.5 --quiet --json "$E2E_DIR/$name.json" --linger 20 "$@" \
    >"$E2E_DIR/$name.out" 2>&1 &
  gen=$!
  wait_for "grep -q 'lingering' $E2E_DIR/$name.out || ! kill -0 $gen 2>/dev/null" 30 0.1
  stop_ntsd "$name"
  kill -TERM "$gen" 2>/dev/null || true
  wait "$gen" || rc=$?
  [ "$rc" -eq 0 ] || { cat "$E2E_DIR/$name.out" >&2; e2e_fail "ntsgen $name failed (status $rc)"; }
  ntsgen_zero_loss "$name" 19000
}

run nts --mode nts --ke "127.0.0.1:$ke_port" --ca "$E2E_DIR/cert.pem" --sessions 16 --placeholders 1
run ntp --mode ntp
# Sampled verification (docs/ntsgen.md): every answer matched and checked,
# exactly one request in 4 picked for the full verification, and with zero
# loss every picked one verified.
run nts_sampled --mode nts --ke "127.0.0.1:$ke_port" --ca "$E2E_DIR/cert.pem" --sessions 16 --verify-every 4
sent=$(json_get "$E2E_DIR/nts_sampled.json" 'r["steps"][0]["sent"]')
verified=$(json_get "$E2E_DIR/nts_sampled.json" 'r["steps"][0]["verified"]')
e2e_log "nts_sampled: $verified of $sent fully verified"
if [ "$verified" -lt $((sent / 4)) ] || [ "$verified" -gt $((sent / 4 + 1)) ]; then
  e2e_fail "nts_sampled: $verified fully verified of $sent sent, not one in 4"
fi
grep -q "fully verified $verified of $sent valid (one request in 4 picked" "$E2E_DIR/nts_sampled.out" ||
  { cat "$E2E_DIR/nts_sampled.out" >&2; e2e_fail "nts_sampled: no 'fully verified' line in the table"; }
e2e_pass "ntsgen against ntsd over net_memif: NTS, NTP and NTS --verify-every 4 at 20000/s, zero loss, all valid"
