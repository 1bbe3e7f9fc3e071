#!/usr/bin/env bash
# The command-line conventions of every binary (issue 16): --help prints the
# usage to stdout and exits 0; --version prints "NAME VERSION (commit X)"
# with the commit the build came from; a bad option prints to stderr (and
# nothing to stdout) and exits 2. Runs the built binaries in NTSD_BIN (or
# build/bin); BINARIES="..." to check installed ones (tests/packaging/deb.sh).
set -uo pipefail
src=${NTSD_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${NTSD_BIN:-$src/build/bin}
binaries=${BINARIES:-"$bin/ntsd $bin/ntsd-ke $bin/ntsd-pool $bin/ntsgen"}
want_commit=${NTSD_WANT_COMMIT:-$(git -C "$src" describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 checks=0
check() {  # check WHAT CONDITION...
  local what=$1; shift
  checks=$((checks + 1))
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what" >&2; fails=$((fails + 1)); fi
}
for b in $binaries; do
  name=$(basename "$b")
  if [ ! -x "$b" ]; then
    echo "FAIL: $b is not built" >&2
    fails=$((fails + 1))
    continue
  fi
  "$b" --help >"$tmp/out" 2>"$tmp/err"; rc=$?
  check "$name --help exits 0" [ $rc -eq 0 ]
  check "$name --help prints the usage on stdout" grep -qi 'usage' "$tmp/out"
  check "$name --help prints nothing on stderr" [ ! -s "$tmp/err" ]
  "$b" --version >"$tmp/out" 2>"$tmp/err"; rc=$?
  check "$name --version exits 0" [ $rc -eq 0 ]
  check "$name --version names itself, the version and the commit ($(cat "$tmp/out"))" \
    grep -qE "^$name [0-9]+\.[0-9]+\.[0-9]+ \(commit [0-9a-zA-Z._+~-]+\)$" "$tmp/out"
  # A build from this checkout names its commit (the dirty mark may differ:
  # the tree may have changed since the build).
  if [ -z "${BINARIES:-}" ]; then
    check "$name --version names the commit ${want_commit%-dirty}" grep -q "commit ${want_commit%-dirty}" "$tmp/out"
  fi
  "$b" --no-such-option >"$tmp/out" 2>"$tmp/err"; rc=$?
  check "$name --no-such-option exits 2 (got $rc)" [ $rc -eq 2 ]
  check "$name --no-such-option says so on stderr" [ -s "$tmp/err" ]
  check "$name --no-such-option prints nothing on stdout" [ ! -s "$tmp/out" ]
done
echo "$((checks - fails)) passed, $fails failed"
[ $fails -eq 0 ]
