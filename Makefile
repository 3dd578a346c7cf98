# ctxsim: libctxready (core/), the ctxsim simulator (sim/), reports (reports/).
#
#   make            build everything (libraries, ctxsim, tests)
#   make test       build and run every Check suite (+ CLI end-to-end suites)
#   make demo       the main job: run the suite, record, report
#   make bench      benchmarks (ns/event against a bare-heap floor)
#   make install    PREFIX=/usr/local DESTDIR=
#   make determinism  gcc/clang x -O0/-O2 must give the same trace hashes
#   make mutants    plant each bug of tests/mutants/catalogue.txt, the suite must catch it
#   make timing     run the requirement sweeps, write docs/timing-requirements.md
#   make coverage   line and branch coverage of core/ (gated) and sim/ (information)
#   make fuzz       the libFuzzer targets (clang), FUZZ_TIME seconds each
#
# Variables: CC, OPT (-O2), SANITIZE=1 (ASan+UBSan), PREFIX, DESTDIR.

VERSION   := $(shell sed -n 's/^#define CR_VERSION_STRING "\(.*\)"/\1/p' core/include/ctxready.h)
SOVERSION := 0
PREFIX    ?= /usr/local
DESTDIR   ?=
OPT       ?= -O2
CCNAME    := $(notdir $(firstword $(CC)))
O         ?= build/$(CCNAME)$(subst $() ,,$(OPT))$(if $(SANITIZE),-san)

WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wno-unused-parameter
BASEFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(OPT) -g $(WARN) -fPIC \
             -Icore/include -I.
ifdef SANITIZE
BASEFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDSAN     := -fsanitize=address,undefined
endif

# --- dependencies -----------------------------------------------------------
# pkg-config modules and the Debian packages that provide them.  The core
# itself needs none of them; the simulator, the reports and the tests do.
PC_MODS   := check yaml-0.1 sqlite3 libxxhash jansson libxml-2.0 libwebsockets
DEB_PKGS  := pkg-config check libyaml-dev libsqlite3-dev libxxhash-dev libjansson-dev \
             libxml2-dev libxml2-utils gnuplot-nox sqlite3 parallel libwebsockets-dev
DEPS_STAMP := build/.deps-ok
# Optional: tests/test_report_html.c renders the report in headless Chromium
# when it is installed and skips that test (saying so) when it is not; `make
# bench` compares with a SimPy model when python3-simpy3 is installed.
# `make deps-optional` installs them (not part of `make deps`: 350 MB).
OPT_DEB_PKGS := chromium python3-simpy3
# Only for make coverage.
COV_PKGS  := gcovr
COV_STAMP := build/.deps-coverage-ok

# deps_install is the shell snippet that installs Debian packages $(1) with
# apt-get when $$missing is not empty (as root), else prints the command.
deps_install = if [ -n "$$missing" ]; then \
	  echo "ctxsim: missing dependencies:$$missing"; \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "ctxsim: installing: apt-get install -y $(1)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(1) >/dev/null || exit 1; \
	  else \
	    echo "ctxsim: run: sudo apt-get install -y $(1)"; exit 1; \
	  fi; \
	fi

# Recursively expanded on purpose: evaluated when a recipe runs, i.e. after
# the deps check below had the chance to install what was missing.
DEP_CFLAGS = $(shell pkg-config --cflags $(PC_MODS))
DEP_LIBS   = $(shell pkg-config --libs $(PC_MODS)) -lm

CFLAGS_ALL = $(BASEFLAGS) $(DEP_CFLAGS) $(CFLAGS)
LDFLAGS_ALL = $(LDSAN) $(LDFLAGS)

CORE_SRC  := $(sort $(wildcard core/src/*.c))
SIM_SRC   := $(sort $(wildcard sim/*.c))
REP_SRC   := $(sort $(wildcard reports/*.c))
CLI_SRC   := $(sort $(wildcard sim/cli/*.c))
TEST_SRC  := $(sort $(wildcard tests/test_*.c))
BENCH_SRC := $(sort $(wildcard tests/bench_*.c))
TESTLIB_SRC := $(sort $(wildcard tests/lib/*.c))
SRV_SRC   := $(sort $(wildcard core/examples/ws-server/*.c))

CORE_OBJ  := $(CORE_SRC:%.c=$(O)/%.o)
SIM_OBJ   := $(SIM_SRC:%.c=$(O)/%.o)
REP_OBJ   := $(REP_SRC:%.c=$(O)/%.o)
CLI_OBJ   := $(CLI_SRC:%.c=$(O)/%.o)
TESTLIB_OBJ := $(TESTLIB_SRC:%.c=$(O)/%.o)
SRV_OBJ   := $(SRV_SRC:%.c=$(O)/%.o)
TEST_BIN  := $(TEST_SRC:tests/%.c=$(O)/tests/%)
BENCH_BIN := $(BENCH_SRC:tests/%.c=$(O)/tests/%)

LIBCORE_A  := $(O)/libctxready.a
LIBCORE_SO := $(O)/libctxready.so.$(VERSION)
LIBSIM_A   := $(O)/libctxsim.a
LIBREP_A   := $(O)/libctxrep.a
CTXSIM     := $(O)/ctxsim
CTXSRV     := $(O)/ctxready-server

.PHONY: all deps deps-optional test bench demo install uninstall clean determinism format \
        check-format fuzz mutants timing coverage agree
# Keep every intermediate object (test objects come through a pattern chain).
.SECONDARY:
.DEFAULT_GOAL := all

all: $(LIBCORE_A) $(LIBCORE_SO) $(CTXSIM) $(CTXSRV) $(TEST_BIN) $(BENCH_BIN)

# The dependency check: install with apt-get when root, else print the command.
deps: $(DEPS_STAMP)
$(DEPS_STAMP): Makefile
	@missing=""; \
	for m in $(PC_MODS); do pkg-config --exists $$m 2>/dev/null || missing="$$missing $$m"; done; \
	command -v gnuplot >/dev/null 2>&1 || missing="$$missing gnuplot"; \
	command -v xmllint >/dev/null 2>&1 || missing="$$missing xmllint"; \
	command -v sqlite3 >/dev/null 2>&1 || missing="$$missing sqlite3"; \
	command -v parallel >/dev/null 2>&1 || missing="$$missing parallel"; \
	$(call deps_install,$(DEB_PKGS))
	@mkdir -p $(dir $@) && touch $@
$(COV_STAMP): Makefile
	@missing=""; command -v gcovr >/dev/null 2>&1 || missing=" gcovr"; \
	$(call deps_install,$(COV_PKGS))
	@mkdir -p $(dir $@) && touch $@

deps-optional:
	@missing=""; command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	/usr/bin/python3 -c 'import simpy' 2>/dev/null || missing="$$missing python3-simpy3"; \
	if [ -z "$$missing" ]; then echo "ctxsim: optional $(OPT_DEB_PKGS): installed"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "ctxsim: installing:$$missing"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null || \
	    echo "ctxsim: could not install$$missing: the browser test / the SimPy comparison are skipped"; \
	else echo "ctxsim: optional: sudo apt-get install -y$$missing (skipped without it)"; fi

$(O)/core/%.o: core/%.c core/include/ctxready.h $(wildcard core/src/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) -c $< -o $@

# The WebSocket server (core/examples/ws-server/) embeds the core like any
# application would, so it is built with the dependencies' flags.
$(O)/core/examples/ws-server/%.o: core/examples/ws-server/%.c core/include/ctxready.h \
		$(wildcard core/examples/ws-server/*.h sim/*.h) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(O)/%.o: %.c $(wildcard core/include/*.h core/src/*.h sim/*.h reports/*.h tests/lib/*.h core/examples/*.c tests/fuzz_*.c) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(LIBCORE_A): $(CORE_OBJ)
	@rm -f $@; ar rcs $@ $^
$(LIBCORE_SO): $(CORE_OBJ)
	$(CC) -shared -Wl,-soname,libctxready.so.$(SOVERSION) $(LDFLAGS_ALL) -o $@ $^
	ln -sf libctxready.so.$(VERSION) $(O)/libctxready.so.$(SOVERSION)
	ln -sf libctxready.so.$(VERSION) $(O)/libctxready.so
$(LIBSIM_A): $(SIM_OBJ)
	@rm -f $@; ar rcs $@ $^
$(LIBREP_A): $(REP_OBJ)
	@rm -f $@; ar rcs $@ $^

$(CTXSIM): $(CLI_OBJ) $(LIBREP_A) $(LIBSIM_A) $(LIBCORE_A)
	$(CC) $(LDFLAGS_ALL) -o $@ $(CLI_OBJ) $(LIBREP_A) $(LIBSIM_A) $(LIBCORE_A) $(DEP_LIBS)

$(CTXSRV): $(SRV_OBJ) $(LIBSIM_A) $(LIBCORE_A)
	$(CC) $(LDFLAGS_ALL) -o $@ $(SRV_OBJ) $(LIBSIM_A) $(LIBCORE_A) $(DEP_LIBS)

# test_alloc_sim fails the Nth allocation of the statically linked code:
# its malloc family is wrapped at link time (see tests/test_alloc_sim.c).
$(O)/tests/test_alloc_sim: LDFLAGS += -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup
$(O)/tests/%: $(O)/tests/%.o $(TESTLIB_OBJ) $(LIBREP_A) $(LIBSIM_A) $(LIBCORE_A)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(TESTLIB_OBJ) $(LIBREP_A) $(LIBSIM_A) $(LIBCORE_A) $(DEP_LIBS)

# Every suite runs from the repository root; CTXSIM names the binary under test.
# Then the search budget (every detector of tests/mutants/detectors.txt on
# the real core must find nothing), then the mutant catalogue: every entry must still apply, and (not under
# SANITIZE, to keep .ci/run short) the gate subset must be killed.
test: all
	@CTXSIM=$(CTXSIM) CTXREADY_SERVER=$(CTXSRV) CK_DEFAULT_TIMEOUT=600 tests/run-suites.sh $(TEST_BIN)
	@tests/mutants.sh --baseline $(CTXSIM)
	@tests/mutants.sh --check
	@CC="$(CC)" OPT="$(OPT)" SANITIZE="$(SANITIZE)" tests/install.sh
	$(if $(SANITIZE),,@CC="$(CC)" OPT="$(OPT)" tests/mutants.sh --gate)

# Every mutant of the catalogue (MUTANT_ARGS: e.g. --seeds 100, or ids).
mutants: | $(DEPS_STAMP)
	@CC="$(CC)" OPT="$(OPT)" tests/mutants.sh $(MUTANT_ARGS)

bench: all
	@CTXSIM=$(CTXSIM) tests/run-bench.sh $(BENCH_BIN)

demo: all
	@CTXSIM=$(CTXSIM) tests/demo.sh

# The timing-requirements document: every sweep of the committed plan
# (docs/sweep.md), docs/timing-requirements.md and its charts in docs/timing/.
timing: $(CTXSIM)
	$(CTXSIM) timing scenarios/requirements/plan.txt --out docs/timing-requirements.md --charts timing --jobs 2

# The simulator against a real host (README, "Testing your own server with
# ctxsim drive"): ctxready-server on loopback, driven under fixed and legacy,
# beside the simulated rates of the same seeds.  A few minutes on 2 cores.
AGREE_SCENARIOS := message_before_thread agent_before_ready rapid_thread_switching \
                   disconnect_reconnect
AGREE_ARGS ?=
agree: all
	$(CTXSIM) agree $(AGREE_SCENARIOS:%=scenarios/%.yaml) --server $(CTXSRV) $(AGREE_ARGS)

# gcc and clang, -O0 and -O2: the whole suite must hash identically.
determinism:
	@tests/determinism.sh

# Coverage: an -O0 --coverage build in build/coverage, the core's suites
# (COV_SUITES) run from a clean slate, then gcovr's line and branch figures
# for core/ (which must reach COV_LINES / COV_BRANCHES percent) and for sim/
# (information: the sim suites are not run, only what the core suites and
# COV_SIM_SUITES reach).  Reports: build/coverage/coverage-{core,sim}.txt.
COV_DIR      := build/coverage
COV_SUITES   ?= $(filter $(COV_DIR)/tests/test_core_%,$(TEST_SRC:tests/%.c=$(COV_DIR)/tests/%))
COV_SIM_SUITES ?= $(COV_DIR)/tests/test_check $(COV_DIR)/tests/test_invariant
COV_LINES    ?= 95
COV_BRANCHES ?= 90
coverage: | $(DEPS_STAMP) $(COV_STAMP)
	@$(MAKE) -s O=$(COV_DIR) OPT=-O0 CFLAGS=--coverage LDFLAGS=--coverage $(COV_SUITES) $(COV_SIM_SUITES)
	@find $(COV_DIR) -name '*.gcda' -delete
	@for t in $(COV_SUITES) $(COV_SIM_SUITES); do \
	  CK_DEFAULT_TIMEOUT=600 CTXSIM_LIFETIME_N=$${CTXSIM_LIFETIME_N:-100000} $$t >/dev/null 2>&1 || \
	    { echo "coverage: $$t failed"; exit 1; }; done
	@gcovr -r . --object-directory $(COV_DIR) --filter 'core/' --branches --exclude-unreachable-branches \
	  --exclude-throw-branches -o $(COV_DIR)/coverage-core-branches.txt
	@gcovr -r . --object-directory $(COV_DIR) --filter 'core/' -o $(COV_DIR)/coverage-core.txt
	@gcovr -r . --object-directory $(COV_DIR) --filter 'sim/' --branches -o $(COV_DIR)/coverage-sim.txt
	@l=$$(awk '/^TOTAL/ {print $$4}' $(COV_DIR)/coverage-core.txt); \
	b=$$(awk '/^TOTAL/ {print $$4}' $(COV_DIR)/coverage-core-branches.txt); \
	sl=$$(gcovr -r . --object-directory $(COV_DIR) --filter 'sim/' | awk '/^TOTAL/ {print $$4}'); \
	sb=$$(awk '/^TOTAL/ {print $$4}' $(COV_DIR)/coverage-sim.txt); \
	echo "coverage core/: lines $$l, branches $$b (need $(COV_LINES)%, $(COV_BRANCHES)%)"; \
	echo "coverage sim/:  lines $$sl, branches $$sb (information; reached from the core and check suites)"; \
	awk -v l="$${l%\%}" -v b="$${b%\%}" -v L=$(COV_LINES) -v B=$(COV_BRANCHES) \
	  'BEGIN { if (l + 0 < L || b + 0 < B) { print "coverage: core/ below the bar"; exit 1 } }'

# libFuzzer targets (clang): the scenario loader, sequences of core calls and
# the CLI's database readers (tests/fuzz_*.c), each seeded from its in-tree
# corpus tests/data/fuzz/<target>/ and run FUZZ_TIME seconds with inputs up
# to FUZZ_MAX_LEN bytes (tests/fuzz.sh; a crash fails and names the file to
# copy to tests/data/fuzz/regress/<target>/, which `make test` replays).
FUZZ_TIME    ?= 60
FUZZ_MAX_LEN ?= 65536
FUZZ_DIR     := build/fuzz
FUZZ_TARGETS := core scenario db
FUZZ_CFLAGS   = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g -O1 -Icore/include -I. \
                -fsanitize=address,undefined -fno-sanitize-recover=all $(DEP_CFLAGS)
FUZZ_OBJ     := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(CORE_SRC) $(SIM_SRC) $(REP_SRC))
.PHONY: fuzz-build
fuzz: | $(DEPS_STAMP)
	@FUZZ_TIME=$(FUZZ_TIME) FUZZ_MAX_LEN=$(FUZZ_MAX_LEN) tests/fuzz.sh $(FUZZ_TARGETS)
fuzz-build: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)
$(FUZZ_DIR)/obj/%.o: %.c $(wildcard core/include/*.h core/src/*.h sim/*.h reports/*.h) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(FUZZ_DIR)/fuzz_%: tests/fuzz_%.c $(FUZZ_OBJ)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJ) -o $@ $(DEP_LIBS)

# The .pc carries an rpath for a prefix the dynamic loader does not search
# (anything but /usr), so `cc app.c $(pkg-config --libs ctxready)` runs
# without LD_LIBRARY_PATH; under /usr/local ldconfig also refreshes the cache.
comma := ,
PC_RPATH = $(if $(filter /usr,$(PREFIX)),,-Wl$(comma)-rpath$(comma)$${libdir})
MANDIR   ?= $(PREFIX)/share/man/man1
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
install: $(LIBCORE_A) $(LIBCORE_SO) $(CTXSIM) $(CTXSRV)
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin \
	  $(DESTDIR)$(MANDIR) $(DESTDIR)$(BASHCOMPDIR)
	install -m 644 core/include/ctxready.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(LIBCORE_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(LIBCORE_SO) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libctxready.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libctxready.so.$(SOVERSION)
	ln -sf libctxready.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libctxready.so
	install -m 755 $(CTXSIM) $(CTXSRV) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 docs/ctxsim.1 $(DESTDIR)$(MANDIR)/ctxsim.1
	install -m 644 docs/ctxsim.bash-completion $(DESTDIR)$(BASHCOMPDIR)/ctxsim
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' -e 's|@RPATH@|$(PC_RPATH)|g' \
	  core/ctxready.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/ctxready.pc
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then \
	  ldconfig 2>/dev/null || true; fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/include/ctxready.h $(DESTDIR)$(PREFIX)/lib/libctxready.* \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig/ctxready.pc $(DESTDIR)$(PREFIX)/bin/ctxsim \
	  $(DESTDIR)$(PREFIX)/bin/ctxready-server \
	  $(DESTDIR)$(MANDIR)/ctxsim.1 $(DESTDIR)$(BASHCOMPDIR)/ctxsim

format:
	clang-format -i $$(git ls-files '*.c' '*.h')
check-format:
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build
