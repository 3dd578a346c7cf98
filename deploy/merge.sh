#!/bin/sh
# merge.sh - the last step of a distributed sweep: merge every shard of $OUT
# into $OUT/results.db, gate it and draw the report.  Its exit status is the
# gate's (0 pass, 1 fail, 2 bad input); a missing shard is an error (2): the
# merged run would silently have fewer seeds.
#
#   SHARDS   number of shards N    OUT  the shared directory
#   CTXSIM   the ctxsim binary     GATE_ARGS  more `ctxsim gate` options
set -eu
: "${SHARDS:?SHARDS (the number of shards) is required}"
out=${OUT:-out}
ctxsim=${CTXSIM:-ctxsim}
k=1
missing=
while [ "$k" -le "$SHARDS" ]; do
    [ -f "$out/shard-$k.db" ] || missing="$missing $k"
    k=$((k + 1))
done
if [ -n "$missing" ]; then
    echo "merge.sh: shard(s)$missing of $SHARDS are missing in $out" >&2
    exit 2
fi
rm -f "$out/results.db" "$out/results.db-wal" "$out/results.db-shm"
k=1
set --
while [ "$k" -le "$SHARDS" ]; do
    set -- "$@" "$out/shard-$k.db"
    k=$((k + 1))
done
"$ctxsim" merge "$out/results.db" "$@"
"$ctxsim" report --db "$out/results.db" --out "$out/report" >/dev/null
# shellcheck disable=SC2086
exec "$ctxsim" gate --db "$out/results.db" ${GATE_ARGS:-}
