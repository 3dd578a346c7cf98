/*
 * frames.c - the JSON side of docs/protocol.md: reading fields of a client
 * frame with precise reasons, serialising frames into output buffers, and
 * the reference thread service's ownership rule.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

const char *srv_bad_name(srv_bad b)
{
    static const char *const names[] = {
#define SRV_BAD_NAME(id, name) #name,
        SRV_BAD_REASONS(SRV_BAD_NAME)
#undef SRV_BAD_NAME
    };
    return (unsigned)b < SRV_BAD__N ? names[b] : "?";
}

srv_frame *srv_frame_dump(json_t *j, int is_event)
{
    size_t n = json_dumpb(j, NULL, 0, JSON_COMPACT);
    if (!n)
        return NULL;
    srv_frame *f = malloc(sizeof(srv_frame) + LWS_PRE + n);
    if (!f)
        return NULL;
    f->next = NULL;
    f->len = json_dumpb(j, (char *)f->buf + LWS_PRE, n, JSON_COMPACT);
    f->is_event = (uint8_t)is_event;
    if (f->len != n) {
        free(f);
        return NULL;
    }
    return f;
}

int srv_get_str(json_t *o, const char *key, int required, size_t maxlen, const char **out,
                size_t *len, char *why, size_t whylen)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (required) {
            snprintf(why, whylen, "missing \"%s\"", key);
            return -1;
        }
        *out = NULL;
        if (len)
            *len = 0;
        return 0;
    }
    if (!json_is_string(v)) {
        snprintf(why, whylen, "\"%s\" must be a string", key);
        return -1;
    }
    size_t n = json_string_length(v);
    if (n > maxlen) {
        snprintf(why, whylen, "\"%s\" is longer than %zu bytes", key, maxlen);
        return -1;
    }
    *out = json_string_value(v);
    if (len)
        *len = n;
    return 0;
}

int srv_get_id(json_t *o, const char *key, int required, int nullable, const char **out, char *why,
               size_t whylen)
{
    json_t *v = json_object_get(o, key);
    if ((!v || json_is_null(v)) && nullable && !required) {
        *out = NULL;
        return 0;
    }
    size_t n = 0;
    if (srv_get_str(o, key, 1, CR_ID_MAX, out, &n, why, whylen) != 0)
        return -1;
    if (n == 0 || strlen(*out) != n) {
        snprintf(why, whylen, "\"%s\" must be 1 to %d bytes without NUL", key, CR_ID_MAX);
        return -1;
    }
    return 0;
}

int srv_get_uint(json_t *o, const char *key, int required, uint64_t min, uint64_t max,
                 uint64_t *out, char *why, size_t whylen)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (required) {
            snprintf(why, whylen, "missing \"%s\"", key);
            return -1;
        }
        *out = min;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) < min ||
        (uint64_t)json_integer_value(v) > max) {
        snprintf(why, whylen, "\"%s\" must be an integer in %llu..%llu", key,
                 (unsigned long long)min, (unsigned long long)max);
        return -1;
    }
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

int srv_thread_owner(const char *thread, char *owner, size_t len)
{
    const char *slash = thread ? strchr(thread, '/') : NULL;
    if (!slash || slash == thread || (size_t)(slash - thread) >= len)
        return -1;
    memcpy(owner, thread, (size_t)(slash - thread));
    owner[slash - thread] = '\0';
    return 0;
}
