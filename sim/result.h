/*
 * result.h - what the oracle counts for one seed, and what a sweep of seeds
 * of one scenario adds up to.  Shared by the simulator and the reports.
 */
#ifndef SIM_RESULT_H
#define SIM_RESULT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Why a lost (event, tab) pair was lost: exactly one cause each, the first
 * that applies in this order (docs/oracle.md gives the rules and an
 * example of each).  X(id, name, count, doc): `count` is the SIM_COUNTS
 * entry the cause is counted in.  Only CORE_SILENT is a silent loss.
 */
#define SIM_CAUSES(X)                                                                              \
    X(CLIENT_TOLD, client_told, CLIENT_TOLD,                                                       \
      "the client got a notice that covers it (SWITCH_FAILED, MESSAGE_REJECTED, fallback)")        \
    X(CORE_REPORTED, core_reported, CORE_REPORTED,                                                 \
      "the core reported it to the host (expired, dropped_full, unroutable, replay gap, ...)")     \
    X(TRANSPORT_LOST, transport_lost, TRANSPORT_LOST,                                              \
      "sent, dropped by a transport that died, not recovered by replay")                           \
    X(IN_FLIGHT_AT_CLOSE, in_flight_at_close, IN_FLIGHT_AT_CLOSE,                                  \
      "sent, still in flight when the tab closed (or when observation ended)")                     \
    X(NEVER_STARTED, never_started, NEVER_STARTED,                                                 \
      "its message was accepted, its run never started or never got run_go; nobody was told")      \
    X(CORE_SILENT, core_silent, SILENT_LOSS,                                                       \
      "never sent to the tab, and neither the host nor the client was told")

typedef enum sim_cause {
#define SIM_CAUSE_ENUM(id, name, count, doc) SIM_CAUSE_##id,
    SIM_CAUSES(SIM_CAUSE_ENUM)
#undef SIM_CAUSE_ENUM
        SIM_CAUSE__N
} sim_cause;

/* sim_cause_name returns "client_told", ...; "?" out of range. */
const char *sim_cause_name(int cause);
/* sim_cause_count returns the sim_count_id a cause is counted in; -1 out of range. */
int sim_cause_count(int cause);

/*
 * The oracle's counts (docs/oracle.md), per seed,
 * summed per sweep.  X(id, name, doc).  Every lost (event, tab) pair has
 * exactly one cause (SIM_CAUSES): lost = client_told + core_reported +
 * transport_lost + in_flight_at_close + never_started + silent_loss.  A
 * message the core refuses on arrival (an error returned to the sender: a
 * full queue, a foreign thread) promised nothing: its run's events are not
 * expected, it is counted in `refused`; a message accepted and rejected
 * later (pending deadline, association given up) is a loss.  `livelock` and
 * `errors` count seeds, not events.
 */
#define SIM_COUNTS(X)                                                                              \
    X(EXPECTED, expected, "events a client had to receive")                                        \
    X(DELIVERED, delivered, "received within the deadline")                                        \
    X(LATE, late, "received after the deadline")                                                   \
    X(LOST, lost, "never received")                                                                \
    X(MISROUTED, misrouted, "received by a connection of another user")                            \
    X(STRAY, stray, "shown while viewing another thread, on a binding the core had not shown")     \
    X(DUPLICATED, duplicated, "received more than once")                                           \
    X(OUT_OF_ORDER, out_of_order, "received before an earlier event of its run")                   \
    X(REORDERED_MESSAGES, reordered_messages, "messages of a tab dispatched out of send order")    \
    X(SILENT_LOSS, silent_loss, "lost, cause core_silent: nobody was ever told")                   \
    X(CLIENT_TOLD, client_told, "lost, cause client_told: a notice covered it")                    \
    X(CORE_REPORTED, core_reported, "lost, cause core_reported: reported to the host")             \
    X(TRANSPORT_LOST, transport_lost, "lost, cause transport_lost: dropped with a transport")      \
    X(IN_FLIGHT_AT_CLOSE, in_flight_at_close, "lost, cause in_flight_at_close")                    \
    X(NEVER_STARTED, never_started, "lost, cause never_started: its run never went")               \
    X(EMITTED, emitted, "events the agents emitted")                                               \
    X(MESSAGES, messages, "client messages sent")                                                  \
    X(RUNS, runs, "agent runs started")                                                            \
    X(NOTIFICATIONS, notifications, "fallback notifications received")                             \
    X(STUCK_PENDING, stuck_pending, "liveness: connections given a thread never READY")            \
    X(STRANDED, stranded, "liveness: events still buffered after the drain")                       \
    X(REFUSED, refused, "messages refused on arrival (bound, foreign): not expected")              \
    X(ACCOUNTING, accounting, "the core's counters or promises disagreed with the world's view")   \
    X(LIVELOCK, livelock, "seeds that exhausted their step budget")                                \
    X(ERRORS, errors, "seeds whose setup or simulation failed")

typedef enum sim_count_id {
#define SIM_COUNT_ENUM(id, name, doc) SIM_COUNT_##id,
    SIM_COUNTS(SIM_COUNT_ENUM)
#undef SIM_COUNT_ENUM
        SIM_COUNT__N
} sim_count_id;

/* sim_count_name returns "expected", "delivered", ...; NULL out of range. */
const char *sim_count_name(int id);
/* sim_count_lookup returns the id of a count name, or -1. */
int sim_count_lookup(const char *name);

/*
 * Delivery latency histogram, log-linear: 8 sub-buckets per power of two of
 * nanoseconds (relative error <= 12.5%).  Bucket i covers [lo(i), lo(i+1)).
 */
#define SIM_HIST_SUB     8
#define SIM_HIST_BUCKETS (64 * SIM_HIST_SUB)

typedef struct sim_hist {
    uint64_t count;
    uint64_t max;
    uint64_t b[SIM_HIST_BUCKETS];
} sim_hist;

void sim_hist_add(sim_hist *h, uint64_t v);
void sim_hist_merge(sim_hist *into, const sim_hist *from);
/* sim_hist_bucket_low returns the lowest value of bucket i. */
uint64_t sim_hist_bucket_low(int i);
/* sim_hist_quantile returns an upper estimate of quantile q; 0 if empty. */
uint64_t sim_hist_quantile(const sim_hist *h, double q);

/* What a seed held, by component, in bytes (make bench): the core's peak
 * through its allocator (what it asked for), the engine's and the
 * oracle's arrays at the end (they never shrink), and the process's heap
 * in use at the end (malloc's count: every component with malloc's
 * overhead; 0 where unknown). */
typedef struct sim_mem_use {
    uint64_t core_peak;
    uint64_t engine;
    uint64_t oracle;
    uint64_t heap;
} sim_mem_use;

/* One seed. */
typedef struct sim_seed_result {
    uint64_t seed;
    uint64_t c[SIM_COUNT__N];
    uint64_t trace_hash;
    uint64_t steps;       /* trace steps */
    uint64_t events;      /* engine events processed */
    uint64_t end_time;    /* virtual ns of the last event */
    int pass;             /* the per-seed rule (sim/verdict.h) holds */
    int worst;            /* 0, or its rank (1 = lowest rate) among the worst seeds */
    char reason[256];     /* every miss, "; "-separated, "" if pass */
    char stranded[200];   /* the world's account of what is stranded: user/thread, seq, wait */
    sim_hist latency;     /* delivery latency (emit -> client receive) */
    uint64_t queue_peak;  /* most events pending in the engine at once */
    uint64_t queue_mean;  /* mean events pending, over the events processed */
    uint64_t coverage;    /* sim_coverage (sim/coverage.h): behaviours this seed exercised */
    char accounting[200]; /* the first accounting disagreement (sim/account.h), "" if none */
    /* What exploration did (sim/engine.h, sim_engine_stats); 0 unexplored. */
    uint64_t tie_reorders;    /* events run before a simultaneous earlier-scheduled one */
    uint64_t window_reorders; /* PCT: events run before an earlier-due one of another actor */
    uint64_t max_delay;       /* PCT: longest delay within the race window, ns */
    uint64_t pct_actors;      /* PCT: n, distinct actors */
    uint64_t pct_steps;       /* PCT: k, the expected step count the change points came from */
    uint64_t pct_changes;     /* PCT: change points that happened */
    sim_mem_use mem;          /* bytes held by component (make bench) */
} sim_seed_result;

/* The sum over a sweep of one scenario under one profile/policy. */
typedef struct sim_sweep_result {
    char scenario[64];
    char path[512];
    char profile[16];
    char policy[256]; /* overrides applied on top, "k=v,k=v" or "" */
    int ablated_fix;  /* 1..9 when the sweep switched one fix off, else 0 */
    uint32_t nseeds;
    uint64_t c[SIM_COUNT__N];
    double delivery_rate;             /* sum(delivered)/sum(expected); 1 if none expected */
    double rate_lo, rate_hi;          /* 95% Wilson interval */
    double expect_rate;               /* the gate line, -1 if none */
    int64_t expect_max[SIM_COUNT__N]; /* count maxima over the sweep, -1 unchecked */
    uint64_t p50, p90, p99, pmax;     /* delivery latency ns */
    sim_hist latency;
    uint32_t failed_seeds;
    uint32_t worst_seeds; /* passing seeds with their own rate below expect_rate */
    /* The verdict record (sim/verdict.h): drives every output. */
    int verdict;            /* sim_verdict: pass, fail, inconclusive */
    int role;               /* sim_role: gate, informational */
    int matrix;             /* 1: a sweep of the --ablation matrix (informational) */
    int fails_ci;           /* 1: this sweep fails CI (exit 1, JUnit failure, gate) */
    int pass;               /* verdict == pass */
    char reason[1024];      /* every expectation missed, "; "-separated, "" if none */
    char note[256];         /* what the verdict means for CI, "" for a plain gate sweep */
    sim_seed_result *seeds; /* nseeds entries (owned) */
    int explore;            /* simultaneous events reordered (replay needs --explore) */
    uint32_t pct_depth;     /* PCT depth D (replay needs --pct D:W), 0 none */
    uint64_t pct_window;    /* PCT race window W, ns */
    uint64_t max_steps;     /* --max-steps of the sweep, 0: the default (replay repeats it) */
    uint64_t coverage;      /* sim_coverage: the OR of the seeds' (sim_sweep_judge) */
    int allow_large;        /* a seed is over the cost limits (replay needs --allow-large) */
} sim_sweep_result;

/* sim_wilson computes the 95% Wilson score interval of k successes in n. */
void sim_wilson(uint64_t k, uint64_t n, double *lo, double *hi);

#endif
