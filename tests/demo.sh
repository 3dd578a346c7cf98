#!/usr/bin/env bash
# make demo: the main job.  Runs the scenario suite under fixed and legacy and
# the ablation (fixed with each fix switched off), records everything into
# out/results.db, draws the report, and says where everything is.
set -u
CTXSIM=${CTXSIM:?CTXSIM must name the ctxsim binary}
mkdir -p out
jobs=$(nproc 2>/dev/null || echo 2)
log=out/demo-run.txt
echo "ctxsim demo: running scenarios/ under fixed, legacy and 9 ablations ($jobs workers)..."
"$CTXSIM" run scenarios --profile fixed,legacy --ablation --jobs "$jobs" \
  --db out/results.db --label "demo-$(date +%Y%m%d-%H%M%S)" --junit out/junit.xml \
  --max-replays 3 > "$log"
rc=$?
if [ $rc -ge 2 ]; then echo "ctxsim demo: run failed (exit $rc); see $log"; exit $rc; fi
# Side by side: delivery rate of each scenario under both profiles, from
# the run just recorded.
run=$(sqlite3 out/results.db "select max(id) from runs")
echo
sqlite3 -header -column out/results.db "
  select f.scenario,
         printf('%.2f%%', 100 * f.delivery_rate) as fixed,
         printf('%.2f%%', 100 * l.delivery_rate) as legacy,
         l.lost as legacy_lost, l.silent_loss as legacy_silent,
         case when f.pass then 'PASS' else 'FAIL' end as fixed_gate
    from scenario_results f join scenario_results l
      on l.run_id = f.run_id and l.scenario = f.scenario
   where f.run_id = $run and f.profile = 'fixed' and l.profile = 'legacy'
     and f.ablated_fix = 0 and l.ablated_fix = 0 and f.policy = '' and l.policy = ''
   order by f.scenario"
echo
grep -E '^recorded as run' "$log"
"$CTXSIM" report --db out/results.db --out out/report || exit $?
echo
echo "  run log      $log   (every sweep, failing seeds with their replay lines)"
echo "  database     out/results.db   (sqlite3 out/results.db 'select * from runs')"
echo "  report       out/report/index.html   (+ summary.md, charts as PNG and SVG)"
echo "  junit        out/junit.xml"
exit 0
