#!/usr/bin/env bash
# tests/mutants.sh - tests the tester: plants one known bug at a time in a
# scratch copy of core/src, builds ctxsim against it and runs the command
# that must catch it.
#
#   tests/mutants.sh [options] [ID...]     (make mutants: every mutant)
#
#   --check        only verify that every catalogue entry still applies
#                  (exactly one match of its `old` block); no build, no run
#   --gate         only the mutants marked `gate: yes` (what `make test` runs)
#   --seeds N      seeds of the default catching command (default 30)
#   --jobs N       worker processes of ctxsim and make (default 2)
#   --timeout S    time bound of one catching command, seconds (default 60)
#   --catalogue F  catalogue file (default tests/mutants/catalogue.txt)
#   --keep         keep the scratch directory (its path is printed)
#
# The catalogue (tests/mutants/catalogue.txt, format in its header) gives
# each mutant an id, a description, the file, the exact source block to
# replace and its replacement, and optionally the ctxsim command that must
# catch it (default: `ctxsim run scenarios --seeds N --no-db --jobs 2`).
# A mutant whose block does not occur exactly once fails the harness: a
# catalogue entry cannot silently rot when the core changes.
#
# How: the working tree (without build/, out/, .git) is copied into a
# mktemp directory (removed on exit), ctxsim is built there once
# (O=build/mutant) and every distinct catching command is run on the
# unmutated build, which must exit 0 (else nothing else means anything).
# Then, per mutant: apply, rebuild (one core object and the link), run the
# catching command under `timeout`, restore the file.
#
# Per mutant it prints one of:
#   killed        the command exited 1, as required
#   SURVIVED      it exited 0: the suite does not see this bug
#   BUILD-FAILED  the mutant does not compile (fix the catalogue entry)
#   TIMEOUT       the command ran past --timeout (a hang is a harness failure:
#                 the simulator's step watchdog should have failed the seed)
#   WRONG-EXIT    any other exit status (2: bad usage; >128: a crash)
#   equivalent    survived, and the catalogue says why it cannot be killed
# Exit status: 0 every mutant killed (or equivalent), 1 any other outcome,
# 2 bad usage or a catalogue entry that does not apply.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CATALOGUE=$ROOT/tests/mutants/catalogue.txt
SEEDS=30
JOBS=2
TIMEOUT=60
MODE=all
KEEP=0
ONLY=()

usage() { sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --check) MODE=check ;;
    --gate) MODE=gate ;;
    --seeds) SEEDS=$2; shift ;;
    --jobs) JOBS=$2; shift ;;
    --timeout) TIMEOUT=$2; shift ;;
    --catalogue) CATALOGUE=$2; shift ;;
    --keep) KEEP=1 ;;
    -h|--help) usage ;;
    -*) echo "mutants: unknown option $1" >&2; usage ;;
    *) ONLY+=("$1") ;;
  esac
  shift
done
[ -f "$CATALOGUE" ] || { echo "mutants: no catalogue $CATALOGUE" >&2; exit 2; }

# ---- the catalogue -----------------------------------------------------------
M_ID=() M_ISSUE=() M_DESC=() M_FILE=() M_OLD=() M_NEW=() M_CATCH=() M_GATE=() M_EQUIV=()
n=-1 lineno=0
die_cat() { echo "mutants: $CATALOGUE:$lineno: $*" >&2; exit 2; }
append() { # append VAR-array index value: joins repeated keys with newlines
  local -n arr=$1
  if [ -n "${arr[$2]+set}" ] && [ -n "${arr[$2]}" ]; then arr[$2]+=$'\n'"$3"; else arr[$2]=$3; fi
}
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
    M_ID[n]='' M_ISSUE[n]='' M_DESC[n]='' M_FILE[n]='' M_OLD[n]='' M_NEW[n]='' M_CATCH[n]='' M_GATE[n]=no M_EQUIV[n]=''
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
for id in "${ONLY[@]+"${ONLY[@]}"}"; do
  found=0
  for ((i = 0; i <= n; i++)); do [ "${M_ID[i]}" != "$id" ] || found=1; done
  [ $found = 1 ] || { echo "mutants: no mutant '$id' in the catalogue" >&2; exit 2; }
done

selected() { # index -> 0 when the mutant is to be run
  local i=$1 id
  if [ ${#ONLY[@]} -gt 0 ]; then
    for id in "${ONLY[@]}"; do [ "$id" != "${M_ID[i]}" ] || return 0; done
    return 1
  fi
  [ $MODE != gate ] || [ "${M_GATE[i]}" = yes ]
}

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

# ---- --check: every entry applies -------------------------------------------
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
DEFAULT_CATCH="run scenarios --seeds $SEEDS --no-db --jobs $JOBS"
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
declare -A BASE_OK=()
for ((i = 0; i <= n; i++)); do
  selected "$i" || continue
  cmd=${M_CATCH[i]:-$DEFAULT_CATCH}
  [ -z "${BASE_OK[$cmd]+set}" ] || continue
  t0=$(now)
  rc=$(run_catch "$cmd" "$LOGS/baseline.run")
  if [ "$rc" != 0 ]; then
    echo "mutants: on the unmutated core, 'ctxsim $cmd' exits $rc (must be 0):" >&2
    tail -20 "$LOGS/baseline.run" >&2
    exit 1
  fi
  BASE_OK[$cmd]=1
  echo "mutants: baseline 'ctxsim $cmd': exit 0 in $(secs "$t0" "$(now)") s"
done

# ---- the mutants ------------------------------------------------------------
printf '\n%-32s %-12s %4s %7s  %s\n' mutant result exit seconds description
printf '%-32s %-12s %4s %7s  %s\n' -------------------------------- ------------ ---- ------- -----------
killed=0 survived=0 failed=0 equiv=0 total=0
declare -a BAD=()
for ((i = 0; i <= n; i++)); do
  selected "$i" || continue
  total=$((total + 1))
  id=${M_ID[i]} f=$TREE/${M_FILE[i]}
  cmd=${M_CATCH[i]:-$DEFAULT_CATCH}
  cp "$f" "$SCRATCH/orig"
  apply "$SCRATCH/orig" "$f" "${M_OLD[i]}" "${M_NEW[i]}"
  touch "$f"
  t0=$(now)
  rc=-
  if ! build "$LOGS/$id.build"; then
    result=BUILD-FAILED
  else
    rc=$(run_catch "$cmd" "$LOGS/$id.run")
    case $rc in
      1) result=killed ;;
      0) if [ -n "${M_EQUIV[i]}" ]; then result=equivalent; else result=SURVIVED; fi ;;
      124|137) result=TIMEOUT ;;
      *) result=WRONG-EXIT ;;
    esac
  fi
  dt=$(secs "$t0" "$(now)")
  cp "$SCRATCH/orig" "$f"
  touch "$f"
  case $result in
    killed) killed=$((killed + 1)) ;;
    equivalent) equiv=$((equiv + 1)) ;;
    SURVIVED) survived=$((survived + 1)); BAD+=("$id") ;;
    *) failed=$((failed + 1)); BAD+=("$id") ;;
  esac
  printf '%-32s %-12s %4s %7s  %s\n' "$id" "$result" "$rc" "$dt" "${M_DESC[i]}"
  if [ "$result" = BUILD-FAILED ]; then
    grep -m5 -E 'error|Error' "$LOGS/$id.build" | sed 's/^/    /'
  elif [ "$result" = WRONG-EXIT ] || [ "$result" = TIMEOUT ]; then
    tail -3 "$LOGS/$id.run" | sed 's/^/    /'
  fi
done

echo
echo "mutants: $total run, $killed killed, $survived survived, $equiv equivalent," \
  "$failed harness failures (build, timeout, exit status); catching command default:" \
  "ctxsim $DEFAULT_CATCH, timeout ${TIMEOUT}s"
if [ $total -gt $equiv ]; then
  echo "mutants: score $killed/$((total - equiv)) non-equivalent mutants killed"
fi
if [ ${#BAD[@]} -gt 0 ]; then
  echo "mutants: not killed: ${BAD[*]}"
  exit 1
fi
