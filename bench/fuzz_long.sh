#!/usr/bin/env bash
# Long fuzzing (issue 15; not in CI): every libFuzzer target of the
# ASan+UBSan build for N minutes each, two at a time (one per core), from its
# seed corpus under tests/; afterwards the inputs that add coverage are merged
# back into that seed corpus (libFuzzer -merge=1, so it grows only by what is
# new), and a table of executions, coverage and findings is printed.
#
#   bench/fuzz_long.sh                 10 minutes per target
#   bench/fuzz_long.sh -m 2            2 minutes per target
#   bench/fuzz_long.sh -m 5 -t ke_     only targets whose name contains ke_
#   bench/fuzz_long.sh --no-merge      leave tests/ untouched
#
# Needs build-asan/ (scripts/setup --asan). Crashes are kept in
# build-asan/fuzz/long/<target>/ and make the script exit 1.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=10 filter="" merge=1
while [ $# -gt 0 ]; do
  case $1 in
    -m) minutes=$2; shift 2 ;;
    -t) filter=$2; shift 2 ;;
    --no-merge) merge=0; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "fuzz_long: unknown option $1" >&2; exit 2 ;;
  esac
done
list=build-asan/fuzz/fuzzers.tsv
[ -f "$list" ] || { echo "fuzz_long: $list missing: run scripts/setup --asan" >&2; exit 2; }
out=build-asan/fuzz/long
mkdir -p "$out"
secs=$((minutes * 60))

run_one() {  # run_one NAME SEEDS
  local name=$1 seeds=$2 dir=$out/$1 bin=build-asan/fuzz/$1
  [ -x "$bin" ] || { echo "$name: not built" >"$dir.result"; return; }
  mkdir -p "$dir/corpus" "$seeds"
  ASAN_OPTIONS=detect_leaks=1 "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$dir/" "$dir/corpus" "$seeds" >"$dir.log" 2>&1 || true
  local execs cov ft crashes
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir.log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$dir.log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$dir.log" | tail -1 | cut -d' ' -f2)
  crashes=$(find "$dir" -maxdepth 1 -name 'crash-*' -o -maxdepth 1 -name 'leak-*' -o -maxdepth 1 -name 'timeout-*' -o -maxdepth 1 -name 'oom-*' | wc -l)
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$crashes" >"$dir.result"
}

targets=()
while IFS=$'\t' read -r name seeds; do
  [ -z "$filter" ] || [[ $name == *"$filter"* ]] || continue
  targets+=("$name|$seeds")
done <"$list"
echo "fuzz_long: ${#targets[@]} targets, $minutes min each, 2 at a time (CPU: $(lscpu | sed -n 's/^Model name: *//p'))"
i=0
while [ $i -lt ${#targets[@]} ]; do
  for j in 0 1; do
    [ $((i + j)) -lt ${#targets[@]} ] || continue
    t=${targets[$((i + j))]}
    run_one "${t%%|*}" "${t#*|}" &
  done
  wait
  i=$((i + 2))
done

if [ "$merge" = 1 ]; then
  for t in "${targets[@]}"; do
    name=${t%%|*} seeds=${t#*|}
    [ -d "$out/$name/corpus" ] || continue
    before=$(find "$seeds" -type f | wc -l)
    build-asan/fuzz/"$name" -merge=1 "$seeds" "$out/$name/corpus" >"$out/$name.merge.log" 2>&1 || true
    echo "$name: seed corpus $before -> $(find "$seeds" -type f | wc -l) files"
  done
fi

status=0
printf '\n| target | executions | coverage (cov) | features (ft) | crashes |\n|---|---|---|---|---|\n'
for t in "${targets[@]}"; do
  name=${t%%|*}
  IFS=$'\t' read -r n e c f k <"$out/$name.result"
  printf '| %s | %s | %s | %s | %s |\n' "$n" "$e" "$c" "$f" "${k:-?}"
  [ "${k:-0}" = 0 ] || status=1
done
exit $status
