-- reports/schema.sql - the results database (default out/results.db).
--
-- Documentation only: the schema is created and migrated by reports/store.c
-- (PRAGMA user_version; v1 = the tables, v2 = runs.host/runs.pid and the
-- indexes, v3 = seed_results.queue_peak/queue_mean, v4 = the verdict record:
-- scenario_results.role/verdict/matrix/worst_seeds, seed_results.worst,
-- v5 = scenario_results.coverage, v6 = the parameter sweeps of ctxsim sweep:
-- sweep_runs, sweeps, sweep_knees, v7 = runs.mode: 'sim' or 'real' (ctxsim drive)),
-- with the count columns generated from SIM_COUNTS in
-- sim/result.h.  `sqlite3 out/results.db .schema` shows the same, comments
-- included.  tests/test_store.c checks every column is listed here.
--
-- Conventions: times in ns unless named otherwise; uint64 values (seeds,
-- counts, latencies) are stored as their int64 bit pattern; a run is
-- 'running' until ctxsim finishes it, so a killed run stays 'running' and
-- readers show it as incomplete (its pid is gone); every sweep is one
-- transaction (WAL mode), so what finished is kept.
--
-- Example queries:
--   -- delivery rate per scenario and profile of the latest run
--   SELECT scenario, profile, policy, expected, delivered,
--          round(100.0 * delivery_rate, 2) AS rate_pct, pass
--     FROM scenario_results WHERE run_id = (SELECT max(id) FROM runs)
--    ORDER BY scenario, profile;
--   -- what failed CI in the latest run: gate sweeps that did not pass
--   SELECT scenario, profile, policy, ablated_fix, verdict, reason FROM scenario_results
--    WHERE run_id = (SELECT max(id) FROM runs) AND role = 'gate' AND verdict <> 'pass';
--   -- the replay lines of every failing seed of run 3
--   SELECT f.replay, f.kind, f.detail FROM failures f
--     JOIN scenario_results r ON r.id = f.scenario_result_id WHERE r.run_id = 3;
--   -- the curve and the knee of the latest parameter sweep (ctxsim sweep)
--   SELECT profile, value_text, expected, delivered, round(100.0 * rate_lo, 2), dominant_cause
--     FROM sweeps WHERE sweep_run_id = (SELECT max(id) FROM sweep_runs) ORDER BY profile, value;
--   SELECT sentence FROM sweep_knees WHERE sweep_run_id = (SELECT max(id) FROM sweep_runs);
--   -- the trend of one scenario
--   SELECT run_id, delivery_rate FROM scenario_results
--    WHERE scenario = 'message_before_thread' AND profile = 'fixed' ORDER BY run_id;

CREATE TABLE runs ( -- one invocation of ctxsim run (or one merge)
  id INTEGER PRIMARY KEY,          -- what --run ID takes
  started_at INTEGER NOT NULL,     -- unix seconds, metadata only
  finished_at INTEGER,             -- unix seconds; NULL until finished
  label TEXT,                      -- --label; what --run LABEL takes
  git_rev TEXT,
  tool_version TEXT,
  args TEXT,                       -- the command line of the run
  shard TEXT,                      -- 'K/N' for a shard, NULL for a whole run
  status TEXT NOT NULL DEFAULT 'running'
    CHECK (status IN ('running', 'complete', 'failed', 'interrupted')),
  host TEXT,                       -- (v2) host name of the recording process
  pid INTEGER,                     -- (v2) its pid: 'running' with the process gone = incomplete
  mode TEXT NOT NULL DEFAULT 'sim' -- (v7) 'sim': simulated seeds; 'real': ctxsim drive against
    CHECK (mode IN ('sim', 'real'))  -- a real server (seeds are real runs, not replayable)
);
CREATE TABLE scenario_results ( -- one sweep: scenario x profile x policy over seeds
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  scenario TEXT NOT NULL,
  path TEXT NOT NULL,              -- the scenario file
  profile TEXT NOT NULL,           -- legacy | fixed
  policy TEXT NOT NULL DEFAULT '', -- knob overrides 'k=v,k=v'
  ablated_fix INTEGER NOT NULL DEFAULT 0, -- 1..9: the fix switched off; 0: none
  seeds INTEGER NOT NULL,
  expected INTEGER NOT NULL DEFAULT 0, -- events a client had to receive
  delivered INTEGER NOT NULL DEFAULT 0, -- received within the deadline
  late INTEGER NOT NULL DEFAULT 0, -- received after the deadline
  lost INTEGER NOT NULL DEFAULT 0, -- never received
  misrouted INTEGER NOT NULL DEFAULT 0, -- received by a connection of another user
  stray INTEGER NOT NULL DEFAULT 0, -- shown while viewing another thread, on a binding the core had not shown
  duplicated INTEGER NOT NULL DEFAULT 0, -- received more than once
  out_of_order INTEGER NOT NULL DEFAULT 0, -- received before an earlier event of its run
  reordered_messages INTEGER NOT NULL DEFAULT 0, -- messages of a tab dispatched out of send order
  silent_loss INTEGER NOT NULL DEFAULT 0, -- lost, cause core_silent: nobody was ever told
  client_told INTEGER NOT NULL DEFAULT 0, -- lost, cause client_told: a notice covered it
  core_reported INTEGER NOT NULL DEFAULT 0, -- lost, cause core_reported: reported to the host
  transport_lost INTEGER NOT NULL DEFAULT 0, -- lost, cause transport_lost: dropped with a transport
  in_flight_at_close INTEGER NOT NULL DEFAULT 0, -- lost, cause in_flight_at_close
  never_started INTEGER NOT NULL DEFAULT 0, -- lost, cause never_started: its run never went
  emitted INTEGER NOT NULL DEFAULT 0, -- events the agents emitted
  messages INTEGER NOT NULL DEFAULT 0, -- client messages sent
  runs INTEGER NOT NULL DEFAULT 0, -- agent runs started
  notifications INTEGER NOT NULL DEFAULT 0, -- fallback notifications received
  stuck_pending INTEGER NOT NULL DEFAULT 0, -- liveness: connections given a thread never READY
  stranded INTEGER NOT NULL DEFAULT 0, -- liveness: events still buffered after the drain
  refused INTEGER NOT NULL DEFAULT 0, -- messages refused on arrival (bound, foreign): not expected
  accounting INTEGER NOT NULL DEFAULT 0, -- the core's counters or promises disagreed with the world's view
  livelock INTEGER NOT NULL DEFAULT 0, -- seeds that exhausted their step budget
  errors INTEGER NOT NULL DEFAULT 0, -- seeds whose setup or simulation failed
  delivery_rate REAL NOT NULL,     -- delivered / expected (1 if none expected)
  rate_lo REAL NOT NULL,           -- 95% Wilson interval of delivery_rate
  rate_hi REAL NOT NULL,
  expect_rate REAL,                -- the gate line; NULL: no rate expectation
  expect_json TEXT NOT NULL DEFAULT '{}', -- {"delivery_rate":r,"max":{count:max}}
  p50_ns INTEGER NOT NULL,         -- delivery latency percentiles
  p90_ns INTEGER NOT NULL,
  p99_ns INTEGER NOT NULL,
  max_ns INTEGER NOT NULL,
  failed_seeds INTEGER NOT NULL,
  pass INTEGER NOT NULL,           -- 1: verdict = 'pass'
  reason TEXT NOT NULL DEFAULT '', -- every expectation missed, '; '-separated
  role TEXT NOT NULL DEFAULT 'gate', -- (v4) gate: what was asked for, fails CI unless it
                                   -- passes. informational: legacy beside fixed, the
                                   -- --ablation matrix (never fails CI, except a fix the
                                   -- whole matrix does not catch)
  verdict TEXT NOT NULL DEFAULT 'pass', -- (v4) pass | fail | inconclusive (no expected event
                                   -- and the scenario did not declare expect: {expected: 0})
  matrix INTEGER NOT NULL DEFAULT 0, -- (v4) 1: a sweep of the --ablation matrix
  worst_seeds INTEGER NOT NULL DEFAULT 0, -- (v4) passing seeds whose own rate is below expect_rate
  coverage TEXT                    -- (v5) core behaviours some seed exercised (sim/coverage.h),
                                   -- ','-separated names; NULL: recorded before v5
);
CREATE TABLE seed_results (
  id INTEGER PRIMARY KEY,
  scenario_result_id INTEGER NOT NULL REFERENCES scenario_results(id) ON DELETE CASCADE,
  seed INTEGER NOT NULL,           -- uint64 stored as its int64 bit pattern
  expected INTEGER NOT NULL DEFAULT 0, -- events a client had to receive
  delivered INTEGER NOT NULL DEFAULT 0, -- received within the deadline
  late INTEGER NOT NULL DEFAULT 0, -- received after the deadline
  lost INTEGER NOT NULL DEFAULT 0, -- never received
  misrouted INTEGER NOT NULL DEFAULT 0, -- received by a connection of another user
  stray INTEGER NOT NULL DEFAULT 0, -- shown while viewing another thread, on a binding the core had not shown
  duplicated INTEGER NOT NULL DEFAULT 0, -- received more than once
  out_of_order INTEGER NOT NULL DEFAULT 0, -- received before an earlier event of its run
  reordered_messages INTEGER NOT NULL DEFAULT 0, -- messages of a tab dispatched out of send order
  silent_loss INTEGER NOT NULL DEFAULT 0, -- lost, cause core_silent: nobody was ever told
  client_told INTEGER NOT NULL DEFAULT 0, -- lost, cause client_told: a notice covered it
  core_reported INTEGER NOT NULL DEFAULT 0, -- lost, cause core_reported: reported to the host
  transport_lost INTEGER NOT NULL DEFAULT 0, -- lost, cause transport_lost: dropped with a transport
  in_flight_at_close INTEGER NOT NULL DEFAULT 0, -- lost, cause in_flight_at_close
  never_started INTEGER NOT NULL DEFAULT 0, -- lost, cause never_started: its run never went
  emitted INTEGER NOT NULL DEFAULT 0, -- events the agents emitted
  messages INTEGER NOT NULL DEFAULT 0, -- client messages sent
  runs INTEGER NOT NULL DEFAULT 0, -- agent runs started
  notifications INTEGER NOT NULL DEFAULT 0, -- fallback notifications received
  stuck_pending INTEGER NOT NULL DEFAULT 0, -- liveness: connections given a thread never READY
  stranded INTEGER NOT NULL DEFAULT 0, -- liveness: events still buffered after the drain
  refused INTEGER NOT NULL DEFAULT 0, -- messages refused on arrival (bound, foreign): not expected
  accounting INTEGER NOT NULL DEFAULT 0, -- the core's counters or promises disagreed with the world's view
  livelock INTEGER NOT NULL DEFAULT 0, -- seeds that exhausted their step budget
  errors INTEGER NOT NULL DEFAULT 0, -- seeds whose setup or simulation failed
  trace_hash TEXT NOT NULL,       -- 16 hex digits: identifies the run
  steps INTEGER NOT NULL,         -- trace steps
  events INTEGER NOT NULL DEFAULT 0, -- engine events processed
  end_time_ns INTEGER NOT NULL DEFAULT 0, -- virtual time of the last event
  pass INTEGER NOT NULL,           -- 1: the per-seed rule holds: no count bounded at 0
                                   -- (safety, silent loss, liveness), no livelock, no error.
                                   -- A low rate alone is not a seed failure, see worst
  reason TEXT NOT NULL DEFAULT '', -- every miss, '; '-separated
  queue_peak INTEGER NOT NULL DEFAULT 0, -- (v3) most events pending in the engine at once
  queue_mean INTEGER NOT NULL DEFAULT 0, -- (v3) mean events pending, over the events processed
  worst INTEGER NOT NULL DEFAULT 0 -- (v4) 0, or its rank (1 = lowest rate) among the worst seeds
);
CREATE TABLE failures ( -- one row per failing seed, then one per worst seed (kind 'worst')
  id INTEGER PRIMARY KEY,
  scenario_result_id INTEGER NOT NULL REFERENCES scenario_results(id) ON DELETE CASCADE,
  seed INTEGER NOT NULL,
  kind TEXT NOT NULL,              -- livelock, errors, the first count broken; or worst:
                                   -- not a failure, a seed whose own rate is below the line
  detail TEXT NOT NULL,            -- the seed's reason
  replay TEXT NOT NULL             -- the ctxsim replay line
);
CREATE TABLE latency_hist ( -- non-empty buckets of the sweep's histogram
  scenario_result_id INTEGER NOT NULL REFERENCES scenario_results(id) ON DELETE CASCADE,
  bucket_low_ns INTEGER NOT NULL,  -- lowest latency of the bucket
  count INTEGER NOT NULL
);
CREATE INDEX runs_label ON runs(label, id);
CREATE INDEX scenario_results_run
  ON scenario_results(run_id, scenario, profile, policy, ablated_fix);
CREATE INDEX scenario_results_trend ON scenario_results(scenario, profile, run_id);
CREATE INDEX seed_results_sweep ON seed_results(scenario_result_id, seed);
CREATE INDEX seed_results_trace ON seed_results(trace_hash);
CREATE INDEX failures_sweep ON failures(scenario_result_id, seed);
CREATE INDEX latency_hist_sweep ON latency_hist(scenario_result_id, bucket_low_ns);

-- v6: parameter sweeps (ctxsim sweep, docs/sweep.md), apart from runs.
CREATE TABLE sweep_runs ( -- one ctxsim sweep: a parameter (or two) over a range
  id INTEGER PRIMARY KEY,          -- what report --sweep ID takes
  started_at INTEGER NOT NULL,     -- unix seconds, metadata only
  finished_at INTEGER,
  label TEXT,
  git_rev TEXT,
  tool_version TEXT,
  args TEXT,                       -- the command line
  status TEXT NOT NULL DEFAULT 'running'
    CHECK (status IN ('running', 'complete', 'failed', 'interrupted')),
  scenario TEXT NOT NULL,
  path TEXT NOT NULL,
  parameter TEXT NOT NULL,         -- the first --vary (A)
  range TEXT NOT NULL,             -- 'FROM..TO' of A, as canonical values
  range_from REAL NOT NULL,        -- the same in the parameter's unit
  range_to REAL NOT NULL,
  steps INTEGER NOT NULL,
  log INTEGER NOT NULL DEFAULT 0,  -- 1: geometric grid
  parameter2 TEXT,                 -- the second --vary (B), NULL: one parameter
  range2 TEXT,
  range2_from REAL,
  range2_to REAL,
  steps2 INTEGER,
  log2 INTEGER,
  unit TEXT NOT NULL,              -- ns | count | number: the values of A
  unit2 TEXT,
  profiles TEXT NOT NULL,          -- 'fixed' or 'fixed,legacy'
  seeds INTEGER NOT NULL,          -- per value, the same seeds 1..N at every value
  target REAL NOT NULL,            -- the delivery rate the knee is searched for
  context TEXT NOT NULL DEFAULT '' -- the conditions of the requirement
);
CREATE TABLE sweeps ( -- one value (pair) of a parameter sweep under one profile
  id INTEGER PRIMARY KEY,
  sweep_run_id INTEGER NOT NULL REFERENCES sweep_runs(id) ON DELETE CASCADE,
  scenario TEXT NOT NULL,
  profile TEXT NOT NULL,
  parameter TEXT NOT NULL,
  value REAL NOT NULL,             -- in the parameter's unit (ns for durations)
  value_text TEXT NOT NULL,        -- e.g. '1.9s'
  parameter2 TEXT,                 -- two parameters: B and its value
  value2 REAL,
  value2_text TEXT,
  refined INTEGER NOT NULL DEFAULT 0, -- 1: run by the knee's bisection, off the grid
  seeds INTEGER NOT NULL,
  expected INTEGER NOT NULL DEFAULT 0, -- events a client had to receive
  delivered INTEGER NOT NULL DEFAULT 0, -- received within the deadline
  late INTEGER NOT NULL DEFAULT 0, -- received after the deadline
  lost INTEGER NOT NULL DEFAULT 0, -- never received
  misrouted INTEGER NOT NULL DEFAULT 0, -- received by a connection of another user
  stray INTEGER NOT NULL DEFAULT 0, -- shown while viewing another thread, on a binding the core had not shown
  duplicated INTEGER NOT NULL DEFAULT 0, -- received more than once
  out_of_order INTEGER NOT NULL DEFAULT 0, -- received before an earlier event of its run
  reordered_messages INTEGER NOT NULL DEFAULT 0, -- messages of a tab dispatched out of send order
  silent_loss INTEGER NOT NULL DEFAULT 0, -- lost, cause core_silent: nobody was ever told
  client_told INTEGER NOT NULL DEFAULT 0, -- lost, cause client_told: a notice covered it
  core_reported INTEGER NOT NULL DEFAULT 0, -- lost, cause core_reported: reported to the host
  transport_lost INTEGER NOT NULL DEFAULT 0, -- lost, cause transport_lost: dropped with a transport
  in_flight_at_close INTEGER NOT NULL DEFAULT 0, -- lost, cause in_flight_at_close
  never_started INTEGER NOT NULL DEFAULT 0, -- lost, cause never_started: its run never went
  emitted INTEGER NOT NULL DEFAULT 0, -- events the agents emitted
  messages INTEGER NOT NULL DEFAULT 0, -- client messages sent
  runs INTEGER NOT NULL DEFAULT 0, -- agent runs started
  notifications INTEGER NOT NULL DEFAULT 0, -- fallback notifications received
  stuck_pending INTEGER NOT NULL DEFAULT 0, -- liveness: connections given a thread never READY
  stranded INTEGER NOT NULL DEFAULT 0, -- liveness: events still buffered after the drain
  refused INTEGER NOT NULL DEFAULT 0, -- messages refused on arrival (bound, foreign): not expected
  accounting INTEGER NOT NULL DEFAULT 0, -- the core's counters or promises disagreed with the world's view
  livelock INTEGER NOT NULL DEFAULT 0, -- seeds that exhausted their step budget
  errors INTEGER NOT NULL DEFAULT 0, -- seeds whose setup or simulation failed
  delivery_rate REAL NOT NULL,
  rate_lo REAL NOT NULL,           -- 95% Wilson interval
  rate_hi REAL NOT NULL,
  p50_ns INTEGER NOT NULL DEFAULT 0, -- delivery latency (emit -> client) percentiles
  p99_ns INTEGER NOT NULL DEFAULT 0,
  dominant_cause TEXT NOT NULL,    -- the largest loss cause (or late), '-' if none
  policy TEXT NOT NULL DEFAULT '', -- the policy overrides of this value
  trace_digest TEXT NOT NULL       -- 16 hex digits: hash of the seeds' trace hashes
);
CREATE TABLE sweep_knees ( -- the knee of one curve (profile, and the value of A with two)
  sweep_run_id INTEGER NOT NULL REFERENCES sweep_runs(id) ON DELETE CASCADE,
  profile TEXT NOT NULL,
  parameter TEXT NOT NULL,         -- the parameter the knee is in
  row_value REAL,                  -- two parameters: the value of A
  row_text TEXT,
  direction TEXT NOT NULL,         -- '>=' (larger is better) | '<='
  status TEXT NOT NULL CHECK (status IN ('found', 'all', 'never')),
  knee REAL,                       -- found: the requirement; all: the range's end
  knee_text TEXT,
  bracket REAL,                    -- found: the failing value next to it
  resolution REAL NOT NULL,
  best_value REAL NOT NULL,        -- the value with the highest lower bound
  best_rate_lo REAL NOT NULL,
  best_cause TEXT NOT NULL,        -- the dominant loss cause there
  extra_values INTEGER NOT NULL,   -- values the bisection ran
  target REAL NOT NULL,
  sentence TEXT NOT NULL           -- the requirement in words
);
CREATE INDEX sweeps_run ON sweeps(sweep_run_id, profile, value2, value);
CREATE INDEX sweep_knees_run ON sweep_knees(sweep_run_id);
CREATE INDEX sweep_runs_key ON sweep_runs(scenario, parameter, id);
