#!/usr/bin/env bash
# install.sh - end-to-end test of `make install`: into a temporary prefix,
# then, as a user of the installed copy would,
#  - build the README's example (core/examples/minimal.c) with
#    -Wall -Wextra -Werror against `pkg-config --cflags --libs ctxready` and
#    run it WITHOUT LD_LIBRARY_PATH: it must load the installed .so (the
#    .pc's rpath) and print the three events of its run;
#  - run the installed ctxsim (--version, a small run);
#  - render the man page and check it documents every command of `ctxsim help`;
#  - load the bash completion and complete a command, an option and a knob.
# Run by `make test` with CC, OPT and SANITIZE of the build under test.
set -euo pipefail
cd "$(dirname "$0")/.."
CC=${CC:-cc}
pfx=$(mktemp -d /tmp/ctxsim-install-XXXXXX)
trap 'rm -rf "$pfx"' EXIT
fail() { echo "install.sh: FAIL: $*" >&2; exit 1; }

make -s install PREFIX="$pfx" CC="$CC" OPT="${OPT:--O2}" ${SANITIZE:+SANITIZE=1} >/dev/null

export PKG_CONFIG_PATH="$pfx/lib/pkgconfig"
unset LD_LIBRARY_PATH
flags=$(pkg-config --cflags --libs ctxready)
case $flags in *-rpath*"$pfx/lib"*) ;; *) fail "ctxready.pc has no rpath for $pfx/lib: $flags" ;; esac
san=${SANITIZE:+-fsanitize=address,undefined}
# shellcheck disable=SC2086
"$CC" -std=c11 -Wall -Wextra -Werror $san core/examples/minimal.c $flags -o "$pfx/minimal" ||
    fail "the README example does not build against the installed library"
out=$("$pfx/minimal" 2>"$pfx/minimal.err") || fail "the example exits $? (stderr: $(cat "$pfx/minimal.err"))"
want=$'conn 1 <- alice/t1 seq 1: agent_started\nconn 1 <- alice/t1 seq 2: tool_executing\nconn 1 <- alice/t1 seq 3: agent_completed'
[ "$out" = "$want" ] || fail "the example printed: $out"
ver=$(sed -n 's/^#define CR_VERSION_STRING "\(.*\)"/\1/p' core/include/ctxready.h)
grep -qx "libctxready $ver" "$pfx/minimal.err" || fail "cr_version() said: $(cat "$pfx/minimal.err")"
# it is the installed shared library that was loaded
grep -q "libctxready.so.0 => $pfx/lib/" <<<"$(ldd "$pfx/minimal")" || fail "not loaded from $pfx/lib: $(ldd "$pfx/minimal")"

[ "$("$pfx/bin/ctxsim" --version)" = "ctxsim $ver (libctxready $ver)" ] || fail "installed ctxsim --version"
[ "$("$pfx/bin/ctxready-server" --version)" = "ctxready-server $ver (libctxready $ver)" ] ||
    fail "installed ctxready-server --version"
"$pfx/bin/ctxsim" run scenarios/agent_before_ready.yaml --seeds 1 --no-db -q >/dev/null ||
    fail "the installed ctxsim cannot run a scenario"

man1="$pfx/share/man/man1/ctxsim.1"
if command -v man >/dev/null 2>&1; then
    man_txt=$(MANWIDTH=100 man -l "$man1" 2>/dev/null) || fail "man -l ctxsim.1"
    cmd_re='^ {7}%s( |$)'
else # a bare machine without man-db: read the roff source (each command opens a .B/.BI/.BR line)
    echo "install.sh: no man(1) here: checking the roff source of ctxsim.1"
    man_txt=$(cat "$man1")
    cmd_re='^\.B[IR]? "?%s( |"|$)'
fi
for c in $("$pfx/bin/ctxsim" help | sed -n 's/^  \([a-z][a-z]*\) .*/\1/p'); do
    # shellcheck disable=SC2059
    grep -qE "$(printf "$cmd_re" "$c")" <<<"$man_txt" || fail "the man page does not document '$c'"
done
grep -q "EXIT STATUS" <<<"$man_txt" || fail "the man page has no EXIT STATUS"

# shellcheck disable=SC1091
complete_words() { # complete_words WORD... : the completions of the last word
    COMP_WORDS=("$pfx/bin/ctxsim" "$@")
    COMP_CWORD=$#
    COMPREPLY=()
    _ctxsim
    printf '%s\n' "${COMPREPLY[@]}"
}
source "$pfx/share/bash-completion/completions/ctxsim"
grep -qx replay <<<"$(complete_words re)" || fail "completion of 're'"
grep -qx -- --profile <<<"$(complete_words run --pro)" || fail "completion of 'run --pro'"
grep -qx exec_grace= <<<"$(complete_words run --policy exec_g)" || fail "completion of a knob"
grep -qx prune <<<"$(complete_words db p)" || fail "completion of 'db p'"
echo "install.sh: installed library, example, ctxsim, man page and completion OK ($pfx)"
