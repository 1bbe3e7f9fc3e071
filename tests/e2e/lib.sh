# shellcheck shell=bash
# End-to-end test library for ntsd. Source it from a bash test script:
#
#   #!/usr/bin/env bash
#   set -euo pipefail
#   . "$(dirname "$0")/lib.sh"
#   e2e_init my_test                 # work dir, cleanup trap, root check
#   ns_pair                          # namespaces $NS_S (server) and $NS_C (client)
#   make_certs "$E2E_DIR/pki" ntsd.test "$S4" "$S6"
#   chrony_nts_server "$NS_S" "$PKI_CERT" "$PKI_KEY";   srv=$E2E_INST
#   chrony_nts_client "$NS_C" ntsd.test "$PKI_CA";      cli=$E2E_INST
#   wait_for "chrony_authdata_ok $cli" 20 || e2e_fail "no NTS-KE"
#   e2e_pass "chrony reached NTS sync"
#
# Everything started through this library (e2e_spawn and the peer launchers),
# every namespace made by ns_pair and every file under $E2E_DIR is removed on
# exit, also on failure or Ctrl-C. Set E2E_KEEP=1 to keep the work dir.
#
# Registration: tests/e2e/CMakeLists.txt registers every tests/e2e/*.sh
# (except lib.sh) as ctest "e2e.<script name>" (label e2e, serial). Put
# "# e2e-timeout: SECONDS" in the script's header (default 120) and re-run
# cmake after adding a script. e2e_init reads that line too and stops the
# script with SIGTERM 10 s before the limit, so that the cleanup trap runs
# (ctest's own timeout kills without it). Bash runs the trap once the current
# foreground command returns: keep single commands short (wait_for is).
#
# Conventions
# - Exit codes: 0 = pass, 1 = failure, 77 = SKIP (the test is truly
#   impossible here, e.g. not root). ctest registers every script with
#   SKIP_RETURN_CODE 77 (cmake/ntsd.cmake), so a skip shows as "Skipped",
#   never as a pass, and scripts/test fails on it. A part the build was
#   asked for (DPDK) is never a reason to skip: see e2e_skip_no_dpdk.
# - Peers (chrony 4.3, ntpsec 1.2) are the Debian packages unpacked by
#   `scripts/setup --deps` into $NTSD_SOURCE/build/peers/; the machine's own
#   time service is never touched (chronyd -x, ntpd "disable ntp").
# - Environment (set by ntsd_script_test): NTSD_SOURCE, NTSD_BIN, NTSD_BUILD.
#   Each falls back to this checkout so that scripts also run by hand.
#
# Functions (each documented where it is defined)
#   basics      e2e_init e2e_log e2e_fail e2e_pass e2e_skip e2e_skip_no_dpdk e2e_require_peers e2e_on_exit
#               e2e_require_bin e2e_bin e2e_spawn e2e_alive e2e_stop wait_for
#   namespaces  ns_pair [--dpdk|--bare] in_s in_c ns_hosts
#               (addresses S4 S6 C4 C6 KE4 KE6, interfaces IF_S IF_C)
#   pki         make_certs (PKI_CA PKI_CERT PKI_KEY PKI_NAME)
#   chrony      chrony_nts_client chrony_nts_server chronyc_in
#               chrony_authdata_ok chrony_got_samples chrony_rx_count
#               chrony_good_samples chrony_selected chrony_offset
#   ntpsec      ntpsec_nts_client ntpsec_nts_server ntpsec_ntske_ok ntpsec_aead
#               ntpsec_peer_ok ntpsec_selected ntpsec_offset
#   Debian 13   e2e_require_trixie (chrony 4.6.1 via CHRONY=4.6 on the chrony
#               launchers, chrony_aead), ntpdrs_nts_client ntpdrs_nts_server
#               ntpdrs_status ntpdrs_nts_ok ntpdrs_samples_ok ntpdrs_aead
#               clock_state
#   ntsd        ntsd_write_config ntsd_stack_start ntsd_client_name ntsd_client_query
#   ntsgen      json_get ntsgen_zero_loss
#   ke_flood    ke_flood_init client_addrs
#   bench       bench_work_dir
#
# Pitfalls this library handles for you (see DESIGN.md section 5)
# - chrony and ntpsec verify the certificate against what they dial. chrony
#   (GnuTLS) accepts an IP address that is in the IP SANs; ntpsec (OpenSSL
#   SSL_set1_host) matches DNS names only. make_certs therefore puts the name
#   into each namespace's own /etc/hosts through `ip netns exec`'s
#   /etc/netns/<ns>/hosts bind mount (ns_hosts; the machine's /etc/hosts is
#   never touched). Certificates carry both DNS and IP SANs.
# - ntpd (ntpsec) adjusts the machine's clock even in a namespace: it runs
#   with "disable ntp"/"disable kernel" and without CAP_SYS_TIME. As an NTS
#   server it uses orphan mode, because "refclock local" is never selected
#   when "disable ntp" is set. ntpq gets no mode-6 answer here, so ntpsec is
#   checked through its log and its peerstats file.
# - veth hands packets to AF_PACKET with the checksum not yet filled in
#   (CHECKSUM_PARTIAL). In --dpdk mode the client side's TX checksum offload
#   is switched off so that a DPDK net_af_packet port sees valid checksums.

# ---------------------------------------------------------------- basics ----

E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NTSD_SOURCE=${NTSD_SOURCE:-$(cd "$E2E_LIB_DIR/../.." && pwd)}
NTSD_BUILD=${NTSD_BUILD:-$NTSD_SOURCE/build}
NTSD_BIN=${NTSD_BIN:-$NTSD_BUILD/bin}
E2E_PEERS=${E2E_PEERS:-$NTSD_SOURCE/build/peers}
CHRONYD=$E2E_PEERS/chrony/usr/sbin/chronyd
CHRONYC=$E2E_PEERS/chrony/usr/bin/chronyc
# Debian 13 peers (scripts/setup): one root with trixie's libc, run through
# that libc's own loader; noclock.so keeps ntpd-rs off the machine's clock.
TRIXIE=$E2E_PEERS/trixie
TRIXIE_LIBS=$TRIXIE/usr/lib/x86_64-linux-gnu
TRIXIE_LD=$TRIXIE_LIBS/ld-linux-x86-64.so.2
NOCLOCK=$E2E_PEERS/noclock/noclock.so
NTPD=$E2E_PEERS/ntpsec/usr/sbin/ntpd
NTPQ=$E2E_PEERS/ntpsec/usr/bin/ntpq

E2E_PIDS=()      # processes started through e2e_spawn, in start order
E2E_LABELS=()    # their labels (log file names)
E2E_NSS=()       # namespaces created by ns_pair
E2E_NAME=""
E2E_DIR=""
E2E_INST=""      # instance dir of the last peer launched (see launchers)
E2E_T0=$SECONDS

# e2e_log MSG...: timestamped progress line on stderr.
e2e_log() { printf '[%s %s +%ss] %s\n' "$(date -u +%H:%M:%S)" "${E2E_NAME:-e2e}" "$((SECONDS - E2E_T0))" "$*" >&2; }

# e2e_fail MSG...: report a failure, show the logs, exit 1 (cleanup runs).
e2e_fail() {
  printf 'FAIL: %s: %s\n' "${E2E_NAME:-e2e}" "$*" >&2
  E2E_SHOW_LOGS=1
  exit 1
}

# e2e_pass MSG...: report success and exit 0 (cleanup runs).
e2e_pass() {
  printf 'PASS: %s: %s\n' "${E2E_NAME:-e2e}" "$*" >&2
  exit 0
}

# e2e_skip REASON...: only when the test cannot run at all here (not root, no
# netns support). Prints "SKIP: reason" and exits 77, which ctest reports as
# skipped (SKIP_RETURN_CODE), not passed.
e2e_skip() {
  printf 'SKIP: %s: %s\n' "${E2E_NAME:-e2e}" "$*" >&2
  exit 77
}

# e2e_skip_no_dpdk REASON...: the binary lacks the DPDK backend. A skip only
# if the build was configured without it (NTSD_WITH_DPDK=OFF, passed in by
# ctest); if DPDK was requested, that is a failure, never a silent skip.
e2e_skip_no_dpdk() {
  case ${NTSD_WITH_DPDK:-} in
    ON|on|1|TRUE|true|YES|yes) e2e_fail "built with NTSD_WITH_DPDK=ON but: $*" ;;
  esac
  e2e_skip "$* (NTSD_WITH_DPDK=${NTSD_WITH_DPDK:-unset})"
}

# e2e_init NAME: unique work dir $E2E_DIR, cleanup trap, root and netns check.
# NAME goes into namespace names, so keep it short ([a-z0-9_-]).
e2e_init() {
  E2E_NAME=$1
  if [ "$(id -u)" -ne 0 ]; then e2e_skip "needs root for network namespaces"; fi
  command -v ip >/dev/null || e2e_skip "iproute2 (ip) is not installed"
  E2E_DIR=$(mktemp -d "/tmp/ntsd-e2e-$E2E_NAME.XXXXXX")
  chmod 0711 "$E2E_DIR"
  E2E_NS="$E2E_NAME-$$"
  trap _e2e_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  _e2e_arm_watchdog
  e2e_log "work dir $E2E_DIR"
}

# ctest kills a test that exceeds its TIMEOUT with SIGKILL, which would skip
# the cleanup trap and leak namespaces. So a script whose header says
# "# e2e-timeout: N" (or that sets E2E_TIMEOUT) stops itself with SIGTERM 10 s
# before that, and the trap still runs.
_e2e_arm_watchdog() {
  local t=${E2E_TIMEOUT:-}
  [ -n "$t" ] || t=$(sed -n 's/^# e2e-timeout: \([0-9][0-9]*\).*/\1/p' "$0" 2>/dev/null | head -n 1)
  [ -n "$t" ] && [ "$t" -gt 20 ] || return 0
  local me=$$
  (
    sleep $((t - 10)) &
    echo $! >"$E2E_DIR/.watchdog"
    wait $!
    echo "e2e: ${E2E_NAME}: stopping at the $t s time limit" >&2
    kill -TERM "$me"
  ) &
  E2E_WATCHDOG=$!
}

# e2e_require_peers: fail unless the unpacked chrony/ntpsec exist.
e2e_require_peers() {
  [ -x "$CHRONYD" ] && [ -x "$NTPD" ] ||
    e2e_fail "peers not unpacked under $E2E_PEERS: run scripts/setup --deps"
}

# e2e_bin NAME: print the path of build/bin/NAME; non-zero if it is not built.
e2e_bin() {
  local p=$NTSD_BIN/$1
  [ -x "$p" ] || return 1
  printf '%s\n' "$p"
}

# e2e_require_bin NAME...: SKIP the test (exit 77) unless every build/bin/NAME
# exists, e.g. while another part of the tree has not landed yet.
e2e_require_bin() {
  local b
  for b in "$@"; do e2e_bin "$b" >/dev/null || e2e_skip "$NTSD_BIN/$b is not built yet"; done
}

# EAL arguments that work on this machine without a NIC or hugepages
# (DESIGN.md section 3); add --vdev=... and --file-prefix=... (unique).
E2E_EAL_COMMON="-l 0-1 --no-huge -m 256 --no-shconf --no-pci --no-telemetry"

# e2e_spawn LABEL NS CMD...: start CMD in namespace NS ("-" for the current
# one) in the background, output to $E2E_DIR/LABEL.log. The pid goes to
# $E2E_LAST_PID and is killed on exit. `ip netns exec` execs, so the pid is
# the command's own.
e2e_spawn() {
  local label=$1 ns=$2; shift 2
  local log=$E2E_DIR/$label.log
  if [ "$ns" = "-" ]; then
    "$@" >"$log" 2>&1 </dev/null &
  else
    ip netns exec "$ns" "$@" >"$log" 2>&1 </dev/null &
  fi
  E2E_LAST_PID=$!
  E2E_PIDS+=("$E2E_LAST_PID")
  E2E_LABELS+=("$label")
  e2e_log "started $label (pid $E2E_LAST_PID${ns:+, ns $ns}): $*"
}

# e2e_alive PID: true while the process runs.
e2e_alive() { kill -0 "$1" 2>/dev/null; }

# e2e_stop PID: TERM, then KILL after 3 s; waits for it.
e2e_stop() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 30); do e2e_alive "$pid" || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# wait_for CMD TIMEOUT [INTERVAL]: evaluate the command string CMD until it
# succeeds or TIMEOUT seconds pass; returns its last status. Also accepted:
# wait_for TIMEOUT CMD ARGS... (the command as separate words).
wait_for() {
  local timeout interval=0.5 deadline
  local -a cmd
  if [[ $1 =~ ^[0-9]+$ ]] && [ $# -ge 2 ]; then
    timeout=$1; shift; cmd=("$@")
  else
    cmd=(eval "$1"); timeout=$2; interval=${3:-0.5}
  fi
  deadline=$((SECONDS + timeout))
  while :; do
    if "${cmd[@]}" >/dev/null 2>&1; then return 0; fi
    [ $SECONDS -lt $deadline ] || { "${cmd[@]}" >/dev/null 2>&1; return; }
    sleep "$interval"
  done
}

# e2e_on_exit CMD...: run CMD (one command, its words as given) first in the
# cleanup, before processes and namespaces go (e.g. unmount a tmpfs).
E2E_ON_EXIT=()
e2e_on_exit() { E2E_ON_EXIT+=("$(printf '%q ' "$@")"); }

_e2e_cleanup() {
  local rc=$? i pid ns
  set +e
  trap - EXIT INT TERM
  for i in "${E2E_ON_EXIT[@]}"; do eval "$i" >/dev/null 2>&1; done
  if [ -n "${E2E_WATCHDOG:-}" ]; then
    kill "$(cat "$E2E_DIR/.watchdog" 2>/dev/null)" "$E2E_WATCHDOG" 2>/dev/null
    wait "$E2E_WATCHDOG" 2>/dev/null
  fi
  # Newest first: clients go before the servers they talk to.
  for ((i = ${#E2E_PIDS[@]} - 1; i >= 0; i--)); do kill -TERM "${E2E_PIDS[i]}" 2>/dev/null; done
  for i in $(seq 30); do
    local any=0
    for pid in "${E2E_PIDS[@]}"; do e2e_alive "$pid" && any=1; done
    [ $any = 0 ] && break
    sleep 0.1
  done
  for pid in "${E2E_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  for ns in "${E2E_NSS[@]}"; do
    # Anything still inside our own namespaces was started by this test.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
    rm -rf "/etc/netns/$ns"
  done
  # /etc/netns itself only if this test made it and no one else uses it now.
  [ -n "${E2E_MADE_ETC_NETNS:-}" ] && rmdir /etc/netns 2>/dev/null

  if [ "$rc" -ne 0 ] || [ -n "${E2E_SHOW_LOGS:-}" ]; then _e2e_dump_logs; fi
  if [ -n "$E2E_DIR" ] && [ -d "$E2E_DIR" ]; then
    if [ -n "${E2E_KEEP:-}" ]; then e2e_log "kept $E2E_DIR"; else rm -rf "$E2E_DIR"; fi
  fi
  exit "$rc"
}

_e2e_dump_logs() {
  local f
  [ -n "$E2E_DIR" ] && [ -d "$E2E_DIR" ] || return 0
  while IFS= read -r f; do
    printf -- '----- %s (last 25 lines) -----\n' "${f#"$E2E_DIR"/}" >&2
    tail -n 25 "$f" >&2
  done < <(find "$E2E_DIR" -maxdepth 1 -name '*.log' -type f | sort)
}

# ------------------------------------------------------------ namespaces ----

# Addresses (RFC 5737 / RFC 3849 documentation ranges).
S4=192.0.2.1    S6=2001:db8::1     # server (in --dpdk mode: owned by ntsd)
C4=192.0.2.2    C6=2001:db8::2     # client
KE4=$S4         KE6=$S6            # where the kernel of the server ns listens
IF_S=veth-s     IF_C=veth-c        # interface names inside the namespaces

# ns_pair [--dpdk|--bare] [BASE]: namespaces BASE-s ($NS_S) and BASE-c ($NS_C)
# (BASE defaults to NAME-PID), joined by a veth pair $IF_S <-> $IF_C, lo up.
#   default  $IF_S has $S4/24 and $S6/64, $IF_C has $C4/24 and $C6/64.
#   --dpdk   $IF_S keeps no address of $S4/$S6: ntsd on net_af_packet,iface=$IF_S
#            owns them and answers ARP/ND itself. The server kernel only gets
#            KE4=192.0.2.10 and KE6=2001:db8::10 for ntsd-ke (TCP 4460), which
#            then must announce $S4 in an NTPv4 Server record. Client TX
#            checksum offload is off (see the pitfall above).
#   --bare   like --dpdk but with no kernel address at all on $IF_S.
# IPv6 addresses use nodad, so they are usable at once.
ns_pair() {
  local mode=kernel base=$E2E_NS
  while [ $# -gt 0 ]; do
    case $1 in
      --dpdk) mode=dpdk ;;
      --bare) mode=bare ;;
      *) base=$1 ;;
    esac
    shift
  done
  NS_S=$base-s NS_C=$base-c
  ip netns add "$NS_S" || e2e_fail "ip netns add $NS_S"
  E2E_NSS+=("$NS_S")
  ip netns add "$NS_C" || e2e_fail "ip netns add $NS_C"
  E2E_NSS+=("$NS_C")
  ip link add "$IF_S" netns "$NS_S" type veth peer name "$IF_C" netns "$NS_C" ||
    e2e_fail "cannot create veth pair"
  in_s ip link set lo up
  in_c ip link set lo up
  in_c ip addr add "$C4/24" dev "$IF_C"
  in_c ip -6 addr add "$C6/64" dev "$IF_C" nodad
  case $mode in
    kernel)
      KE4=$S4 KE6=$S6
      in_s ip addr add "$S4/24" dev "$IF_S"
      in_s ip -6 addr add "$S6/64" dev "$IF_S" nodad
      ;;
    dpdk)
      KE4=192.0.2.10 KE6=2001:db8::10
      in_s ip addr add "$KE4/24" dev "$IF_S"
      in_s ip -6 addr add "$KE6/64" dev "$IF_S" nodad
      ;;
    bare) KE4="" KE6="" ;;
  esac
  if [ $mode != kernel ]; then
    in_c ethtool -K "$IF_C" tx off >/dev/null 2>&1 || e2e_log "warning: could not disable TX checksum offload on $IF_C"
    in_s ethtool -K "$IF_S" tx off >/dev/null 2>&1 || true
  fi
  in_s ip link set "$IF_S" up
  in_c ip link set "$IF_C" up
  E2E_NS_MODE=$mode
  e2e_log "namespaces $NS_S ($mode) <-> $NS_C ready"
}

# in_s CMD... / in_c CMD...: run CMD in the server / client namespace.
in_s() { ip netns exec "$NS_S" "$@"; }
in_c() { ip netns exec "$NS_C" "$@"; }

# ns_hosts NAME IP: make NAME resolve to IP inside both namespaces of the
# pair (and any namespace given as 3rd+ args), through /etc/netns/<ns>/hosts,
# which `ip netns exec` bind-mounts over /etc/hosts. Processes started after
# this call see it. The machine's /etc/hosts is not modified.
ns_hosts() {
  local name=$1 ip=$2 ns; shift 2
  local -a nss=("$@")
  [ ${#nss[@]} -gt 0 ] || nss=("$NS_S" "$NS_C")
  [ -d /etc/netns ] || E2E_MADE_ETC_NETNS=1
  for ns in "${nss[@]}"; do
    mkdir -p "/etc/netns/$ns"
    [ -f "/etc/netns/$ns/hosts" ] || printf '127.0.0.1 localhost\n::1 localhost\n' >"/etc/netns/$ns/hosts"
    printf '%s %s\n' "$ip" "$name" >>"/etc/netns/$ns/hosts"
  done
}

# ------------------------------------------------------------- certificates --

# make_certs DIR NAME [IP...]: a throwaway CA and an ECDSA P-256 server
# certificate for NAME with subjectAltName DNS:NAME and IP:each IP. Sets
#   PKI_CA (CA cert), PKI_CERT (server cert + CA chain), PKI_KEY (server key,
#   mode 0600), PKI_NAME=NAME.
# If ns_pair ran, NAME also resolves to $KE4 (and $KE6) in both namespaces:
# clients dial NAME and the name check passes for chrony (GnuTLS) and
# ntpsec (OpenSSL), which both verify against the dialed name.
make_certs() {
  local dir=$1 name=$2; shift 2
  local san="DNS:$name" ip
  for ip in "$@"; do san+=",IP:$ip"; done
  mkdir -p "$dir"
  (
    cd "$dir"
    openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
    openssl req -x509 -new -key ca.key -sha256 -days 3 -subj "/CN=ntsd e2e test CA" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
      -out ca.pem 2>/dev/null
    openssl ecparam -name prime256v1 -genkey -noout -out server.key 2>/dev/null
    openssl req -new -key server.key -subj "/CN=$name" -out server.csr 2>/dev/null
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "$san" >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -sha256 \
      -extfile server.ext -out server.crt 2>/dev/null
    cat server.crt ca.pem >server.pem
    chmod 0600 ca.key server.key
  ) || e2e_fail "make_certs: openssl failed"
  PKI_CA=$dir/ca.pem PKI_CERT=$dir/server.pem PKI_KEY=$dir/server.key PKI_NAME=$name
  if [ -n "${NS_S:-}" ] && [ -n "$KE4" ]; then ns_hosts "$name" "$KE4"; fi
  e2e_log "certificates for $name ($san) in $dir"
}

# ------------------------------------------------------------------ chrony ---
#
# Every launcher makes an instance dir (config, pidfile, logs, chronyc socket
# or ntpq access), stores it in $E2E_INST and records its namespace in
# $E2E_INST/ns. Query functions take that dir.

_e2e_new_inst() {
  local kind=$1 n=1
  while [ -e "$E2E_DIR/$kind-$n" ]; do n=$((n + 1)); done
  E2E_INST=$E2E_DIR/$kind-$n
  mkdir -p "$E2E_INST"
  chmod 0700 "$E2E_INST"   # chronyd refuses a command socket in an open directory
}

# chrony_nts_client NS SERVER_NAME CA [CONF_LINE...]: chronyd as an NTS client
# of SERVER_NAME, trusting only CA, polling every 0.25 s (minpoll -2).
# CHRONY_SERVER_OPTS (env) is appended to the `server` line (e.g. "ntsport 4461").
# Extra arguments are appended as config lines.
chrony_nts_client() {
  local ns=$1 name=$2 ca=$3; shift 3
  _e2e_new_inst chrony-client
  local d=$E2E_INST line
  {
    echo "server $name nts iburst minpoll -2 maxpoll -2 certset 1 ${CHRONY_SERVER_OPTS:-}"
    echo "ntstrustedcerts 1 $ca"
    echo "nosystemcert"
    echo "ntsdumpdir $d/nts"
    echo "pidfile $d/chronyd.pid"
    echo "bindcmdaddress $d/chronyd.sock"
    echo "cmdport 0"
    echo "port 0"
    echo "logdir $d"
    echo "log measurements"
    for line in "$@"; do echo "$line"; done
  } >"$d/chrony.conf"
  mkdir -p "$d/nts"
  echo "$ns" >"$d/ns"
  _chrony_spawn "$d"
}

# _chrony_spawn INST: chronyd on INST/chrony.conf, never touching the clock
# (-x). CHRONY=4.6 (env) runs Debian 13's chrony 4.6.1 through its loader;
# the default is Debian 12's 4.3. chronyc_in uses the same version.
_chrony_spawn() {
  local d=$1
  local -a cmd=("$CHRONYD")
  if [ "${CHRONY:-4.3}" = 4.6 ]; then
    cmd=("$TRIXIE_LD" --library-path "$TRIXIE_LIBS" "$TRIXIE/usr/sbin/chronyd")
  fi
  echo "${CHRONY:-4.3}" >"$d/version"
  e2e_spawn "$(basename "$d")" "$(cat "$d/ns")" "${cmd[@]}" -f "$d/chrony.conf" -x -d -u root
  echo "$E2E_LAST_PID" >"$d/pid"
}

# chrony_nts_server NS CERT KEY [NTSDUMPDIR] [CONF_LINE...]: chronyd as NTS-KE
# (TCP 4460) and NTS NTP (UDP 123) server, local stratum 1. Its master keys
# are kept in NTSDUMPDIR/ntskeys (default: the instance dir); add
# "ntsrotate 0" to freeze them, e.g. to share them with ntsd.
chrony_nts_server() {
  local ns=$1 cert=$2 key=$3 dump=${4:-}; shift 3
  [ $# -gt 0 ] && shift
  _e2e_new_inst chrony-server
  local d=$E2E_INST line
  [ -n "$dump" ] && [ "$dump" != "-" ] || dump=$d/nts
  mkdir -p "$dump"
  {
    echo "ntsservercert $cert"
    echo "ntsserverkey $key"
    echo "ntsdumpdir $dump"
    echo "local stratum 1"
    echo "allow all"
    echo "pidfile $d/chronyd.pid"
    echo "bindcmdaddress $d/chronyd.sock"
    echo "cmdport 0"
    echo "logdir $d"
    for line in "$@"; do echo "$line"; done
  } >"$d/chrony.conf"
  echo "$ns" >"$d/ns"
  _chrony_spawn "$d"
}

# chronyc_in INST ARGS...: chronyc against the instance's command socket.
chronyc_in() {
  local d=$1; shift
  if [ "$(cat "$d/version" 2>/dev/null)" = 4.6 ]; then
    "$TRIXIE_LD" --library-path "$TRIXIE_LIBS" "$TRIXIE/usr/bin/chronyc" -h "$d/chronyd.sock" -n "$@"
  else
    "$CHRONYC" -h "$d/chronyd.sock" -n "$@"
  fi
}

# chrony_authdata_ok INST [MIN_COOKIES] [AEAD]: true when `chronyc -N
# authdata` shows the source in mode NTS with a completed key establishment
# (KeyID >= 1), AEAD (default 15, AES-SIV-CMAC-256; 30 is AES-128-GCM-SIV;
# "any") and at least MIN_COOKIES (default 1) cookies.
chrony_authdata_ok() {
  local d=$1 min=${2:-1} aead=${3:-15}
  chronyc_in "$d" -N authdata 2>/dev/null | awk -v min="$min" -v aead="$aead" '
    $2 == "NTS" && $3 >= 1 && (aead == "any" || $4 == aead) && $9 >= min { ok = 1 }
    END { exit !ok }'
}

# chrony_aead INST: print the AEAD and the cookie length chrony negotiated
# ("30 64"), from `chronyc -N authdata`.
chrony_aead() {
  chronyc_in "$1" -N authdata 2>/dev/null | awk '$2 == "NTS" && $3 >= 1 { print $4, $10; exit }'
}

# chrony_got_samples INST [MIN]: true when chrony received at least MIN
# (default 1) valid (authenticated, for NTS) NTP responses from its source.
chrony_got_samples() {
  local d=$1 min=${2:-1}
  chronyc_in "$d" ntpdata 2>/dev/null | awk -F: -v min="$min" '
    /^Total valid RX/ { gsub(/ /, "", $2); if ($2 + 0 >= min) ok = 1 }
    END { exit !ok }'
}

# chrony_rx_count INST valid|good: print chronyc ntpdata's "Total valid RX"
# (authenticated, well-formed answers) or "Total good RX" (those that also
# passed every test, so never an unsynchronised answer with leap 3 or
# stratum 16, nor a delay outlier); 0 if chronyc does not answer.
chrony_rx_count() {
  local what=valid
  [ "$2" = good ] && what=good
  chronyc_in "$1" ntpdata 2>/dev/null | awk -F: -v w="Total $what RX" '
    $1 ~ "^" w { gsub(/ /, "", $2); n = $2 + 0 } END { print n + 0 }'
}

# chrony_good_samples INST: print chrony's count of good samples from its
# source (chrony_rx_count INST good).
chrony_good_samples() { chrony_rx_count "$1" good; }

# chrony_selected INST: true when chrony selected its source (^* in sources).
chrony_selected() { chronyc_in "$1" sources 2>/dev/null | grep -q '^\^\*'; }

# chrony_offset INST: print the last offset of the source in seconds.
chrony_offset() {
  chronyc_in "$1" ntpdata 2>/dev/null | awk '/^Offset/ { print $3; exit }'
}

# --------------------------------------------------------- Debian 13 -------

# e2e_require_trixie: fail unless scripts/setup unpacked Debian 13's chrony
# 4.6.1 and ntpd-rs 1.4 (build/peers/trixie); builds the noclock shim from
# tests/peers/noclock.c if it is missing (as scripts/setup does).
e2e_require_trixie() {
  [ -x "$TRIXIE_LD" ] && [ -x "$TRIXIE/usr/sbin/chronyd" ] && [ -x "$TRIXIE/usr/bin/ntp-daemon" ] ||
    e2e_fail "Debian 13 peers not unpacked under $TRIXIE: run scripts/setup --deps"
  if [ ! -f "$NOCLOCK" ] || [ "$NTSD_SOURCE/tests/peers/noclock.c" -nt "$NOCLOCK" ]; then
    mkdir -p "$(dirname "$NOCLOCK")"
    cc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$NOCLOCK" "$NTSD_SOURCE/tests/peers/noclock.c" ||
      e2e_fail "could not build $NOCLOCK"
  fi
}

# _ntpdrs_spawn INST: ntp-daemon (ntpd-rs 1.4) on INST/ntp.toml through
# trixie's loader with noclock.so preloaded: it runs as root (it refuses to
# start if it may not steer the clock) and every adjustment it makes becomes
# a read, logged in its log file ("noclock: ...").
_ntpdrs_spawn() {
  local d=$1
  e2e_spawn "$(basename "$d")" "$(cat "$d/ns")" env NOCLOCK_LOG=1 \
    "$TRIXIE_LD" --library-path "$TRIXIE_LIBS" --preload "$NOCLOCK" \
    "$TRIXIE/usr/bin/ntp-daemon" -c "$d/ntp.toml"
  echo "$E2E_LAST_PID" >"$d/pid"
}

# ntpdrs_nts_client NS SERVER_NAME CA: ntpd-rs as an NTS client of
# SERVER_NAME (NTS-KE port 4460), trusting CA, polling every 2 s, one source
# enough to synchronise (it never really steers: noclock.so).
ntpdrs_nts_client() {
  local ns=$1 name=$2 ca=$3
  _e2e_new_inst ntpdrs-client
  local d=$E2E_INST
  cat >"$d/ntp.toml" <<EOF2
[observability]
log-level = "debug"
observation-path = "$d/observe"

[[source]]
mode = "nts"
address = "$name"
certificate-authority = "$ca"

[source-defaults]
poll-interval-limits = { min = 1, max = 1 }
initial-poll-interval = 1

[synchronization]
minimum-agreeing-sources = 1
single-step-panic-threshold = "inf"
startup-step-panic-threshold = "inf"
EOF2
  echo "$ns" >"$d/ns"
  _ntpdrs_spawn "$d"
}

# ntpdrs_nts_server NS CERT KEY: ntpd-rs as NTS-KE (TCP 4460) and NTP (UDP
# 123) server with no sources, serving the system clock at local stratum 1.
ntpdrs_nts_server() {
  local ns=$1 cert=$2 key=$3
  _e2e_new_inst ntpdrs-server
  local d=$E2E_INST
  cat >"$d/ntp.toml" <<EOF2
[observability]
log-level = "info"
observation-path = "$d/observe"

[[server]]
listen = "0.0.0.0:123"

[[server]]
listen = "[::]:123"

[[nts-ke-server]]
listen = "0.0.0.0:4460"
certificate-chain-path = "$cert"
private-key-path = "$key"

[[nts-ke-server]]
listen = "[::]:4460"
certificate-chain-path = "$cert"
private-key-path = "$key"

[keyset]
key-storage-path = "$d/keyset"

[synchronization]
local-stratum = 1
EOF2
  echo "$ns" >"$d/ns"
  _ntpdrs_spawn "$d"
}

# ntpdrs_status INST: `ntp-ctl status` of the instance (its observation socket).
ntpdrs_status() {
  local d=$1
  "$TRIXIE_LD" --library-path "$TRIXIE_LIBS" "$TRIXIE/usr/bin/ntp-ctl" -c "$d/ntp.toml" status
}

# ntpdrs_nts_ok INST: true when ntpd-rs completed NTS-KE and holds cookies
# (`ntp-ctl status`: "NTS cookies: N/8 available").
ntpdrs_nts_ok() {
  ntpdrs_status "$1" 2>/dev/null | grep -Eq 'NTS cookies: [1-9]'
}

# ntpdrs_samples_ok INST: true when ntpd-rs measured its NTS source (`ntp-ctl
# status` lists it with an offset) without missing polls at the last check.
ntpdrs_samples_ok() {
  ntpdrs_status "$1" 2>/dev/null | grep -Eq '\[NTS\] \([0-9]+\): [-+]?[0-9]'
}

# ntpdrs_aead INST: the AEAD id ntpd-rs's NTS-KE selected (from its debug log).
ntpdrs_aead() {
  sed 's/\x1b\[[0-9;]*m//g' "$E2E_DIR/$(basename "$1").log" |
    awk '/selected AEAD algorithm/ { a = $NF } END {
      sub(/.*=/, "", a)
      if (a == "AeadAesSivCmac256") print 15; else if (a == "AeadAesSivCmac512") print 17; else print a }'
}

# clock_state: the machine's clock discipline state (tests/peers/clock_state.c,
# built on first use): to show that a peer run left it unchanged.
clock_state() {
  local bin=$E2E_PEERS/noclock/clock_state
  if [ ! -x "$bin" ] || [ "$NTSD_SOURCE/tests/peers/clock_state.c" -nt "$bin" ]; then
    mkdir -p "$(dirname "$bin")"
    cc -O2 -Wall -Wextra -Werror -o "$bin" "$NTSD_SOURCE/tests/peers/clock_state.c" || return 1
  fi
  "$bin"
}

# ------------------------------------------------------------------ ntpsec ---

# ntpd never disciplines the machine's clock: "disable ntp" and "disable
# kernel", and it runs without CAP_SYS_TIME (setpriv), so a clock step or
# frequency change fails with EPERM even if it tries (it does try at start).
_ntpd_common_conf() {
  local d=$1
  echo "disable ntp"
  echo "disable kernel"
  echo "logfile $d/ntpd.log"
  echo "logconfig =all"
  echo "driftfile $d/ntp.drift"
  echo "statsdir $d/"
  echo "statistics peerstats"
  echo "filegen peerstats file peerstats type none enable"
}

_ntpd_spawn() {
  local ns=$1 d=$2
  echo "$ns" >"$d/ns"
  # -n: stay in the foreground; no -N (real-time priority starves others).
  e2e_spawn "$(basename "$d")" "$ns" setpriv --bounding-set=-sys_time \
    "$NTPD" -n -c "$d/ntp.conf" -p "$d/ntpd.pid"
  echo "$E2E_LAST_PID" >"$d/pid"
}

# ntpsec_nts_client NS SERVER_NAME CA [CONF_LINE...]: ntpd as an NTS client
# (minpoll 3 is the lowest ntpsec polls, so expect a response every 8 s after
# the iburst). Logs to INST/ntpd.log, peer statistics to INST/peerstats.
# NTPSEC_SERVER_OPTS (env) is appended to the server line.
ntpsec_nts_client() {
  local ns=$1 name=$2 ca=$3; shift 3
  _e2e_new_inst ntpsec-client
  local d=$E2E_INST line
  {
    echo "server $name nts ca $ca iburst minpoll 3 maxpoll 3 ${NTPSEC_SERVER_OPTS:-}"
    _ntpd_common_conf "$d"
    for line in "$@"; do echo "$line"; done
  } >"$d/ntp.conf"
  _ntpd_spawn "$ns" "$d"
}

# ntpsec_nts_server NS CERT KEY [CONF_LINE...]: ntpd as NTS-KE and NTS server
# at stratum 1, cookie keys in INST/nts-keys. It uses orphan mode with no
# wait ("tos orphan 1 orphanwait 0"), which answers synchronised at once:
# with "disable ntp" (needed to leave the machine clock alone) the
# "refclock local" driver is polled but never selected, so the server would
# stay unsynchronised and sntp/ntpsec clients would reject it.
ntpsec_nts_server() {
  local ns=$1 cert=$2 key=$3; shift 3
  _e2e_new_inst ntpsec-server
  local d=$E2E_INST line
  {
    echo "nts enable"
    echo "nts cert $cert"
    echo "nts key $key"
    echo "nts cookie $d/nts-keys"
    echo "tos orphan 1 orphanwait 0"
    _ntpd_common_conf "$d"
    for line in "$@"; do echo "$line"; done
  } >"$d/ntp.conf"
  _ntpd_spawn "$ns" "$d"
}

# ntpsec_ntske_ok INST [MIN_COOKIES]: true when the ntpsec client's log shows
# a completed NTS-KE with AEAD 15 and at least MIN_COOKIES (default 1) cookies.
ntpsec_ntske_ok() {
  local d=$1 min=${2:-1}
  awk -v min="$min" '/NTSc: Got [0-9]+ cookies/ {
      for (i = 1; i <= NF; i++) if ($i == "Got") n = $(i + 1)
      if (n + 0 >= min && $0 ~ /aead=15/) ok = 1 }
    END { exit !ok }' "$d/ntpd.log" 2>/dev/null
}

# ntpsec_aead INST: the AEAD id of the ntpsec client's last NTS-KE ("aead=N").
ntpsec_aead() {
  sed -n 's/.*NTSc: Got [0-9]* cookies.*aead=\([0-9]*\).*/\1/p' "$1/ntpd.log" 2>/dev/null | tail -1
}

# ntpsec_peer_ok INST [MIN]: true when the ntpsec client has at least MIN
# (default 1) clock updates from a peer that is both authenticated and
# reachable. It reads INST/peerstats: "MJD secs addr status offset delay
# disp jitter", where the peer status word (RFC 5905 Appendix B / ntpq
# docs) has 0x2000 = authentic and 0x1000 = reachable. (ntpq's mode 6 gets
# no answer inside these namespaces, so the statistics file is used.)
ntpsec_peer_ok() {
  local d=$1 min=${2:-1} n=0 _mjd _sec _addr st _rest
  [ -f "$d/peerstats" ] || return 1
  while read -r _mjd _sec _addr st _rest; do
    [[ $st =~ ^[0-9a-fA-F]{4}$ ]] || continue
    if (( (16#$st & 0x3000) == 0x3000 )); then n=$((n + 1)); fi
  done <"$d/peerstats"
  [ $n -ge "$min" ]
}

# ntpsec_selected INST: true when ntpsec chose the peer (selection 6,
# "sys.peer", in bits 8-10 of the status word).
ntpsec_selected() {
  local d=$1 _mjd _sec _addr st _rest
  [ -f "$d/peerstats" ] || return 1
  while read -r _mjd _sec _addr st _rest; do
    [[ $st =~ ^[0-9a-fA-F]{4}$ ]] || continue
    if (( ((16#$st >> 8) & 7) == 6 )); then return 0; fi
  done <"$d/peerstats"
  return 1
}

# ntpsec_offset INST: the last offset (seconds) in peerstats.
ntpsec_offset() { awk 'END { print $5 }' "$1/peerstats" 2>/dev/null; }

# -------------------------------------------------------------------- ntsd ---
#
# ntsd-ke + ntsd launched from one TOML file (docs/configuration.md).

# ntsd_write_config DIR MODE [TOML_LINE...]: write DIR/ntsd.toml for the
# server namespace made by ns_pair (MODE socket or dpdk) and the certificate
# from make_certs; sets NTSD_CONF. Extra arguments are appended verbatim
# (e.g. a whole "[server]" override is not possible twice, so use the
# NTSD_TOML_* variables below for per-table additions):
#   NTSD_TOML_KE, NTSD_TOML_KEYS, NTSD_TOML_DATAPLANE, NTSD_TOML_SERVER
# hold extra lines for the respective table.
# In dpdk mode ntsd owns $S4/$S6 on net_af_packet,iface=$IF_S and ntsd-ke
# listens on the kernel address $KE4/$KE6 and names $S4 in the NTPv4 Server
# record (RFC 8915 section 4.1.7).
ntsd_write_config() {
  local dir=$1 mode=$2; shift 2
  local line
  mkdir -p "$dir"
  NTSD_CONF=$dir/ntsd.toml
  {
    echo "[server]"
    echo "stratum = 1"
    # The kernels of test machines say "unsynchronised" (no NTP daemon):
    # serve the system clock as a local reference, as chrony's "local
    # stratum 1" would (docs/operations.md, "Timescale and leap seconds").
    echo "local_stratum = 1"
    [ -n "${NTSD_TOML_SERVER:-}" ] && echo "$NTSD_TOML_SERVER"
    echo
    echo "[ke]"
    echo "listen = [\"$KE4\", \"$KE6\"]"
    echo "cert = \"$PKI_CERT\""
    echo "key = \"$PKI_KEY\""
    echo "threads = 1"
    [ "$mode" = dpdk ] && echo "ntp_server = \"$S4\""
    [ -n "${NTSD_TOML_KE:-}" ] && echo "$NTSD_TOML_KE"
    echo
    echo "[keys]"
    echo "file = \"$dir/ntskeys\""
    [ -n "${NTSD_TOML_KEYS:-}" ] && echo "$NTSD_TOML_KEYS"
    echo
    echo "[dataplane]"
    echo "backend = \"$mode\""
    echo "workers = 1"
    if [ "$mode" = socket ]; then
      echo "listen = [\"$S4:123\", \"[$S6]:123\"]"
    else
      local eal="" a
      for a in $E2E_EAL_COMMON "--file-prefix=ntsd-$E2E_NS-$$"; do
        eal+="${eal:+, }\"$a\""
      done
      echo "eal_args = [$eal]"
      echo "ports = [\"net_af_packet0,iface=$IF_S\"]"
      echo "addresses = [\"$S4\", \"$S6\"]"
    fi
    [ -n "${NTSD_TOML_DATAPLANE:-}" ] && echo "$NTSD_TOML_DATAPLANE"
    echo
    echo "[metrics]"
    echo "listen = \"127.0.0.1:9123\""
    for line in "$@"; do echo "$line"; done
  } >"$NTSD_CONF"
}

# ntsd_stack_start MODE: start ntsd-ke and ntsd (MODE socket or dpdk) in
# $NS_S with a fresh config (ntsd_write_config); waits until NTS-KE listens
# and the responder is up. Sets NTSD_DIR, NTSD_KE_PID, NTSD_PID.
# Returns 3 if a binary is not built, 1 if a process failed to start.
ntsd_stack_start() {
  local mode=$1 ke nt
  ke=$(e2e_bin ntsd-ke) || return 3
  nt=$(e2e_bin ntsd) || return 3
  _e2e_new_inst "ntsd-$mode"
  NTSD_DIR=$E2E_INST
  ntsd_write_config "$NTSD_DIR" "$mode"
  echo "$NS_S" >"$NTSD_DIR/ns"
  e2e_spawn "ntsd-ke-$mode" "$NS_S" "$ke" --config "$NTSD_CONF"
  NTSD_KE_PID=$E2E_LAST_PID
  # ntsd reads the key file that ntsd-ke writes at start.
  wait_for "[ -s $NTSD_DIR/ntskeys ]" 10 || { e2e_log "ntsd-ke wrote no key file"; return 1; }
  wait_for "in_s ss -ltn | grep -q ':4460 '" 10 || { e2e_log "ntsd-ke is not listening"; return 1; }
  e2e_spawn "ntsd-$mode" "$NS_S" "$nt" --config "$NTSD_CONF"
  NTSD_PID=$E2E_LAST_PID
  local up
  if [ "$mode" = socket ]; then
    up="in_s ss -lun | grep -q '$S4:123 '"
  else
    # DPDK has no kernel socket to look for: wait until it answers ARP and
    # ICMP echo for its address.
    up="in_c ping -c 1 -W 1 $S4"
  fi
  wait_for "! e2e_alive $NTSD_PID || $up" 20 || true
  if ! e2e_alive "$NTSD_PID"; then
    if grep -q 'without DPDK' "$E2E_DIR/ntsd-$mode.log"; then
      e2e_log "ntsd was built without the DPDK backend"
      return 3
    fi
    e2e_log "ntsd ($mode) exited: $(tail -n 3 "$E2E_DIR/ntsd-$mode.log" | tr '\n' ' ')"
    return 1
  fi
  eval "$up" >/dev/null 2>&1 || { e2e_log "ntsd ($mode) does not answer on $S4"; return 1; }
  e2e_alive "$NTSD_KE_PID" || { e2e_log "ntsd-ke exited"; return 1; }
}

# ntsd_client_name: print the ntsd one-shot client that exists
# ("ntsgen query" preferred, else "ntsd-query"); non-zero if neither.
ntsd_client_name() {
  # (query --help exits non-zero, so look at its text, not the pipeline status)
  if e2e_bin ntsgen >/dev/null && [[ $("$NTSD_BIN/ntsgen" query --help 2>&1 || true) == *--ca* ]]; then
    echo "ntsgen query"
  elif e2e_bin ntsd-query >/dev/null; then
    echo "ntsd-query"
  else
    return 1
  fi
}

# ntsd_client_query NS HOST CA LOG [ARGS...]: one NTS-KE + one NTS exchange
# with the ntsd client from namespace NS; output in LOG. Sets NTSD_Q_KE and
# NTSD_Q_NTP to ok/FAIL and NTSD_Q_NOTE to the client's summary; KE is ok
# with AEAD ${NTSD_Q_WANT_AEAD:-15} ("[0-9]+": any) and 8 cookies.
# The client prints "NTS-KE: ok, AEAD 15, 8 cookies of N bytes, ..." and
# "NTP: ok, stratum S, offset O s, delay D s, ..." (ctrl/ke/src/query.cpp).
ntsd_client_query() {
  local ns=$1 host=$2 ca=$3 log=$4; shift 4
  local -a cmd
  read -r -a cmd <<<"$(ntsd_client_name)" || return 1
  cmd[0]=$NTSD_BIN/${cmd[0]}
  ip netns exec "$ns" timeout 20 "${cmd[@]}" "$host" --ca "$ca" "$@" >"$log" 2>&1 || true
  NTSD_Q_KE=FAIL NTSD_Q_NTP=FAIL NTSD_Q_NOTE=""
  # NTSD_Q_AEAD: the AEAD negotiated (15 unless ARGS offer another first).
  NTSD_Q_AEAD=$(sed -n 's/^NTS-KE: ok, AEAD \([0-9]*\).*/\1/p' "$log")
  grep -Eq "^NTS-KE: ok, AEAD ${NTSD_Q_WANT_AEAD:-15}[ ,].*8 cookies" "$log" && NTSD_Q_KE=ok
  grep -Eq '^NTP: ok' "$log" && NTSD_Q_NTP=ok
  NTSD_Q_NOTE=$(grep -E '^(NTS-KE|NTP):' "$log" | tr '\n' ' ' | sed 's/ *$//')
  [ "$NTSD_Q_KE" = ok ] && [ "$NTSD_Q_NTP" = ok ]
}

# json_get FILE EXPR: a value from ntsgen's --json output (python3: always
# there); EXPR sees the parsed document as r.
json_get() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$1"; }

# ntsgen_zero_loss NAME MIN_SENT: step 0 of the fixed-rate run whose --json
# is $E2E_DIR/NAME.json (its output in NAME.out) sent at least MIN_SENT
# requests, lost none, and got a valid response to every one; fails the test
# otherwise.
ntsgen_zero_loss() {
  local name=$1 min=$2 f=$E2E_DIR/$1.json sent valid lost
  sent=$(json_get "$f" 'r["steps"][0]["sent"]')
  valid=$(json_get "$f" 'r["steps"][0]["valid"]')
  lost=$(json_get "$f" 'r["steps"][0]["lost"]')
  e2e_log "$name: sent $sent valid $valid lost $lost, p99 $(json_get "$f" 'r["steps"][0]["latency_ns"]["p99"]') ns"
  [ "$sent" -ge "$min" ] || e2e_fail "$name: only $sent sent"
  [ "$lost" -eq 0 ] || e2e_fail "$name: $lost lost"
  [ "$valid" -eq "$sent" ] || { cat "$E2E_DIR/$name.out" >&2; e2e_fail "$name: $valid valid of $sent"; }
}

# -------------------------------------------------------------- ke_flood ---
#
# What the NTS-KE flood tests (flood_ke.sh, ke_slot_flood.sh) set up alike.

# ke_flood_init NAME: e2e_init NAME, the peers (chrony is their anchor),
# ntsd-ke, tests/ctrl/ke_flood as $KE_FLOOD, ns_pair and a PKI for ntsd.test
# on $S4/$S6 (PKI_* as make_certs sets them).
ke_flood_init() {
  e2e_init "$1"
  e2e_require_peers
  e2e_require_bin ntsd-ke
  KE_FLOOD=$NTSD_BUILD/tests/ke_flood
  [ -x "$KE_FLOOD" ] || e2e_fail "$KE_FLOOD is not built"
  ns_pair
  make_certs "$E2E_DIR/pki" ntsd.test "$S4" "$S6"
}

# client_addrs FIRST LAST: add 192.0.2.FIRST..LAST to the client side of
# the pair and set CLIENT_ADDRS to them, comma-separated (ke_flood --from
# and --legit-from take that list).
client_addrs() {
  local i
  CLIENT_ADDRS=""
  for i in $(seq "$1" "$2"); do
    in_c ip addr add "192.0.2.$i/24" dev "$IF_C"
    CLIENT_ADDRS+="${CLIENT_ADDRS:+,}192.0.2.$i"
  done
}

# ----------------------------------------------------------------- bench ---
#
# What the benchmark scripts (bench/ntsd_memif.sh, bench/soak.sh,
# bench/ntsgen/gen_ceiling.sh) share. They run outside ctest, without
# e2e_init: their processes are plain background jobs.

# bench_work_dir PREFIX: a fresh /tmp/PREFIX.XXXXXX in $work, an empty
# $pids for the script to append its background jobs to, and an EXIT trap
# that stops them (TERM, then KILL after 0.5 s) and removes $work unless
# KEEP is set (then it says where it is, on stderr).
bench_work_dir() {
  work=$(mktemp -d "/tmp/$1.XXXXXX")
  pids=()
  trap _bench_cleanup EXIT
}

_bench_cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  if [ -n "${KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
