#!/usr/bin/env bash
# packaging/prometheus/ntsd.rules.yml: valid for Prometheus (promtool check
# rules), its alerts fire as its unit tests say (promtool test rules), and
# every ntsd_* metric it names is rendered by ntsd (dataplane/app/src/stats.cpp,
# clock_metrics.cpp)
# or ntsd-ke (ctrl/app/ke_metrics.cpp). promtool comes from Debian's
# prometheus package, unpacked into build/peers/prometheus by scripts/setup.
set -euo pipefail
src=${NTSD_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}
promtool=$src/build/peers/prometheus/usr/bin/promtool
[ -x "$promtool" ] || promtool=$(command -v promtool || true)
if [ -z "$promtool" ]; then
  echo "FAIL: promtool not found (run scripts/setup --deps: it unpacks Debian's prometheus package)" >&2
  exit 1
fi
cd "$src/packaging/prometheus"
"$promtool" check rules ntsd.rules.yml
"$promtool" test rules ntsd.rules.test.yml
missing=0
for m in $(grep -o 'ntsd_[a-z0-9_]*' ntsd.rules.yml | sort -u); do
  if ! grep -q "\"$m" "$src/dataplane/app/src/stats.cpp" "$src/dataplane/app/src/clock_metrics.cpp" "$src/ctrl/app/ke_metrics.cpp"; then
    echo "FAIL: ntsd.rules.yml uses $m, which neither ntsd nor ntsd-ke exports" >&2
    missing=1
  fi
done
[ $missing -eq 0 ] || exit 1
echo "PASS: $(grep -c '^      - alert:' ntsd.rules.yml) alert rules checked and unit-tested"
