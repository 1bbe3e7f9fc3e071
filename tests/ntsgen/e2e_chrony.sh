#!/usr/bin/env bash
# ntsgen against a chrony 4.3 NTS server in a namespace pair (issue 6): a short
# NTS ramp (NTS-KE by ntsgen itself, many sessions) must report valid NTS
# responses and a knee; a plain NTP ramp must do the same. Bounded: each ramp
# has at most 6 steps of 0.6 s. Also `ntsgen query` against the same server.
set -euo pipefail
. "$(dirname "$0")/../e2e/lib.sh"
e2e_init ntsgenchr
e2e_require_peers
NTSGEN=$(e2e_bin ntsgen) || e2e_fail "ntsgen is not built"

ns_pair
make_certs "$E2E_DIR/pki" ntsgen.test "$S4" "$S6"
chrony_nts_server "$NS_S" "$PKI_CERT" "$PKI_KEY"
wait_for "in_s ss -ltn | grep -q ':4460 '" 20 || e2e_fail "chrony NTS-KE did not start"

ramp() {  # ramp NAME ARGS...: run one ramp from the client namespace
  local name=$1; shift
  in_c "$NTSGEN" --server ntsgen.test --rate 4000 --ramp 2.5 --steps 6 --duration 0.6 \
    --drain 0.3 --threshold 2 --quiet --json "$E2E_DIR/$name.json" "$@" >"$E2E_DIR/$name.out" 2>&1 ||
    { cat "$E2E_DIR/$name.out" >&2; e2e_fail "ntsgen $name exited non-zero"; }
  cat "$E2E_DIR/$name.out" >&2
}

check() {  # check NAME: valid responses, no invalid, a knee within the ramp
  local f=$E2E_DIR/$1.json
  local valid0 invalid knee steps
  valid0=$(json_get "$f" 'r["steps"][0]["valid"]')
  invalid=$(json_get "$f" 'sum(s["invalid"] for s in r["steps"])')
  knee=$(json_get "$f" 'r["knee"]')
  steps=$(json_get "$f" 'len(r["steps"])')
  [ "$valid0" -gt 1000 ] || e2e_fail "$1: only $valid0 valid responses in the first step"
  [ "$invalid" -eq 0 ] || e2e_fail "$1: $invalid invalid responses from chrony"
  [ "$knee" -ge 0 ] || e2e_fail "$1: no step within the loss threshold"
  # A clear knee: the ramp stopped because the step after the knee went over
  # the threshold (6 steps reach 390k/s, beyond chrony on any machine here).
  [ "$knee" -lt $((steps - 1)) ] || e2e_fail "$1: the ramp never went over the threshold"
  e2e_log "$1: knee at step $knee of $steps, $(json_get "$f" 'round(r["steps"][r["knee"]]["valid_rate"])') valid/s"
}

# `ntsgen query`: one NTS-KE + NTS exchange through ntsd::query_main.
in_c "$NTSGEN" query ntsgen.test --ca "$PKI_CA" >"$E2E_DIR/query.out" 2>&1 ||
  { cat "$E2E_DIR/query.out" >&2; e2e_fail "ntsgen query failed"; }
e2e_log "query: $(tr '\n' ' ' <"$E2E_DIR/query.out" | cut -c1-200)"

ramp nts --mode nts --ca "$PKI_CA" --sessions 32 --ke-parallel 8 --placeholders 1
check nts
ramp ntp --mode ntp --plot "$E2E_DIR/ntp.png"
check ntp
# --plot: gnuplot wrote a PNG (latency histogram, throughput vs offered load).
[ "$(head -c 4 "$E2E_DIR/ntp.png" | od -An -tx1 | tr -d ' ')" = 89504e47 ] || e2e_fail "--plot wrote no PNG"
# IPv6 over kernel sockets: a short fixed-rate NTS run to the v6 address.
in_c "$NTSGEN" --server "[$S6]:123" --mode nts --ke ntsgen.test --ca "$PKI_CA" --sessions 4 \
  --rate 1000 --duration 0.5 --quiet --json "$E2E_DIR/v6.json" >"$E2E_DIR/v6.out" 2>&1 ||
  { cat "$E2E_DIR/v6.out" >&2; e2e_fail "ntsgen over IPv6 failed"; }
v6valid=$(json_get "$E2E_DIR/v6.json" 'r["steps"][0]["valid"]')
[ "$v6valid" -gt 400 ] || e2e_fail "IPv6: only $v6valid valid"
e2e_log "IPv6 NTS: $v6valid valid"
e2e_pass "ntsgen ramps against chrony: NTS and NTP valid, knee found; IPv6 valid"
