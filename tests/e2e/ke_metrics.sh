#!/usr/bin/env bash
# e2e-timeout: 90
# ntsd-ke's own /metrics (issue 19, [metrics] ke_listen): after one NTS-KE
# session they show it completed, the served certificate's notAfter (equal to
# what openssl reads from the file), the master key's age and next rotation,
# errors by reason (a TLS client without ALPN ntske/1 moves no_alpn), and a
# certificate reload. Every family has HELP and TYPE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init ke_metrics
e2e_require_bin ntsd ntsd-ke
ntsd_client_name >/dev/null || e2e_skip "no ntsd client (ntsgen query / ntsd-query) built"
ns_pair
make_certs "$E2E_DIR/pki" ntsd.test "$S4" "$S6"
rc=0
ntsd_stack_start socket || rc=$?
[ $rc -eq 0 ] || e2e_fail "ntsd stack did not start"
km() { in_s curl -sf "http://127.0.0.1:9124/metrics"; }
val() { km | awk -v n="$1" -v l="$2" '$1 == n l { print $2 }'; }
wait_for "km" 5 || e2e_fail "no ntsd-ke metrics on 127.0.0.1:9124: $(grep -i metrics "$E2E_DIR/ntsd-ke-socket.log")"
[ "$(val ntsd_ke_sessions_total '')" = 0 ] || e2e_fail "sessions before any client"

ntsd_client_query "$NS_C" ntsd.test "$PKI_CA" "$E2E_DIR/query.log" || e2e_fail "NTS-KE + NTP query failed: $NTSD_Q_NOTE"
wait_for "[ \"\$(val ntsd_ke_sessions_total '')\" = 1 ]" 5 || e2e_fail "ntsd_ke_sessions_total is $(val ntsd_ke_sessions_total '') after one session"
[ "$(val ntsd_ke_connections_total '')" -ge 1 ] || e2e_fail "no connection counted"

want=$(date -u -d "$(openssl x509 -enddate -noout -in "$PKI_CERT" | cut -d= -f2)" +%s)
got=$(val ntsd_ke_certificate_not_after_seconds '')
[ "$got" = "$want" ] || e2e_fail "certificate notAfter: metrics $got, openssl $want"
age=$(val ntsd_ke_key_age_seconds '')
next=$(val ntsd_ke_key_next_rotation_seconds '')
[ "$age" -ge 0 ] && [ "$age" -lt 14400 ] || e2e_fail "key age $age"
[ "$next" -gt "$(date +%s)" ] || e2e_fail "next rotation $next is not in the future"
e2e_log "after one session: sessions 1, notAfter $got ($(date -u -d "@$got" +%FT%TZ)), key age $age s, next rotation in $((next - $(date +%s))) s"

# A TLS 1.3 client that offers no ALPN: NTS-KE refuses it (RFC 8915 §4), counted by reason.
in_c timeout 5 openssl s_client -connect "$S4:4460" -tls1_3 -CAfile "$PKI_CA" </dev/null >/dev/null 2>&1 || true
wait_for "[ \"\$(val ntsd_ke_errors_total '{reason=\"no_alpn\"}')\" -ge 1 ]" 5 ||
  e2e_fail "no_alpn not counted: $(km | grep ntsd_ke_errors_total)"
kill -HUP "$NTSD_KE_PID"
wait_for "[ \"\$(val ntsd_ke_certificate_reloads_total '')\" = 1 ]" 5 || e2e_fail "certificate reload not counted"
[ "$(val ntsd_ke_key_rotation_errors_total '')" = 0 ] || e2e_fail "rotation errors"

m=$(km)
for name in $(grep -v '^#' <<<"$m" | sed 's/[{ ].*//' | sort -u); do
  grep -q "^# HELP $name " <<<"$m" && grep -q "^# TYPE $name " <<<"$m" || e2e_fail "metric $name lacks HELP/TYPE"
done
e2e_pass "ntsd-ke /metrics: a completed session, the certificate's notAfter ($want), key age, errors by reason, reloads"
