/*
 * errors.c - names and messages generated from the header's X-macro
 * tables: error codes, connection states, close reasons, outcomes.
 */
#include "ctxready.h"

const char *cr_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define CR_ERR_STR(name, code, str)                                                                \
    case CR_##name:                                                                                \
        return str;
        CR_ERRNO_MAP(CR_ERR_STR)
#undef CR_ERR_STR
    default:
        return "unknown error";
    }
}

const char *cr_errname(int err)
{
    switch (err) {
    case 0:
        return "0";
#define CR_ERR_NAME(name, code, str)                                                               \
    case CR_##name:                                                                                \
        return "CR_" #name;
        CR_ERRNO_MAP(CR_ERR_NAME)
#undef CR_ERR_NAME
    default:
        return "CR_E?";
    }
}

const char *cr_conn_state_name(cr_conn_state s)
{
    switch (s) {
    case CR_CONN_OPEN:
        return "OPEN";
    case CR_CONN_PENDING_CONTEXT:
        return "PENDING_CONTEXT";
    case CR_CONN_READY:
        return "READY";
    case CR_CONN_CLOSED:
        return "CLOSED";
    }
    return "?";
}

const char *cr_close_reason_name(cr_close_reason r)
{
    switch (r) {
#define CR_CLOSE_NAME(name, str)                                                                   \
    case CR_CLOSE_##name:                                                                          \
        return str;
        CR_CLOSE_REASON_MAP(CR_CLOSE_NAME)
#undef CR_CLOSE_NAME
    }
    return "?";
}

const char *cr_outcome_name(cr_outcome o)
{
    switch (o) {
#define CR_OUTCOME_NAME(name, str)                                                                 \
    case CR_OUTCOME_##name:                                                                        \
        return str;
        CR_OUTCOME_MAP(CR_OUTCOME_NAME)
#undef CR_OUTCOME_NAME
    case CR_OUTCOME_COUNT:
        break;
    }
    return "?";
}
