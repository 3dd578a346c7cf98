#!/bin/sh
# shard.sh - the entrypoint of one shard of a distributed sweep: a pod of a
# Kubernetes Indexed Job, a job of a CI matrix, or a shell on any host.
#
#   JOB_COMPLETION_INDEX  0-based index of this shard (Kubernetes sets it;
#                         a CI matrix passes its own, e.g. SHARD_INDEX)
#   SHARDS                number of shards N (the Job's completions)
#   OUT                   directory shared with the merge step (a volume)
#   CTXSIM                the ctxsim binary (default: ctxsim on PATH)
#   SCENARIOS             scenario files or directories (default: scenarios)
#   LABEL                 label of the merged run (e.g. the commit)
#   CTXSIM_ARGS           more `ctxsim run` options (e.g. --profile fixed,legacy)
#
# It runs the seeds S with (S - 1) mod N == K - 1 (K = index + 1) into
# $OUT/shard-K.db and exits 0 once the shard is recorded, whatever its verdict:
# the verdict is the merged run's (merge.sh gates it), and a Job must not
# retry a pod because a scenario failed.  Any other exit is an error worth a
# retry (bad input 2, a signal, a database that could not be written).
set -eu
: "${SHARDS:?SHARDS (the number of shards) is required}"
index=${JOB_COMPLETION_INDEX:-${SHARD_INDEX:-}}
: "${index:?JOB_COMPLETION_INDEX (0-based shard index) is required}"
out=${OUT:-out}
ctxsim=${CTXSIM:-ctxsim}
k=$((index + 1))
if [ "$k" -lt 1 ] || [ "$k" -gt "$SHARDS" ]; then
    echo "shard.sh: index $index is outside 0..$((SHARDS - 1))" >&2
    exit 2
fi
mkdir -p "$out"
db="$out/shard-$k.db"
tmp="$out/.shard-$k.db.partial"
rm -f "$tmp" "$tmp-wal" "$tmp-shm"
# Record into a temporary name, rename when the shard is complete: the merge
# step never sees half a shard (a killed pod leaves only the .partial file).
set +e
# shellcheck disable=SC2086
"$ctxsim" run ${SCENARIOS:-scenarios} --shard "$k/$SHARDS" --db "$tmp" \
    --label "${LABEL:-shards}" -q ${CTXSIM_ARGS:-}
rc=$?
set -e
case $rc in
0 | 1) ;;
*) echo "shard.sh: shard $k/$SHARDS: ctxsim run exited $rc" >&2; exit "$rc" ;;
esac
"$ctxsim" db vacuum --db "$tmp" >/dev/null # folds the WAL in: one file to move
mv -f "$tmp" "$db"
rm -f "$tmp-wal" "$tmp-shm"
echo "shard.sh: shard $k/$SHARDS recorded in $db (ctxsim run exit $rc)"
