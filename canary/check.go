package canary

import (
	"context"
	"fmt"
	"time"

	"github.com/mqcron/mqcron/schedule"
	"github.com/mqcron/mqcron/scheduler"
)

// State is the canary's health.
type State string

// Canary states. Only StateOK is healthy.
const (
	// StateOK means the latest delivered fire is recent enough, or the
	// canary is new and its first fires are not overdue yet.
	StateOK State = "OK"
	// StateOverdue means no fire was delivered for two intervals plus
	// the slack: the broker's job scheduler, the dispatcher or the
	// publisher has stopped.
	StateOverdue State = "OVERDUE"
	// StateMissing means the canary schedule does not exist; Ensure
	// creates it.
	StateMissing State = "MISSING"
	// StateDisabled means the canary schedule exists but is not enabled.
	StateDisabled State = "DISABLED"
)

// Status is the result of Check, shaped for a JSON health response.
type Status struct {
	State      State  `json:"state"`
	ScheduleID string `json:"scheduleId,omitempty"`
	// LastDelivered is the fire instant of the latest delivered fire,
	// zero when none was delivered yet.
	LastDelivered time.Time `json:"lastDelivered,omitempty"`
	// Deadline is the instant after which the canary counts as overdue
	// unless another fire is delivered.
	Deadline time.Time `json:"deadline,omitempty"`
	Message  string    `json:"message"`
}

// Healthy reports whether s is StateOK.
func (s Status) Healthy() bool { return s.State == StateOK }

// recentRuns is how many runs Check reads when the latest run was not
// delivered.
const recentRuns = 20

// Check reports whether the canary's fires arrive. The deadline is the
// second fire after the latest delivered one, plus the slack. When no fire
// was delivered yet, it counts from the schedule's latest change. Past the
// deadline the canary is overdue. Check reads the schedule's lastRun, and
// the recent runs only when the latest run was not delivered.
func (c Canary) Check(ctx context.Context, store Store, now time.Time) (Status, error) {
	sched, err := find(ctx, store.ListSchedules, Owner)
	if err != nil {
		return Status{}, fmt.Errorf("canary: %w", err)
	}
	if sched == nil {
		return Status{State: StateMissing, Message: "the canary schedule does not exist"}, nil
	}
	st := Status{ScheduleID: sched.ID}
	if sched.State != schedule.StateEnabled {
		st.State = StateDisabled
		st.Message = fmt.Sprintf("the canary schedule is %s", sched.State)
		return st, nil
	}

	last, err := lastDelivered(ctx, store, sched)
	if err != nil {
		return Status{}, fmt.Errorf("canary: %w", err)
	}
	st.LastDelivered = last
	from := sched.UpdatedAt
	if last.After(from) {
		from = last
	}
	spec, err := scheduler.ParseSpec(sched)
	if err != nil {
		return Status{}, fmt.Errorf("canary: parse schedule %s: %w", sched.ID, err)
	}
	fires := spec.Fires(from, 2)
	if len(fires) < 2 {
		st.State = StateOverdue
		st.Message = "the canary schedule has no fires left; delete it and run Ensure"
		return st, nil
	}
	st.Deadline = fires[1].Add(c.slack()).UTC()

	if now.After(st.Deadline) {
		st.State = StateOverdue
		st.Message = fmt.Sprintf("no canary fire delivered since %s; schedules have stopped firing",
			describe(last))
		return st, nil
	}
	st.State = StateOK
	st.Message = fmt.Sprintf("latest canary fire delivered: %s", describe(last))
	return st, nil
}

// lastDelivered returns the fire instant of the latest delivered run of
// sched, or zero.
func lastDelivered(ctx context.Context, store Store, sched *schedule.Schedule) (time.Time, error) {
	if sched.LastRun == nil {
		return time.Time{}, nil
	}
	if sched.LastRun.Outcome == schedule.OutcomeDelivered {
		return sched.LastRun.FireAt, nil
	}
	runs, err := store.ListRuns(ctx, sched.ID, recentRuns)
	if err != nil {
		return time.Time{}, fmt.Errorf("list runs of %s: %w", sched.ID, err)
	}
	for _, r := range runs {
		if r.Outcome == schedule.OutcomeDelivered {
			return r.FireAt, nil
		}
	}
	return time.Time{}, nil
}

func describe(t time.Time) string {
	if t.IsZero() {
		return "none yet"
	}
	return t.UTC().Format(time.RFC3339)
}
