#!/usr/bin/env bash
# make determinism: build with gcc and clang at -O0 and -O2, run the whole
# suite under both profiles with 20 seeds each, and compare every seed's
# trace hash across the four builds.
set -eu
out=build/determinism
mkdir -p "$out"
ref=""
for cc in gcc clang; do
  for opt in -O0 -O2; do
    make -s CC=$cc OPT=$opt build/$cc$opt/ctxsim >/dev/null
    f="$out/$cc$opt.hashes"
    for p in fixed legacy; do
      build/$cc$opt/ctxsim run scenarios --profile $p --seeds 20 --no-db --format json \
        | python3 -c 'import json,sys
for r in json.load(sys.stdin):
    for s in r["seed_hashes"]:
        print(r["scenario"], r["profile"], s["seed"], s["trace_hash"])'
    done > "$f"
    n=$(wc -l < "$f")
    echo "$cc $opt: $n seed hashes"
    if [ -z "$ref" ]; then ref=$f; elif ! cmp -s "$ref" "$f"; then
      echo "DIFFERENT trace hashes between $(basename "$ref" .hashes) and $cc$opt:"
      diff "$ref" "$f" | head -5; exit 1
    fi
  done
done
echo "determinism: identical trace hashes for gcc/clang x -O0/-O2"
