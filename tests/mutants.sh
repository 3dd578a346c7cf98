#!/usr/bin/env bash
# tests/mutants.sh - tests the tester: plants one bug at a time in a scratch
# copy of core/src, builds ctxsim against it and runs the detectors that
# must catch it.
#
#   tests/mutants.sh [options] [ID...]     (make mutants: every catalogue mutant)
#
#   --check        only verify that every catalogue entry still applies
#                  (exactly one match of its `old` block); no build, no run
#   --baseline BIN only run every detector with ctxsim binary BIN on the
#                  real core: the CI's search budget, which must find
#                  nothing (exit 1 on any finding)
#   --gate         only the mutants marked `gate: yes` (what `make test` runs);
#                  stops at the first detector that kills each one
#   --lines        line-level mutants generated from core/src by operators
#                  (relational and logical flips, 0/1 swaps, deleted calls,
#                  dropped negations) instead of the catalogue; like --gate,
#                  stops at the first detector that kills each one
#   --sample N     with --lines: a deterministic sample of N mutants
#                  (default 150; 0: all of them)
#   --min-score P  with --lines: exit 1 when fewer than P percent of the
#                  non-equivalent mutants that build are killed
#   --list         print the selected mutants (id, file:line, change) and stop
#   --seeds N      seeds of the suite detector (default 30)
#   --jobs N       worker processes of ctxsim and make (default 2)
#   --timeout S    time bound of one detector run, seconds (default 60)
#   --catalogue F  catalogue file (default tests/mutants/catalogue.txt)
#   --detectors F  detector file (default tests/mutants/detectors.txt)
#   --keep         keep the scratch directory (its path is printed)
#
# Detectors (tests/mutants/detectors.txt, one `name: ctxsim arguments` per
# line; $SEEDS and $JOBS are substituted) are the things `.ci/run` runs that
# can see a core bug: the scenario suite, the swarm and PCT explorers, the
# small-scope checker.  A detector catches a mutant when it exits 1.  A
# catalogue entry's own `catch:` command is one more detector for it, run first.
#
# How: the working tree (without build/, out/, .git) is copied into a
# mktemp directory (removed on exit), ctxsim is built there once
# (O=build/mutant) and every detector is run on the unmutated build, which
# must exit 0 (else nothing else means anything).  Then, per mutant: apply,
# rebuild (one core object and the link), run the detectors under
# `timeout`, restore the file.
#
# Per mutant it prints one mark per detector (K killed, . exit 0, T timeout,
# C crash or other exit status, - not run) and a result:
#   killed        some detector exited 1, as required
#   SURVIVED      none did: nothing in CI sees this bug
#   BUILD-FAILED  the mutant does not compile (catalogue: fix the entry;
#                 --lines: not counted)
#   TIMEOUT       a detector ran past --timeout and none killed it (a hang:
#                 the simulator's step watchdog should have failed the seed)
#   CRASHED       a detector crashed or exited 2 and none killed it
#   equivalent    survived, and the catalogue (or, for --lines,
#                 tests/mutants/equivalent.txt) says why it cannot be killed
# Exit status: 0 every mutant killed (or equivalent), 1 any other outcome,
# 2 bad usage or a catalogue entry that does not apply.  With --lines the
# score is the result: the exit status is 1 only below --min-score (or on a
# harness failure).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CATALOGUE=$ROOT/tests/mutants/catalogue.txt
DETECTORS=$ROOT/tests/mutants/detectors.txt
EQUIVALENT=$ROOT/tests/mutants/equivalent.txt
SEEDS=30
JOBS=2
TIMEOUT=60
MODE=all
KEEP=0
LINES=0
SAMPLE=150
LIST=0
MIN_SCORE=
ONLY=()

usage() { sed -n '2,50p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --check) MODE=check ;;
    --baseline) MODE=baseline; BASE_BIN=$2; shift ;;
    --gate) MODE=gate ;;
    --lines) LINES=1 ;;
    --sample) SAMPLE=$2; shift ;;
    --list) LIST=1 ;;
    --min-score) MIN_SCORE=$2; shift ;;
    --seeds) SEEDS=$2; shift ;;
    --jobs) JOBS=$2; shift ;;
    --timeout) TIMEOUT=$2; shift ;;
    --catalogue) CATALOGUE=$2; shift ;;
    --detectors) DETECTORS=$2; shift ;;
    --keep) KEEP=1 ;;
    -h|--help) usage ;;
    -*) echo "mutants: unknown option $1" >&2; usage ;;
    *) ONLY+=("$1") ;;
  esac
  shift
done
[ -f "$CATALOGUE" ] || { echo "mutants: no catalogue $CATALOGUE" >&2; exit 2; }
[ -f "$DETECTORS" ] || { echo "mutants: no detector file $DETECTORS" >&2; exit 2; }
[[ $SAMPLE =~ ^[0-9]+$ ]] || { echo "mutants: --sample expects a number" >&2; exit 2; }

# ---- the detectors -----------------------------------------------------------
D_NAME=() D_CMD=()
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
  lineno=$((lineno + 1))
  case $line in '#'*|'') continue ;; esac
  name=${line%%:*}
  [ "$name" != "$line" ] && [[ $name =~ ^[a-z0-9_]+$ ]] ||
    { echo "mutants: $DETECTORS:$lineno: expected 'name: ctxsim arguments'" >&2; exit 2; }
  cmd=${line#*:}; cmd=${cmd# }
  cmd=${cmd//\$SEEDS/$SEEDS}; cmd=${cmd//\$JOBS/$JOBS}
  D_NAME+=("$name"); D_CMD+=("$cmd")
done < "$DETECTORS"
[ ${#D_NAME[@]} -gt 0 ] || { echo "mutants: $DETECTORS lists no detector" >&2; exit 2; }

# ---- --baseline: the detectors on the real core -------------------------------
if [ $MODE = baseline ]; then
  [ -x "$BASE_BIN" ] || { echo "mutants: --baseline: $BASE_BIN is not executable" >&2; exit 2; }
  status=0
  for ((k = 0; k < ${#D_NAME[@]}; k++)); do
    t0=$(date +%s.%N) rc=0
    # shellcheck disable=SC2086 # the command is a word list by design
    out=$(cd "$ROOT" && timeout --kill-after=5 "$TIMEOUT" "$BASE_BIN" ${D_CMD[k]} 2>&1) || rc=$?
    dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    if [ $rc = 0 ]; then
      echo "detector ${D_NAME[k]}: nothing found (${dt} s): ctxsim ${D_CMD[k]}"
    else
      echo "detector ${D_NAME[k]}: exit $rc (${dt} s): ctxsim ${D_CMD[k]}"
      printf '%s\n' "$out" | tail -40 | sed 's/^/    /'
      status=1
    fi
  done
  exit $status
fi

# ---- the mutants: one record per mutant --------------------------------------
# M_FILE/M_OLD/M_NEW: the block to replace (catalogue) or, with M_AT set, the
# line number whose text M_OLD is replaced by M_NEW (--lines).
M_ID=() M_ISSUE=() M_DESC=() M_FILE=() M_OLD=() M_NEW=() M_CATCH=() M_GATE=() M_EQUIV=() M_AT=()
n=-1
append() { # append VAR-array index value: joins repeated keys with newlines
  local -n arr=$1
  if [ -n "${arr[$2]+set}" ] && [ -n "${arr[$2]}" ]; then arr[$2]+=$'\n'"$3"; else arr[$2]=$3; fi
}
lineno=0
die_cat() { echo "mutants: $CATALOGUE:$lineno: $*" >&2; exit 2; }
in_block=0
while IFS= read -r line || [ -n "$line" ]; do
  lineno=$((lineno + 1))
  case $line in
    '#'*) continue ;;
    '') in_block=0; continue ;;
  esac
  key=${line%%:*}
  [ "$key" != "$line" ] || die_cat "expected 'key: value'"
  val=${line#*:}; val=${val# }
  if [ $in_block = 0 ]; then
    [ "$key" = id ] || die_cat "a block starts with 'id:'"
    n=$((n + 1)); in_block=1
    M_ID[n]='' M_ISSUE[n]='' M_DESC[n]='' M_FILE[n]='' M_OLD[n]='' M_NEW[n]='' M_CATCH[n]=''
    M_GATE[n]=no M_EQUIV[n]='' M_AT[n]=''
  fi
  case $key in
    id) [[ $val =~ ^[a-z0-9_]+$ ]] || die_cat "bad id '$val'"
        for ((k = 0; k < n; k++)); do [ "${M_ID[k]}" != "$val" ] || die_cat "duplicate id $val"; done
        M_ID[n]=$val ;;
    issue) M_ISSUE[n]=$val ;;
    desc) M_DESC[n]=$val ;;
    file) M_FILE[n]=$val ;;
    old) append M_OLD "$n" "$val" ;;
    new) append M_NEW "$n" "$val" ;;
    catch) M_CATCH[n]=$val ;;
    gate) M_GATE[n]=$val ;;
    equivalent) M_EQUIV[n]=$val ;;
    *) die_cat "unknown key '$key'" ;;
  esac
done < "$CATALOGUE"
for ((i = 0; i <= n; i++)); do
  for k in M_DESC M_FILE M_OLD M_NEW; do
    v="$k[$i]"; [ -n "${!v}" ] || { echo "mutants: mutant ${M_ID[i]}: no ${k#M_}" >&2; exit 2; }
  done
  [ "${M_OLD[i]}" != "${M_NEW[i]}" ] || { echo "mutants: mutant ${M_ID[i]}: new equals old" >&2; exit 2; }
done

# apply SRC OUT OLD NEW: writes SRC with the one occurrence of block OLD
# replaced by NEW into OUT.  Exit 3 (and a message) unless exactly one match.
apply() {
  OLD=$3 NEW=$4 awk '
    BEGIN { n = split(ENVIRON["OLD"], o, "\n") }
    { line[NR] = $0 }
    END {
      hits = 0
      for (i = 1; i + n - 1 <= NR; i++) {
        ok = 1
        for (j = 1; j <= n; j++)
          if ((line[i + j - 1] "") != (o[j] "")) { ok = 0; break }
        if (ok) { hits++; at = i }
      }
      if (hits != 1) { printf "%d matches (need exactly 1)\n", hits > "/dev/stderr"; exit 3 }
      for (i = 1; i < at; i++) printf "%s\n", line[i]
      printf "%s\n", ENVIRON["NEW"]
      for (i = at + n; i <= NR; i++) printf "%s\n", line[i]
    }' "$1" > "$2"
}

# apply_at SRC OUT LINE OLD NEW: line LINE of SRC must read OLD; writes SRC
# with it replaced by NEW into OUT.  Exit 3 unless it reads OLD.
apply_at() {
  AT=$3 OLD=$4 NEW=$5 awk '
    NR == ENVIRON["AT"] {
      if ($0 != ENVIRON["OLD"]) { print "line " NR " changed" > "/dev/stderr"; bad = 1; exit 3 }
      print ENVIRON["NEW"]; next
    }
    { print }' "$1" > "$2"
}

# ---- --check: every catalogue entry applies ------------------------------------
bad=0
for ((i = 0; i <= n; i++)); do
  f=$ROOT/${M_FILE[i]}
  if [ ! -f "$f" ]; then
    echo "mutants: ${M_ID[i]}: no file ${M_FILE[i]}" >&2; bad=1; continue
  fi
  if ! msg=$(apply "$f" /dev/null "${M_OLD[i]}" "${M_NEW[i]}" 2>&1); then
    echo "mutants: ${M_ID[i]}: does not apply to ${M_FILE[i]}: $msg" >&2; bad=1
  fi
done
[ $bad = 0 ] || { echo "mutants: catalogue out of date with core/src (see above)" >&2; exit 2; }
if [ $MODE = check ]; then
  echo "mutants: all $((n + 1)) catalogue entries apply"
  exit 0
fi

# ---- --lines: generated mutants replace the catalogue --------------------------
if [ $LINES = 1 ]; then
  # The behaviour of the core: routing, connections, runs, streams, timers,
  # maps, the policy.  errors.c (message strings), metrics.c (histograms and
  # the dump's text) and alloc.c (the allocator wrappers) are the unit
  # suites' business: what they compute never reaches a routing decision.
  srcs=(core/src/conn.c core/src/run.c core/src/stream.c core/src/timer.c core/src/ctx.c
        core/src/map.c core/src/policy.c)
  gen=$(cd "$ROOT" && awk -f tests/mutants/lines.awk "${srcs[@]}")
  if [ "$SAMPLE" -gt 0 ]; then
    # shuf with a fixed random source: the same sample on every run.
    gen=$(printf '%s\n' "$gen" | shuf -n "$SAMPLE" --random-source=<(yes ctxsim-mutants) | sort -t$'\t' -k1,1 -k2,2n -k3,3)
  fi
  declare -A EQ=()
  if [ -f "$EQUIVALENT" ]; then
    while IFS=$'\t' read -r key why; do
      case $key in '#'*|'') continue ;; esac
      EQ[$key]=$why
    done < "$EQUIVALENT"
  fi
  M_ID=() M_ISSUE=() M_DESC=() M_FILE=() M_OLD=() M_NEW=() M_CATCH=() M_GATE=() M_EQUIV=() M_AT=()
  n=-1
  while IFS=$'\t' read -r file at op old new; do
    [ -n "$file" ] || continue
    n=$((n + 1))
    base=${file##*/}; base=${base%.c}
    M_ID[n]="${base}_${at}_${op}"
    M_FILE[n]=$file M_AT[n]=$at M_OLD[n]=$old M_NEW[n]=$new M_CATCH[n]='' M_GATE[n]=no
    M_DESC[n]="${file}:${at}: $(printf '%s' "$new" | sed 's/^ *//')"
    key="$file"$'\t'"$op"$'\t'"$(printf '%s' "$old" | sed 's/^ *//')"
    M_EQUIV[n]=${EQ[$key]:-}
  done <<< "$gen"
fi

for id in "${ONLY[@]+"${ONLY[@]}"}"; do
  found=0
  for ((i = 0; i <= n; i++)); do [ "${M_ID[i]}" != "$id" ] || found=1; done
  [ $found = 1 ] || { echo "mutants: no mutant '$id'" >&2; exit 2; }
done

selected() { # index -> 0 when the mutant is to be run
  local i=$1 id
  if [ ${#ONLY[@]} -gt 0 ]; then
    for id in "${ONLY[@]}"; do [ "$id" != "${M_ID[i]}" ] || return 0; done
    return 1
  fi
  [ $MODE != gate ] || [ "${M_GATE[i]}" = yes ]
}

if [ $LIST = 1 ]; then
  for ((i = 0; i <= n; i++)); do
    selected "$i" || continue
    printf '%-36s %s\n' "${M_ID[i]}" "${M_DESC[i]}"
  done
  exit 0
fi

# ---- scratch copy and baseline ----------------------------------------------
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/ctxsim-mutants.XXXXXX")
if [ $KEEP = 1 ]; then
  echo "mutants: scratch directory $SCRATCH (kept)"
else
  trap 'rm -rf "$SCRATCH"' EXIT
fi
TREE=$SCRATCH/tree LOGS=$SCRATCH/logs
mkdir -p "$TREE" "$LOGS"
tar -C "$ROOT" --exclude=./build --exclude=./out --exclude=./.git -cf - . | tar -C "$TREE" -xf -
O=build/mutant
BIN=$TREE/$O/ctxsim
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# MAKEFLAGS cleared: the harness builds its own configuration (CC and OPT come
# from the environment), whatever the calling make was given.
build() { MAKEFLAGS= MFLAGS= make -C "$TREE" -j"$JOBS" O=$O "$O/ctxsim" > "$1" 2>&1; }

t0=$(now)
if ! build "$LOGS/baseline.build"; then
  echo "mutants: the unmutated tree does not build:" >&2; tail -20 "$LOGS/baseline.build" >&2; exit 1
fi
echo "mutants: built the unmutated ctxsim in $(secs "$t0" "$(now)") s"

# run_catch CMD LOG: runs ctxsim CMD in the scratch tree; prints the exit status.
run_catch() {
  local rc=0
  # shellcheck disable=SC2086 # CMD is a word list by design
  (cd "$TREE" && timeout --kill-after=5 "$TIMEOUT" "$BIN" $1) > "$2" 2>&1 || rc=$?
  echo "$rc"
}
# The detectors of mutant i: its own catch command (the targeted one) first,
# then every detector.
detectors_of() {
  local i=$1 k
  DET_NAME=() DET_CMD=()
  if [ -n "${M_CATCH[i]}" ]; then DET_NAME+=(catch); DET_CMD+=("${M_CATCH[i]}"); fi
  for ((k = 0; k < ${#D_NAME[@]}; k++)); do DET_NAME+=("${D_NAME[k]}"); DET_CMD+=("${D_CMD[k]}"); done
}
declare -A BASE_OK=()
for ((i = 0; i <= n; i++)); do
  selected "$i" || continue
  detectors_of "$i"
  for ((k = 0; k < ${#DET_CMD[@]}; k++)); do
    cmd=${DET_CMD[k]}
    [ -z "${BASE_OK[$cmd]+set}" ] || continue
    t0=$(now)
    rc=$(run_catch "$cmd" "$LOGS/baseline.run")
    if [ "$rc" != 0 ]; then
      echo "mutants: on the unmutated core, 'ctxsim $cmd' exits $rc (must be 0):" >&2
      tail -20 "$LOGS/baseline.run" >&2
      exit 1
    fi
    BASE_OK[$cmd]=1
    echo "mutants: baseline ${DET_NAME[k]}: 'ctxsim $cmd': exit 0 in $(secs "$t0" "$(now)") s"
  done
done

# ---- the mutants ------------------------------------------------------------
marks_head=""
for name in "${D_NAME[@]}"; do marks_head+="${name:0:1}"; done
printf '\nDetectors: %s (one mark each, in this order, after a first mark for a catch: command)\n' "${D_NAME[*]}"
printf '%-36s %-6s %-12s %7s  %s\n' mutant "$marks_head" result seconds description
printf '%-36s %-6s %-12s %7s  %s\n' ------------------------------------ ------ ------------ ------- -----------
killed=0 survived=0 failed=0 equiv=0 unbuilt=0 total=0
declare -A BY=()
declare -a BAD=()
for ((i = 0; i <= n; i++)); do
  selected "$i" || continue
  total=$((total + 1))
  id=${M_ID[i]} f=$TREE/${M_FILE[i]}
  cp "$f" "$SCRATCH/orig"
  if [ -n "${M_AT[i]}" ]; then
    apply_at "$SCRATCH/orig" "$f" "${M_AT[i]}" "${M_OLD[i]}" "${M_NEW[i]}"
  else
    apply "$SCRATCH/orig" "$f" "${M_OLD[i]}" "${M_NEW[i]}"
  fi
  touch "$f"
  t0=$(now)
  marks="" result=""
  if ! build "$LOGS/$id.build"; then
    result=BUILD-FAILED
  else
    detectors_of "$i"
    worst=""
    for ((k = 0; k < ${#DET_CMD[@]}; k++)); do
      if [ -n "$result" ] && { [ $MODE = gate ] || [ $LINES = 1 ]; }; then marks+="-"; continue; fi
      rc=$(run_catch "${DET_CMD[k]}" "$LOGS/$id.${DET_NAME[k]}.run")
      case $rc in
        1) marks+="K"; result=killed; BY[${DET_NAME[k]}]=$((${BY[${DET_NAME[k]}]:-0} + 1)) ;;
        0) marks+="." ;;
        124|137) marks+="T"; worst=${worst:-TIMEOUT}; last_log=$LOGS/$id.${DET_NAME[k]}.run ;;
        *) marks+="C"; worst=CRASHED; last_log=$LOGS/$id.${DET_NAME[k]}.run ;;
      esac
    done
    if [ -z "$result" ]; then
      if [ -n "$worst" ]; then result=$worst
      elif [ -n "${M_EQUIV[i]}" ]; then result=equivalent
      else result=SURVIVED; fi
    fi
  fi
  dt=$(secs "$t0" "$(now)")
  cp "$SCRATCH/orig" "$f"
  touch "$f"
  case $result in
    killed) killed=$((killed + 1)) ;;
    equivalent) equiv=$((equiv + 1)) ;;
    SURVIVED) survived=$((survived + 1)); BAD+=("$id") ;;
    BUILD-FAILED) if [ $LINES = 1 ]; then unbuilt=$((unbuilt + 1)); else failed=$((failed + 1)); BAD+=("$id"); fi ;;
    *) failed=$((failed + 1)); BAD+=("$id") ;;
  esac
  printf '%-36s %-6s %-12s %7s  %s\n' "$id" "$marks" "$result" "$dt" "${M_DESC[i]}"
  if [ "$result" = BUILD-FAILED ] && [ $LINES = 0 ]; then
    grep -m5 -E 'error|Error' "$LOGS/$id.build" | sed 's/^/    /'
  elif [ "$result" = CRASHED ] || [ "$result" = TIMEOUT ]; then
    tail -3 "$last_log" | sed 's/^/    /'
  fi
done

echo
by=""
for name in "${D_NAME[@]}" catch; do [ -z "${BY[$name]+set}" ] || by+=" $name ${BY[$name]},"; done
echo "mutants: $total run, $killed killed, $survived survived, $equiv equivalent," \
  "$failed harness failures (timeout, crash), $unbuilt did not build; kills by detector:${by%,}"
scored=$((total - equiv - unbuilt))
if [ $LINES = 1 ]; then
  # A crash or a hang turns CI red as surely as an exit 1: for a generated
  # mutant it counts as detected (the catalogue's mutants must exit 1).
  killed=$((killed + failed))
  echo "mutants: detected = killed + crashed or timed out ($failed)"
fi
if [ $scored -gt 0 ]; then
  echo "mutants: score $killed/$scored non-equivalent mutants detected" \
    "($(awk -v k=$killed -v s=$scored 'BEGIN { printf "%.1f", 100 * k / s }')%)"
fi
if [ ${#BAD[@]} -gt 0 ]; then
  echo "mutants: not killed: ${BAD[*]}"
  [ $LINES = 1 ] || exit 1
fi
if [ -n "$MIN_SCORE" ] && [ $scored -gt 0 ] &&
   awk -v k=$killed -v s=$scored -v m="$MIN_SCORE" 'BEGIN { exit !(100 * k / s < m) }'; then
  echo "mutants: score below --min-score $MIN_SCORE%"
  exit 1
fi
exit 0
