#!/usr/bin/env bash
# Runs every benchmark binary given on the command line, in the order given,
# and prints their output (make bench: CTXSIM=<path> tests/run-bench.sh
# <bench binaries>).  CTXSIM is passed through to the benchmarks.  Exits 1
# when a benchmark fails, after running the others.
set -u
if [ "$#" -eq 0 ]; then
  echo "usage: tests/run-bench.sh BENCH_BINARY..." >&2
  exit 2
fi
status=0
for b in "$@"; do
  echo "==== $(basename "$b")"
  "$b"
  rc=$?
  if [ "$rc" != 0 ]; then
    echo "$(basename "$b"): failed (exit $rc)"
    status=1
  fi
done
exit "$status"
