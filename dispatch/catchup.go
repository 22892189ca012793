package dispatch

import (
	"context"
	"log/slog"
	"time"

	"github.com/mqcron/mqcron/schedule"
	"github.com/mqcron/mqcron/timing"
)

// maxCatchUpScan bounds the fires that catchUp steps through to find the
// latest MaxCatchUp missed ones, so that a schedule with a tiny rate and
// an old last run costs bounded work.
const maxCatchUpScan = 1_000_000

// catchUp handles the fires of sched that fell due after its latest
// recorded run (or after its current version was written) and before
// fireAt. ActiveMQ's job scheduler skips the instants that pass while the
// broker is down: after a restart it fires each overdue job once and
// counts the next period from then. Each missed fire is delivered late
// when it is younger than its maximum event age and recorded as expired
// otherwise;
// ClaimFire keeps a fire whose own wake-up is still on the way from being
// published twice. At most MaxCatchUp fires, the latest ones, are handled
// per wake-up; older ones are counted and logged only.
func (d *Dispatcher) catchUp(ctx context.Context, log *slog.Logger, sched *schedule.Schedule, spec *timing.Spec, w wakeup, fireAt time.Time, sem chan struct{}) {
	from := sched.UpdatedAt
	if sched.LastRun != nil && sched.LastRun.FireAt.After(from) {
		from = sched.LastRun.FireAt
	}
	missed, total := missedFires(spec, from, fireAt, d.c.MaxCatchUp)
	if total == 0 {
		return
	}
	d.c.Metrics.Add(MetricMissed, int64(total))
	log.Warn("catch up fires without a wake-up", "missed", total, "handled", len(missed),
		"after", from, "before", fireAt)

	for _, at := range missed {
		run := &schedule.Run{
			FireID:     schedule.FireID(sched.ID, at),
			ScheduleID: sched.ID,
			Version:    sched.Version,
			FireAt:     at,
			Attempt:    1,
			Topics:     len(sched.Target.Topics),
		}
		d.deliver(ctx, log.With("fireId", run.FireID, "catchUp", true), sched, w, run, sem)
	}
}

// missedFires returns the latest limit fires of spec strictly between from
// and before, and how many fires lie in that span (counting stops at
// maxCatchUpScan).
func missedFires(spec *timing.Spec, from, before time.Time, limit int) ([]time.Time, int) {
	var latest []time.Time
	total := 0
	for t, ok := spec.Next(from); ok && t.Before(before) && total < maxCatchUpScan; t, ok = spec.Next(t) {
		total++
		latest = append(latest, t)
		if len(latest) > limit {
			latest = latest[1:]
		}
	}
	return latest, total
}
