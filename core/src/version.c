/*
 * version.c - the loaded library's version (cr_version).
 */
#include "ctxready.h"

const char *cr_version(int *num)
{
    if (num)
        *num = CR_VERSION_NUM;
    return CR_VERSION_STRING;
}
