#!/usr/bin/env bash
# tests/fuzz.sh TARGET... - builds the libFuzzer targets (make fuzz-build)
# and runs each for FUZZ_TIME seconds (default 60) with inputs up to
# FUZZ_MAX_LEN bytes (default 65536), seeded from its in-tree corpus
# tests/data/fuzz/<target>/ (read only) plus the regression inputs; new
# inputs go to build/fuzz/corpus-<target>/, crashes to
# build/fuzz/artifacts/<target>/.  Prints executions and exec/s per target.
#
# Without clang or libFuzzer: prints why and exits 0 when FUZZ_OPTIONAL=1
# (CI), else 2.  A crash, leak or broken invariant: exit 1 with the file to
# add under tests/data/fuzz/regress/<target>/ (then `make test` replays it).
set -uo pipefail
cd "$(dirname "$0")/.."
FUZZ_TIME=${FUZZ_TIME:-60}
FUZZ_MAX_LEN=${FUZZ_MAX_LEN:-65536}
skip() {
  echo "fuzz: skipped: $1"
  [ "${FUZZ_OPTIONAL:-0}" = 1 ] && exit 0
  exit 2
}
command -v clang >/dev/null 2>&1 || skip "clang is not installed (Debian: apt-get install clang)"
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return 0; }' \
  > "$probe/p.c"
clang -fsanitize=fuzzer,address "$probe/p.c" -o "$probe/p" 2>/dev/null ||
  skip "clang has no libFuzzer (-fsanitize=fuzzer)"
make -s -j2 fuzz-build >/dev/null || { echo "fuzz: building the targets failed"; exit 2; }
status=0
for t in "$@"; do
  corpus=build/fuzz/corpus-$t arts=build/fuzz/artifacts/$t
  mkdir -p "$corpus" "$arts"
  seeds=(tests/data/fuzz/"$t")
  [ -d tests/data/fuzz/regress/"$t" ] && seeds+=(tests/data/fuzz/regress/"$t")
  log=build/fuzz/$t.log
  build/fuzz/fuzz_"$t" -max_total_time="$FUZZ_TIME" -max_len="$FUZZ_MAX_LEN" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$arts/" "$corpus" "${seeds[@]}" \
    > "$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  seeded=$(sed -n 's/.*INITED.*corp: \([0-9]*\)\/.*/\1/p' "$log" | head -1)
  echo "fuzz: $t: ${execs:-?} executions in ${FUZZ_TIME} s (${rate:-?} exec/s), ${seeded:-?} seed inputs kept, max_len $FUZZ_MAX_LEN"
  if [ $rc -ne 0 ]; then
    status=1
    echo "fuzz: $t FAILED (exit $rc); the end of $log:"
    tail -30 "$log"
    for a in "$arts"/*; do
      [ -f "$a" ] && echo "fuzz: add it as a regression input: cp $a tests/data/fuzz/regress/$t/"
    done
  fi
done
exit $status
