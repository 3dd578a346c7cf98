/*
 * test_perfetto.c - the Chrome trace-event JSON of a replayed seed
 * (sim/perfetto.h), parsed back with jansson: valid JSON; B/E slices
 * balanced and nested per track; async slices and flows matched; every
 * process and track named; timestamps monotonic per track; and the
 * slices, flows and structured args the engineer needs are there.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sim/perfetto.h"
#include "sim/scenario.h"
#include "sim/sweep.h"
#include "sim/timeline.h"
#include "sim/trace.h"
#include "sim/world.h"

/* perfetto replays one seed and returns its parsed JSON. */
static json_t *perfetto(const char *file, int profile, uint64_t seed, sim_seed_result *res)
{
    sim_scenario *sc;
    sim_scenario_error err;
    ck_assert_msg(sim_scenario_load(file, &sc, &err) == 0, "%s: %s", file, err.msg);
    sim_sweep_opts o = {.seeds = 1, .profile = profile};
    cr_policy pol;
    ck_assert_int_eq(sim_sweep_policy(sc, &o, &pol, NULL, 0), 0);
    sim_world_opts wo = {.seed = seed, .keep_trace = 1, .annotate = 1};
    sim_trace *tr = NULL;
    sim_world_run(sc, &pol, &wo, res, &tr);
    sim_tl *tl;
    ck_assert_int_eq(sim_tl_build(tr, &tl), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_int_eq(sim_perfetto_write(tl, f), 0);
    fclose(f);
    json_error_t je;
    json_t *root = json_loadb(buf, len, 0, &je);
    ck_assert_msg(root != NULL, "invalid JSON: %s at line %d", je.text, je.line);
    free(buf);
    sim_tl_free(tl);
    sim_trace_free(tr);
    sim_scenario_free(sc);
    return root;
}

/* A track or async key: (pid, tid) or (cat, id) as one string. */
static void key2(char *k, size_t n, json_t *ev, const char *a, const char *b)
{
    json_t *x = json_object_get(ev, a), *y = json_object_get(ev, b);
    char xs[64], ys[64];
    if (json_is_string(x))
        snprintf(xs, sizeof xs, "%s", json_string_value(x));
    else
        snprintf(xs, sizeof xs, "%" JSON_INTEGER_FORMAT, json_integer_value(x));
    if (json_is_string(y))
        snprintf(ys, sizeof ys, "%s", json_string_value(y));
    else
        snprintf(ys, sizeof ys, "%" JSON_INTEGER_FORMAT, json_integer_value(y));
    snprintf(k, n, "%s/%s", xs, ys);
}

/* What the structure check found, for the content checks. */
typedef struct shape {
    size_t slices, asyncs[3], flows, emits_lost_silent, ready_gen, assoc_outcome, deliver_gen;
} shape;

/* check_structure asserts the structural rules and counts content. */
static void check_structure(json_t *root, shape *sh)
{
    memset(sh, 0, sizeof *sh);
    ck_assert_str_eq(json_string_value(json_object_get(root, "displayTimeUnit")), "ms");
    json_t *evs = json_object_get(root, "traceEvents"), *ev;
    ck_assert(json_is_array(evs));
    json_t *pnames = json_object(), *tnames = json_object();
    json_t *last = json_object();   /* track -> last ts */
    json_t *stacks = json_object(); /* track -> array of open B ts */
    json_t *open_async = json_object(), *flows = json_object();
    size_t i;
    /* names first (metadata may come anywhere) */
    json_array_foreach(evs, i, ev)
    {
        const char *ph = json_string_value(json_object_get(ev, "ph"));
        ck_assert_ptr_nonnull(ph);
        if (strcmp(ph, "M"))
            continue;
        const char *name = json_string_value(json_object_get(ev, "name"));
        const char *arg = json_string_value(json_object_get(json_object_get(ev, "args"), "name"));
        char k[140];
        key2(k, sizeof k, ev, "pid", "tid");
        if (!strcmp(name, "process_name")) {
            ck_assert_ptr_nonnull(arg);
            char p[64];
            snprintf(p, sizeof p, "%" JSON_INTEGER_FORMAT,
                     json_integer_value(json_object_get(ev, "pid")));
            json_object_set_new(pnames, p, json_true());
        } else if (!strcmp(name, "thread_name")) {
            ck_assert_ptr_nonnull(arg);
            ck_assert_ptr_null(json_object_get(tnames, k)); /* named once */
            json_object_set_new(tnames, k, json_string(arg));
        }
    }
    json_array_foreach(evs, i, ev)
    {
        const char *ph = json_string_value(json_object_get(ev, "ph"));
        if (!strcmp(ph, "M"))
            continue;
        char k[140], p[64];
        key2(k, sizeof k, ev, "pid", "tid");
        snprintf(p, sizeof p, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(ev, "pid")));
        ck_assert_msg(json_object_get(pnames, p) != NULL, "pid %s has no process_name", p);
        ck_assert_msg(json_object_get(tnames, k) != NULL, "track %s has no thread_name", k);
        json_t *tsj = json_object_get(ev, "ts");
        ck_assert(json_is_number(tsj));
        double ts = json_number_value(tsj);
        json_t *prev = json_object_get(last, k);
        if (prev)
            ck_assert_msg(ts >= json_real_value(prev), "track %s goes back in time at %f", k, ts);
        json_object_set_new(last, k, json_real(ts));
        const char *cat = json_string_value(json_object_get(ev, "cat"));
        json_t *args = json_object_get(ev, "args");
        if (!strcmp(ph, "B")) {
            json_t *st = json_object_get(stacks, k);
            if (!st) {
                st = json_array();
                json_object_set_new(stacks, k, st);
            }
            json_array_append_new(st, json_real(ts));
            sh->slices++;
            const char *state = json_string_value(json_object_get(args, "state"));
            ck_assert_ptr_nonnull(state);
            if (!strcmp(state, "READY") &&
                json_integer_value(json_object_get(args, "generation")) > 0)
                sh->ready_gen++;
        } else if (!strcmp(ph, "E")) {
            json_t *st = json_object_get(stacks, k);
            ck_assert_msg(st && json_array_size(st) > 0, "E without B on %s at %f", k, ts);
            ck_assert(ts >= json_real_value(json_array_get(st, json_array_size(st) - 1)));
            json_array_remove(st, json_array_size(st) - 1);
        } else if (!strcmp(ph, "b") || !strcmp(ph, "e")) {
            char ak[140];
            key2(ak, sizeof ak, ev, "cat", "id");
            if (ph[0] == 'b') {
                ck_assert_ptr_null(json_object_get(open_async, ak));
                json_object_set_new(open_async, ak, json_real(ts));
                static const char *const cats[3] = {"assoc", "run", "buffered"};
                for (int c = 0; c < 3; c++)
                    sh->asyncs[c] += !strcmp(cat, cats[c]);
                if (!strcmp(cat, "assoc") && json_string_value(json_object_get(args, "outcome")))
                    sh->assoc_outcome++;
            } else {
                json_t *b = json_object_get(open_async, ak);
                ck_assert_msg(b != NULL, "async end %s without begin", ak);
                ck_assert(ts >= json_real_value(b));
                json_object_del(open_async, ak);
            }
        } else if (!strcmp(ph, "s") || !strcmp(ph, "t") || !strcmp(ph, "f")) {
            char fk[64];
            snprintf(fk, sizeof fk, "%" JSON_INTEGER_FORMAT,
                     json_integer_value(json_object_get(ev, "id")));
            json_t *fl = json_object_get(flows, fk);
            if (ph[0] == 's') {
                ck_assert_msg(fl == NULL, "flow %s started twice", fk);
                json_object_set_new(flows, fk, json_real(ts));
                sh->flows++;
            } else {
                ck_assert_msg(fl != NULL && json_is_real(fl), "flow %s %s before its start", fk,
                              ph);
                ck_assert(ts >= json_real_value(fl));
                if (ph[0] == 'f')
                    json_object_set_new(flows, fk, json_string("done"));
            }
        } else {
            ck_assert_str_eq(ph, "X");
            ck_assert(json_is_number(json_object_get(ev, "dur")));
            ck_assert_ptr_nonnull(json_string_value(json_object_get(args, "detail")));
            const char *name = json_string_value(json_object_get(ev, "name"));
            if (!strcmp(name, "deliver") && json_is_integer(json_object_get(args, "generation")) &&
                json_is_integer(json_object_get(args, "seq")))
                sh->deliver_gen++;
            json_t *vs = json_object_get(args, "verdicts"), *v;
            size_t j;
            if (!strcmp(name, "emit")) {
                ck_assert(json_is_array(vs) && json_array_size(vs) > 0);
                ck_assert(json_is_integer(json_object_get(args, "seq")));
            }
            json_array_foreach(vs, j, v)
            {
                const char *o = json_string_value(json_object_get(v, "outcome"));
                const char *c = json_string_value(json_object_get(v, "cause"));
                if (!strcmp(o, "lost") && c && !strcmp(c, "core_silent"))
                    sh->emits_lost_silent++;
            }
        }
    }
    /* everything opened was closed */
    const char *k;
    json_t *v;
    json_object_foreach(stacks, k, v) ck_assert_msg(json_array_size(v) == 0, "open B on %s", k);
    ck_assert_uint_eq(json_object_size(open_async), 0);
    json_object_foreach(flows, k, v) ck_assert_msg(json_is_string(v), "flow %s never finished", k);
    json_decref(pnames);
    json_decref(tnames);
    json_decref(last);
    json_decref(stacks);
    json_decref(open_async);
    json_decref(flows);
}

/* Legacy: the structure holds, every process is a user (plus "world"),
 * connections have state slices, and the lost events say so in their
 * args (no flow for an event sent nowhere). */
START_TEST(test_perfetto_legacy_structure)
{
    sim_seed_result res;
    json_t *root = perfetto("scenarios/message_before_thread.yaml", CR_PROFILE_LEGACY, 1, &res);
    shape sh;
    check_structure(root, &sh);
    ck_assert_uint_eq(sh.emits_lost_silent, res.c[SIM_COUNT_SILENT_LOSS]);
    ck_assert_uint_gt(sh.slices, 0);
    ck_assert_uint_gt(sh.ready_gen, 0);
    ck_assert_uint_eq(sh.asyncs[1], res.c[SIM_COUNT_RUNS]); /* a run slice per run */
    ck_assert_uint_gt(sh.assoc_outcome, 0);
    ck_assert_uint_gt(sh.deliver_gen, 0);
    /* flows: one per send of an event; the lost ones were never sent */
    ck_assert_uint_ge(sh.flows, res.c[SIM_COUNT_DELIVERED]);
    ck_assert_uint_le(sh.flows, res.c[SIM_COUNT_EMITTED] - res.c[SIM_COUNT_LOST]);
    /* one process per user, named u<N>, and the world's */
    json_t *evs = json_object_get(root, "traceEvents"), *ev;
    size_t i, procs = 0;
    json_array_foreach(evs, i, ev)
    {
        if (strcmp(json_string_value(json_object_get(ev, "name")), "process_name"))
            continue;
        const char *n = json_string_value(json_object_get(json_object_get(ev, "args"), "name"));
        json_int_t pid = json_integer_value(json_object_get(ev, "pid"));
        if (strcmp(n, "world")) {
            char want[32];
            snprintf(want, sizeof want, "u%" JSON_INTEGER_FORMAT, pid - 1);
            ck_assert_str_eq(n, want);
        }
        procs++;
    }
    ck_assert_uint_eq(procs, 20 + 1);
    json_decref(root);
}
END_TEST

/* Fixed, with reconnects: buffered periods and association slices, and
 * every flow runs emit -> send -> receive. */
START_TEST(test_perfetto_fixed_buffered_and_flows)
{
    sim_seed_result res;
    json_t *root = perfetto("scenarios/disconnect_reconnect.yaml", CR_PROFILE_FIXED, 1, &res);
    shape sh;
    check_structure(root, &sh);
    ck_assert_uint_gt(sh.asyncs[0], 0); /* associations */
    ck_assert_uint_gt(sh.asyncs[2], 0); /* buffered periods */
    ck_assert_uint_ge(sh.flows, res.c[SIM_COUNT_DELIVERED]);
    /* each flow: s on an agent track, then t on a connection track, then f
     * on a tab track */
    json_t *evs = json_object_get(root, "traceEvents"), *ev;
    size_t i, full = 0;
    json_t *stage = json_object();
    json_array_foreach(evs, i, ev)
    {
        const char *ph = json_string_value(json_object_get(ev, "ph"));
        if (strcmp(ph, "s") && strcmp(ph, "t") && strcmp(ph, "f"))
            continue;
        char id[32];
        snprintf(id, sizeof id, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(ev, "id")));
        json_int_t tid = json_integer_value(json_object_get(ev, "tid"));
        json_int_t st = json_integer_value(json_object_get(stage, id));
        if (ph[0] == 's')
            ck_assert_int_eq(tid, 99999);
        else if (ph[0] == 't')
            ck_assert(tid > 100000 && st == 1);
        else if (st == 2) {
            ck_assert(tid < 99999); /* a tab */
            full++;
        }
        json_object_set_new(stage, id, json_integer(ph[0] == 's' ? 1 : 2));
    }
    ck_assert_uint_ge(full, res.c[SIM_COUNT_DELIVERED]);
    json_decref(stage);
    json_decref(root);
}
END_TEST

/* Bytes that are not UTF-8 in a record become '?' (valid JSON), valid
 * multi-byte characters stay. */
START_TEST(test_perfetto_sanitizes_text)
{
    sim_trace *t;
    ck_assert_int_eq(sim_trace_new(&t, 1), 0);
    ck_assert_int_eq(sim_trace_add(t, 1000, "client:u0.0", "connect", "sock=0"), 0);
    ck_assert_int_eq(sim_trace_add(t, 2000, "client:u0.0", "msg", "\"q\" \\ caf\xc3\xa9 \xff"), 0);
    sim_tl *tl;
    ck_assert_int_eq(sim_tl_build(t, &tl), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_int_eq(sim_perfetto_write(tl, f), 0);
    fclose(f);
    json_t *root = json_loadb(buf, len, 0, NULL);
    ck_assert_ptr_nonnull(root);
    shape sh;
    check_structure(root, &sh);
    json_t *evs = json_object_get(root, "traceEvents"), *ev;
    size_t i;
    int found = 0;
    json_array_foreach(evs, i, ev)
    {
        if (strcmp(json_string_value(json_object_get(ev, "name")), "msg"))
            continue;
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(ev, "args"), "detail")),
                         "\"q\" \\ caf\xc3\xa9 ?");
        ck_assert_int_eq(json_integer_value(json_object_get(ev, "pid")), 1); /* user u0 */
        ck_assert_int_eq(json_integer_value(json_object_get(ev, "tid")), 1); /* its tab */
        found++;
    }
    ck_assert_int_eq(found, 1);
    json_decref(root);
    free(buf);
    sim_tl_free(tl);
    sim_trace_free(t);
}
END_TEST

static Suite *perfetto_suite(void)
{
    Suite *s = suite_create("perfetto");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_perfetto_legacy_structure);
    tcase_add_test(tc, test_perfetto_fixed_buffered_and_flows);
    tcase_add_test(tc, test_perfetto_sanitizes_text);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(perfetto_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
