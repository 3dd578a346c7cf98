/*
 * fuzz_scenario.c - libFuzzer target for the scenario loader.
 *
 *   clang -fsanitize=fuzzer,address,undefined ... tests/fuzz_scenario.c
 *   build/fuzz_scenario tests/data/good tests/data/bad scenarios
 *
 * Any input must either load (and free cleanly) or fail with a positioned,
 * formatted error; nothing may leak, crash or read out of bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
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
