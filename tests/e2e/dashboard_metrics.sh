#!/usr/bin/env bash
# The Grafana dashboard (packaging/grafana/ntsd.json) against what the
# binaries really expose (issue 16): ntsd (DPDK backend on net_af_packet, so
# the port and stall families exist), ntsd-ke (serving a pool token) and
# ntsd-pool (with that ntsd-ke as its time source) run in a namespace; one
# NTS exchange goes through; their /metrics are scraped, and
# tests/packaging/dashboard_check.py checks every metric, every label a panel
# matches or aggregates on, and every label value it names (e.g. each NAK
# reason) against the scrapes.
# e2e-timeout: 90
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init dashboard_metrics
pool=$(e2e_bin ntsd-pool) || e2e_fail "ntsd-pool is not built"
ns_pair --dpdk
make_certs "$E2E_DIR/pki" ntsd.test "$S4" "$KE4"
(umask 077 && printf 'dashboard-token-%s\n' "$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$E2E_DIR/pool.token")
NTSD_TOML_KE="pool_tokens_file = \"$E2E_DIR/pool.token\""
rc=0
ntsd_stack_start dpdk || rc=$?
[ $rc -eq 3 ] && e2e_skip_no_dpdk "ntsd or ntsd-ke lacks the DPDK backend in this build"
[ $rc -eq 0 ] || e2e_fail "ntsd (DPDK) did not start"
cat >"$E2E_DIR/pool.toml" <<TOML
[ke]
listen = ["$KE4"]
port = 4461
cert = "$PKI_CERT"
key = "$PKI_KEY"
threads = 1
[pool]
ca_file = "$PKI_CA"
workers = 2
[metrics]
pool_listen = "127.0.0.1:9125"
[[backend]]
name = "ntsd.test"
address = "$KE4"
token_file = "$E2E_DIR/pool.token"
TOML
e2e_spawn ntsd-pool "$NS_S" "$pool" --config "$E2E_DIR/pool.toml"
wait_for "in_s ss -ltn | grep -q ':4461 '" 10 || e2e_fail "ntsd-pool is not listening"
wait_for "in_s curl -s http://127.0.0.1:9125/metrics | grep -q '^ntsd_pool_backend_up{backend=\"ntsd.test\"} 1'" 15 ||
  e2e_fail "ntsd-pool never saw its time source up"
ntsd_client_query "$NS_C" "$KE4" "$PKI_CA" "$E2E_DIR/query.log" || e2e_fail "no NTS exchange: $NTSD_Q_NOTE"
for p in 9123 9124 9125; do
  in_s curl -sf "http://127.0.0.1:$p/metrics" >"$E2E_DIR/metrics-$p.txt" || e2e_fail "no /metrics on port $p"
done
src=${NTSD_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}
python3 "$src/tests/packaging/dashboard_check.py" "$src/packaging/grafana/ntsd.json" "$E2E_DIR"/metrics-91*.txt \
  >"$E2E_DIR/check.out" 2>&1 || { cat "$E2E_DIR/check.out" >&2; e2e_fail "the dashboard queries what the binaries do not expose"; }
# Every expression is valid PromQL: promtool (Debian's prometheus, unpacked
# by scripts/setup) checks them as recording rules, with Grafana's variables
# put in as Grafana would.
promtool=$src/build/peers/prometheus/usr/bin/promtool
[ -x "$promtool" ] || e2e_fail "promtool not unpacked (scripts/setup --deps)"
python3 - "$src/packaging/grafana/ntsd.json" >"$E2E_DIR/dashboard.rules.yml" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print("groups:\n  - name: dashboard\n    rules:")
n = 0
for p in d["panels"]:
    for t in p.get("targets", []):
        n += 1
        e = t["expr"].replace("$__rate_interval", "5m").replace("$instance", ".*")
        print(f"      - record: dashboard:expr{n}\n        expr: {json.dumps(e)}")
PY
"$promtool" check rules "$E2E_DIR/dashboard.rules.yml" >"$E2E_DIR/promtool.out" 2>&1 ||
  { cat "$E2E_DIR/promtool.out" >&2; e2e_fail "promtool rejects a dashboard expression"; }
e2e_log "promtool: $(grep -o 'SUCCESS.*' "$E2E_DIR/promtool.out")"
e2e_pass "dashboard: $(tail -1 "$E2E_DIR/check.out"); all valid PromQL"
