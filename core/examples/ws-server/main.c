/*
 * main.c - ctxready-server: options, the lws context and its event loop,
 * graceful shutdown on SIGTERM / SIGINT.  See server.h for the files and
 * docs/protocol.md for what it speaks.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "sim/dist.h"
#include "sim/knobarg.h"

#define MAX_OVERRIDES 64
#define STOP_GRACE    (2 * CR_NS_PER_S)

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
}

static const char usage[] =
    "usage: ctxready-server --port N --scenario FILE [--profile legacy|fixed] [--policy k=v]...\n"
    "                       [--seed S] [--time-scale X] [--host ADDR] [--token T]\n"
    "                       [--max-conns N] [--max-frame BYTES] [--send-queue BYTES]\n"
    "                       [--rate N] [--max-runs N] [--max-threads N] [--verbose]\n"
    "\n"
    "libctxready embedded in a libwebsockets server (docs/protocol.md).  One port carries\n"
    "the tabs (ws /ws, subprotocol ctxready.v1), the test-control side (ws /control,\n"
    "ctxready-control.v1), POST /message, GET /metrics, /debug/conns and /healthz.\n"
    "The first line on stdout is `listening HOST:PORT`.\n"
    "\n"
    "  --port N            port to listen on; 0: an ephemeral port (required)\n"
    "  --scenario FILE     its server: and faults: sections drive the in-process auth\n"
    "                      service, thread service and agent runtime (required)\n"
    "  --profile P         fixed | legacy (default: the scenario's)\n"
    "  --policy k=v        override a policy knob, as `ctxsim run --policy` (repeatable)\n"
    "  --seed S            seed of the server's random streams (default 1)\n"
    "  --time-scale X      multiply every scenario duration and the policy's durations\n"
    "                      by X (default 1; 0.1 runs ten times faster)\n"
    "  --host ADDR         address to listen on (default 127.0.0.1)\n"
    "  --token T           the only token auth accepts (default: any non-empty token)\n"
    "  --max-conns N       client connections at most (default 1024)\n"
    "  --max-frame BYTES   largest frame or POST body accepted (default 65536)\n"
    "  --send-queue BYTES  per-connection send queue; past it the client is closed as a\n"
    "                      slow reader (default 1048576)\n"
    "  --rate N            frames per second per connection; more are discarded with\n"
    "                      an error notice (default 1000)\n"
    "  --max-runs N        agent runs in progress at most (default 4096)\n"
    "  --max-threads N     threads the reference thread service creates at most; a frame\n"
    "                      naming a new thread past it is refused (default 262144)\n"
    "  --verbose           log the core's error reports and lws warnings on stderr\n"
    "\n"
    "Exit: 0 after SIGTERM/SIGINT (connections closed), 2 bad usage or scenario,\n"
    "3 cannot listen.\n";

static int parse_uint(const char *opt, const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!v || !*v || *v == '-') {
        fprintf(stderr, "ctxready-server: %s expects a number\n", opt);
        return -1;
    }
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end || x < min || x > max) {
        fprintf(stderr, "ctxready-server: %s expects an integer in %llu..%llu, got '%s'\n", opt,
                (unsigned long long)min, (unsigned long long)max, v);
        return -1;
    }
    *out = x;
    return 0;
}

typedef struct override {
    char name[48];
    uint64_t value;
} override;

static int parse_args(int argc, char **argv, srv_opts *o, override *ov, size_t *nov)
{
    uint64_t u;
    int have_port = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            exit(0);
        } else if (!strcmp(a, "--version")) {
            printf("ctxready-server %s (libctxready %s)\n", CR_VERSION_STRING, cr_version(NULL));
            exit(0);
        } else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
            o->verbose = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "ctxready-server: %s expects a value\n%s", a, usage);
            return -1;
        }
        i++;
        if (!strcmp(a, "--port")) {
            if (parse_uint(a, v, 0, 65535, &u))
                return -1;
            o->port = (int)u;
            have_port = 1;
        } else if (!strcmp(a, "--scenario")) {
            o->scenario = v;
        } else if (!strcmp(a, "--profile")) {
            char err[160];
            if (sim_profile_parse(v, &o->profile, err, sizeof err) != 0) {
                fprintf(stderr, "ctxready-server: %s\n", err);
                return -1;
            }
        } else if (!strcmp(a, "--policy")) {
            char err[1024];
            if (*nov == MAX_OVERRIDES) {
                fprintf(stderr, "ctxready-server: too many --policy overrides\n");
                return -1;
            }
            if (sim_knob_arg_parse(v, ov[*nov].name, sizeof ov[0].name, &ov[*nov].value, err,
                                   sizeof err) != 0) {
                fprintf(stderr, "ctxready-server: %s\n", err);
                return -1;
            }
            (*nov)++;
        } else if (!strcmp(a, "--seed")) {
            if (parse_uint(a, v, 0, UINT64_MAX, &o->seed))
                return -1;
        } else if (!strcmp(a, "--time-scale")) {
            char *end;
            errno = 0;
            double x = strtod(v, &end);
            if (errno || *end || !(x > 0) || x > 1e6) {
                fprintf(stderr, "ctxready-server: --time-scale expects a number > 0, got '%s'\n",
                        v);
                return -1;
            }
            o->time_scale = x;
        } else if (!strcmp(a, "--host")) {
            o->host = v;
        } else if (!strcmp(a, "--token")) {
            o->token = v;
        } else if (!strcmp(a, "--max-conns")) {
            if (parse_uint(a, v, 1, 1000000, &u))
                return -1;
            o->max_conns = (uint32_t)u;
        } else if (!strcmp(a, "--max-frame")) {
            if (parse_uint(a, v, 256, 64u << 20, &u))
                return -1;
            o->max_frame = (size_t)u;
        } else if (!strcmp(a, "--send-queue")) {
            if (parse_uint(a, v, 4096, 1u << 30, &u))
                return -1;
            o->send_queue = (size_t)u;
        } else if (!strcmp(a, "--rate")) {
            if (parse_uint(a, v, 1, 10000000, &u))
                return -1;
            o->rate = (uint32_t)u;
        } else if (!strcmp(a, "--max-runs")) {
            if (parse_uint(a, v, 1, 10000000, &u))
                return -1;
            o->max_runs = (uint32_t)u;
        } else if (!strcmp(a, "--max-threads")) {
            if (parse_uint(a, v, 1, 100000000, &u))
                return -1;
            o->max_threads = (uint32_t)u;
        } else {
            fprintf(stderr, "ctxready-server: unknown option '%s'\n%s", a, usage);
            return -1;
        }
    }
    if (!have_port || !o->scenario) {
        fprintf(stderr, "ctxready-server: --port and --scenario are required\n%s", usage);
        return -1;
    }
    return 0;
}

/* build_policy: the scenario's profile (or --profile), its policy:, then
 * --policy, exactly as ctxsim run; then the durations times --time-scale. */
static int build_policy(srv *s, const override *ov, size_t nov)
{
    int rc = sim_scenario_policy(s->sc, s->o.profile, &s->pol);
    for (size_t i = 0; rc == 0 && i < nov; i++)
        rc = cr_policy_set(&s->pol, ov[i].name, ov[i].value);
    if (rc != 0) {
        fprintf(stderr, "ctxready-server: policy: %s\n", cr_strerror(rc));
        return -1;
    }
    int profile = s->o.profile >= 0 ? s->o.profile : (int)s->sc->profile;
    s->o.profile_name = profile == CR_PROFILE_LEGACY ? "legacy" : "fixed";
    for (size_t i = 0; i < cr_policy_knob_count(); i++) {
        const cr_knob_info *k = cr_policy_knob(i);
        uint64_t v = 0;
        if (k->type != CR_KNOB_DURATION || cr_policy_get(&s->pol, k->name, &v) != 0)
            continue;
        double x = (double)v * s->o.time_scale + 0.5;
        cr_policy_set(&s->pol, k->name, x >= 1.8e19 ? UINT64_MAX : (uint64_t)x);
    }
    return 0;
}

static void on_tick(lws_sorted_usec_list_t *sul)
{
    srv *s = lws_container_of(sul, srv, sul_tick);
    /* Wakes the loop at least every 100 ms: a signal that arrived just
     * before poll() is seen within that. */
    lws_sul_schedule(s->lws, 0, &s->sul_tick, on_tick, 100 * LWS_US_PER_MS);
}

int main(int argc, char **argv)
{
    static srv s; /* large; zeroed */
    s.o = (srv_opts){.host = "127.0.0.1",
                     .profile = -1,
                     .seed = 1,
                     .time_scale = 1.0,
                     .max_conns = 1024,
                     .max_frame = 65536,
                     .send_queue = 1u << 20,
                     .rate = 1000,
                     .max_runs = 4096,
                     .max_threads = 262144};
    override ov[MAX_OVERRIDES];
    size_t nov = 0;
    if (parse_args(argc, argv, &s.o, ov, &nov) != 0)
        return 2;
    sim_scenario_error err;
    if (sim_scenario_load(s.o.scenario, &s.sc, &err) != 0) {
        char msg[600];
        sim_scenario_error_format(&err, msg, sizeof msg);
        fprintf(stderr, "%s\n", msg);
        return 2;
    }
    /* --time-scale: the server side's distributions, x times as long. */
    sim_dist *dists[] = {&s.sc->auth, &s.sc->thread_lookup, &s.sc->agent_start, &s.sc->event_gap};
    for (size_t i = 0; i < sizeof dists / sizeof dists[0]; i++)
        sim_dist_scale(dists[i], s.o.time_scale);
    if (build_policy(&s, ov, nov) != 0 || srv_host_init(&s) != 0) {
        sim_scenario_free(s.sc);
        return 2;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    lws_set_log_level(s.o.verbose ? LLL_ERR | LLL_WARN : LLL_ERR, NULL);
    static const struct lws_protocols protocols[] = {
        {"http", srv_lws_callback, sizeof(srv_pss), 0, 0, NULL, 0},
        {SRV_PROTO, srv_lws_callback, sizeof(srv_pss), 4096, 0, NULL, 0},
        {SRV_CTL_PROTO, srv_lws_callback, sizeof(srv_pss), 4096, 0, NULL, 0},
        {NULL, NULL, 0, 0, 0, NULL, 0}};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = s.o.port;
    info.iface = s.o.host;
    info.protocols = protocols;
    info.gid = (gid_t)-1;
    info.uid = (uid_t)-1;
    info.user = &s;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    info.fd_limit_per_thread = s.o.max_conns + SRV_MAX_CONTROL + 64;
    info.server_string = "ctxready-server";
    s.lws = lws_create_context(&info);
    if (!s.lws) {
        fprintf(stderr, "ctxready-server: cannot listen on %s:%d\n", s.o.host, s.o.port);
        srv_host_free(&s);
        sim_scenario_free(s.sc);
        return 3;
    }
    s.vh = lws_get_vhost_by_name(s.lws, "default");
    s.port = s.vh ? lws_get_vhost_listen_port(s.vh) : s.o.port;
    printf("listening %s:%d\n", s.o.host, s.port);
    fflush(stdout);
    lws_sul_schedule(s.lws, 0, &s.sul_tick, on_tick, 100 * LWS_US_PER_MS);
    srv_rearm(&s);

    for (;;) {
        lws_service(s.lws, 0);
        if (got_signal && !s.stopping) {
            s.stopping = 1;
            s.stop_deadline = srv_now(&s) + STOP_GRACE;
            srv_host_shutdown(&s);
            for (int i = 0; i < SRV_MAX_CONTROL; i++)
                if (s.ctl[i])
                    lws_callback_on_writable(s.ctl[i]->wsi);
        }
        if (s.stopping &&
            ((s.n.conns_now == 0 && s.n.controls_now == 0) || srv_now(&s) >= s.stop_deadline))
            break;
    }
    s.destroying = 1;
    lws_sul_cancel(&s.sul_tick);
    lws_sul_cancel(&s.sul_timer);
    lws_context_destroy(s.lws); /* what is left closes: CLOSED callbacks into the core */
    if (s.o.verbose)
        fprintf(stderr, "ctxready-server: stopped on signal %d\n", (int)got_signal);
    srv_host_free(&s);
    json_decref(s.staged);
    sim_scenario_free(s.sc);
    return 0;
}
