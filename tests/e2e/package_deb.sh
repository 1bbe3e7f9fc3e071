#!/usr/bin/env bash
# The Debian package (issue 16, docs/operations.md "Installing the package"):
# scripts/package builds ntsd_<version>_amd64.deb; lintian reports no error
# and no warning; `apt-get install ./ntsd_*.deb` installs it with its
# dependencies; the installed example passes `ntsd --check-config
# --no-devices` (and fails without it, naming the PHC this machine lacks);
# the installed binaries follow the CLI conventions and, run in namespaces,
# serve chrony 4.3 one NTS exchange; `apt-get purge` then leaves none of the
# package's files, no /var/lib/ntsd and no /usr/share/ntsd behind.
# The package is purged on the way out whatever happens.
# e2e-timeout: 240
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init package_deb
e2e_require_peers
src=${NTSD_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${NTSD_BUILD:-$src/build}
command -v lintian >/dev/null || e2e_fail "lintian is not installed (scripts/setup --deps installs it)"

ours=0
purge_leftover() {
  if [ $ours = 1 ] && dpkg -s ntsd >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -q ntsd >/dev/null 2>&1 || true
  fi
}
trap 'rc_=$?; purge_leftover; (exit $rc_); _e2e_cleanup' EXIT
if dpkg -s ntsd >/dev/null 2>&1; then
  e2e_fail "a package ntsd is already installed on this machine; remove it first (apt-get purge ntsd)"
fi

# Build and lint.
deb=$("$src/scripts/package" --build "$build" --out "$E2E_DIR" 2>"$E2E_DIR/package.err" | tail -1) ||
  { cat "$E2E_DIR/package.err" >&2; e2e_fail "scripts/package failed"; }
[[ $(basename "$deb") =~ ^ntsd_[0-9]+\.[0-9]+\.[0-9]+_amd64\.deb$ ]] || e2e_fail "unexpected package name $deb"
e2e_log "built $(basename "$deb"): $(dpkg-deb -f "$deb" Depends)"
for lib in librte-ethdev libipsec-mb libssl3 libtomlplusplus; do
  dpkg-deb -f "$deb" Depends | grep -q "$lib" || e2e_fail "Depends lacks $lib"
done
lintian --fail-on error,warning "$deb" >"$E2E_DIR/lintian.out" 2>&1 ||
  { cat "$E2E_DIR/lintian.out" >&2; e2e_fail "lintian reports errors or warnings"; }
e2e_log "lintian: no error, no warning"

# Install.
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|; s|/$||' | grep -v '^$' >"$E2E_DIR/contents"
(cd "$E2E_DIR" && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "./$(basename "$deb")") \
  >"$E2E_DIR/install.log" 2>&1 || { tail -20 "$E2E_DIR/install.log" >&2; e2e_fail "apt-get install failed"; }
ours=1
e2e_log "installed: $(dpkg-query -W -f='${Package} ${Version} ${Status}' ntsd)"
for f in /usr/sbin/ntsd /usr/sbin/ntsd-ke /usr/sbin/ntsd-pool /usr/bin/ntsgen /lib/systemd/system/ntsd.service \
         /lib/systemd/system/ntsd-ke.service /usr/lib/sysusers.d/ntsd.conf /usr/share/ntsd/ntsd.toml.example \
         /usr/share/man/man8/ntsd.8.gz /usr/share/man/man8/ntsd-ke.8.gz /usr/share/man/man1/ntsgen.1.gz \
         /usr/share/man/man5/ntsd.toml.5.gz; do
  [ -e "$f" ] || e2e_fail "$f is not installed"
done
[ -d /var/lib/ntsd ] || e2e_fail "/var/lib/ntsd is not installed"
getent passwd ntsd-ke >/dev/null || e2e_fail "postinst made no ntsd-ke user"
grep -q '^ExecStart=/usr/sbin/ntsd-ke ' /lib/systemd/system/ntsd-ke.service || e2e_fail "ntsd-ke.service does not run /usr/sbin/ntsd-ke"
zcat /usr/share/man/man5/ntsd.toml.5.gz | grep -q 'secret_file' || e2e_fail "ntsd.toml(5) lacks [keys] secret_file"

# The installed example: valid but for the PHC it names, which this machine lacks.
ex=/usr/share/ntsd/ntsd.toml.example
/usr/sbin/ntsd --check-config "$ex" --no-devices >"$E2E_DIR/check.out" 2>&1 ||
  { cat "$E2E_DIR/check.out" >&2; e2e_fail "ntsd --check-config --no-devices fails on the installed example"; }
e2e_log "$(tail -1 "$E2E_DIR/check.out")"
if /usr/sbin/ntsd --check-config "$ex" >"$E2E_DIR/check-dev.out" 2>&1; then
  e2e_fail "ntsd --check-config opened /dev/ptp0 on a machine without it?"
fi
grep -q 'ptp0' "$E2E_DIR/check-dev.out" || { cat "$E2E_DIR/check-dev.out" >&2; e2e_fail "no reason naming the PHC"; }
/usr/sbin/ntsd-ke --check-config --config "$ex" >"$E2E_DIR/check-ke.out" 2>&1 ||
  { cat "$E2E_DIR/check-ke.out" >&2; e2e_fail "ntsd-ke --check-config fails on the installed example"; }
BINARIES="/usr/sbin/ntsd /usr/sbin/ntsd-ke /usr/sbin/ntsd-pool /usr/bin/ntsgen" \
  bash "$src/tests/packaging/cli_conventions.sh" >"$E2E_DIR/cli.out" 2>&1 ||
  { cat "$E2E_DIR/cli.out" >&2; e2e_fail "installed binaries break the CLI conventions"; }
e2e_log "installed binaries: $(tail -1 "$E2E_DIR/cli.out") CLI checks; $(/usr/sbin/ntsd --version)"

# The installed binaries serve chrony 4.3 in namespaces.
mkdir -p "$E2E_DIR/bin"
ln -s /usr/sbin/ntsd "$E2E_DIR/bin/ntsd"
ln -s /usr/sbin/ntsd-ke "$E2E_DIR/bin/ntsd-ke"
NTSD_BIN=$E2E_DIR/bin
ns_pair
make_certs "$E2E_DIR/pki" ntsd.test "$S4" "$S6"
ntsd_stack_start socket || e2e_fail "the installed ntsd-ke/ntsd did not start"
[ "$(readlink "/proc/$NTSD_PID/exe")" = /usr/sbin/ntsd ] || e2e_fail "the responder is not /usr/sbin/ntsd"
[ "$(readlink "/proc/$NTSD_KE_PID/exe")" = /usr/sbin/ntsd-ke ] || e2e_fail "NTS-KE is not /usr/sbin/ntsd-ke"
chrony_nts_client "$NS_C" ntsd.test "$PKI_CA"; cli=$E2E_INST
wait_for "chrony_got_samples $cli 1" 30 || e2e_fail "chrony 4.3 got no NTS answer from the installed ntsd"
e2e_log "chrony 4.3: $(chrony_rx_count "$cli" valid) authenticated answer(s) from the installed binaries"
e2e_stop "$(cat "$cli/pid")"; e2e_stop "$NTSD_PID"; e2e_stop "$NTSD_KE_PID"
# What the service would have written at run time: purge must take it too.
cp "$NTSD_DIR/ntskeys" /var/lib/ntsd/ntskeys

# Purge: nothing of the package is left.
DEBIAN_FRONTEND=noninteractive apt-get purge -y -q ntsd >"$E2E_DIR/purge.log" 2>&1 ||
  { tail -20 "$E2E_DIR/purge.log" >&2; e2e_fail "apt-get purge failed"; }
ours=0
! dpkg -s ntsd >/dev/null 2>&1 || e2e_fail "dpkg still knows ntsd after the purge"
left=0
while read -r f; do
  case $f in
    /usr/share/ntsd*|/usr/share/doc/ntsd*|/var/lib/ntsd*|/usr/sbin/ntsd*|/usr/bin/ntsgen|*/ntsd*.service|*/sysusers.d/ntsd.conf|*/man?/ntsd*|*/man1/ntsgen*)
      if [ -e "$f" ]; then e2e_log "left behind: $f"; left=1; fi ;;
  esac
done <"$E2E_DIR/contents"
for d in /var/lib/ntsd /usr/share/ntsd /usr/share/doc/ntsd /etc/ntsd; do
  if [ -e "$d" ]; then e2e_log "left behind: $d"; left=1; fi
done
[ $left = 0 ] || e2e_fail "the purge left files behind"
e2e_log "purged: no file of the package left ($(wc -l <"$E2E_DIR/contents") paths checked); the ntsd-ke system user stays, as Debian leaves system users"
e2e_pass "package: built, lintian clean, installed, example checked, chrony served by the installed binaries, purged clean"
