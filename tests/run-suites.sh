#!/usr/bin/env bash
# Runs every Check suite binary given on the command line, from the
# repository root, and ends with Check's own summary lines plus one total.
set -u
total=0; failed=0; bad_suites=""
for t in "$@"; do
  out=$("$t" 2>&1); rc=$?
  printf '%s\n' "$out" | grep -v '^[0-9]*%: Checks' 
  line=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: [0-9]+' | tail -1)
  if [ -z "$line" ]; then echo "$(basename "$t"): no Check summary (rc=$rc)"; failed=$((failed+1)); bad_suites="$bad_suites $(basename "$t")"; continue; fi
  n=$(printf '%s' "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
  f=$(printf '%s' "$line" | sed -E 's/.*Failures: ([0-9]+), Errors: ([0-9]+).*/\1 \2/' | awk '{print $1+$2}')
  total=$((total+n)); failed=$((failed+f))
  summaries="${summaries:-}$(basename "$t"): $line"$'\n'
  if [ "$rc" != 0 ] || [ "$f" != 0 ]; then bad_suites="$bad_suites $(basename "$t")"; fi
done
echo "---- Check summaries ----"
printf '%s' "${summaries:-}"
echo "$((total-failed)) passed, $failed failed"
[ -z "$bad_suites" ] || { echo "failing suites:$bad_suites"; exit 1; }
