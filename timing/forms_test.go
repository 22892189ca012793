package timing

import (
	"testing"
	"time"

	"github.com/mqcron/mqcron/schedule"
)

// ActiveMQ 5.17 stalls its whole job scheduler when one message combines
// AMQ_SCHEDULED_CRON with a delay, period or repeat. No expression may
// compile to such a form, and every form must pass schedule.Job.Validate.
func TestBroker_NeverCombinesCronWithPeriodic(t *testing.T) {
	now := time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC)
	exprs := []string{
		"rate(1 second)", "rate(5 seconds)", "rate(1 minute)", "rate(7 minutes)", "rate(1 hour)", "rate(3 days)",
		"at(2026-12-24T18:00:00)", "at(2027-01-01T00:00:00)",
		"* * * * *", "@hourly", "@daily", "@weekly", "@monthly", "@yearly",
		"cron(0/5 * * * ? *)", "cron(0 9 ? * MON-FRI *)", "cron(0 0 L * ? *)", "cron(0 12 ? * 6#3 *)",
	}
	start := now.Add(time.Hour)
	end := now.Add(400 * 24 * time.Hour)
	for _, c := range loadCorpus(t) {
		exprs = append(exprs, c.expr)
	}
	for _, expr := range exprs {
		for _, o := range []Options{
			{Timezone: "UTC", Anchor: now},
			{Timezone: "Europe/Berlin", Anchor: now, Start: &start, End: &end},
			{Timezone: "Australia/Lord_Howe", Anchor: now},
		} {
			spec, err := Parse(expr, o)
			if err != nil && o.End != nil {
				continue // the expression has no fire inside the window
			}
			if err != nil {
				t.Fatalf("Parse(%q, %s): %v", expr, o.Timezone, err)
			}
			form, err := spec.Broker(now, 1_000_000_000)
			if err != nil {
				continue // no fire left in this window
			}
			periodic := form.Delay != 0 || form.Period != 0 || form.Repeat != 0
			if form.Cron != "" && periodic {
				t.Errorf("%q in %s compiles to cron %q with delay %s, period %s, repeat %d",
					expr, o.Timezone, form.Cron, form.Delay, form.Period, form.Repeat)
			}
			job := schedule.Job{
				Body: schedule.JobBody{Kind: schedule.JobRecurring, ScheduleID: "s", Version: 1},
				Cron: form.Cron, Delay: form.Delay, Period: form.Period, Repeat: form.Repeat,
			}
			if err := job.Validate(); err != nil {
				t.Errorf("%q in %s: %v", expr, o.Timezone, err)
			}
		}
	}
}
