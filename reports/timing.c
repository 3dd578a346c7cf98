/* timing.c - the timing-requirements document (timing.h). */
#include "reports/timing.h"

#include <stdio.h>

int rep_cmd_timing(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "ctxsim timing: not yet\n");
    return 2;
}
