/*
 * fuzz_scenario.c - libFuzzer target for the scenario loader.
 *
 *   make fuzz          (tests/fuzz.sh: seeded from tests/data/fuzz/scenario)
 *
 * Any input must either load (and free cleanly) or fail with a positioned,
 * formatted error; nothing may leak, crash or read out of bounds.
 *
 * tests/test_fuzz_regress.c includes this file with FUZZ_SCENARIO_NO_MAIN
 * defined and replays the corpus and tests/data/fuzz/regress/scenario/
 * through fuzz_scenario_run().
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim/scenario.h"

int fuzz_scenario_run(const uint8_t *data, size_t size);

int fuzz_scenario_run(const uint8_t *data, size_t size)
{
    sim_scenario *s = NULL;
    sim_scenario_error err;
    cr_policy p;
    char line[600];

    if (sim_scenario_load_string("fuzz.yaml", (const char *)data, size, &s, &err) == 0) {
        /* a loaded scenario must give a policy the core accepts */
        if (!s || sim_scenario_policy(s, -1, &p) != 0)
            abort();
        sim_scenario_free(s);
        return 0;
    }
    if (s || err.msg[0] == '\0' || memchr(err.msg, '\0', sizeof err.msg) == NULL)
        abort();
    if (sim_scenario_error_format(&err, line, sizeof line) != 0)
        abort();
    return 0;
}

#ifndef FUZZ_SCENARIO_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_scenario_run(data, size);
}
#endif
