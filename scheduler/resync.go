package scheduler

import (
	"context"
	"errors"
	"fmt"

	"github.com/mqcron/mqcron/schedule"
)

// ErrNoFireLeft is returned by EnsureJob for a schedule that has no fire
// after now, so that it needs no broker job.
var ErrNoFireLeft = errors.New("no fire left")

// EnsureJob sends the broker job of the stored version of sched, as Create
// and Replace do, and returns once the broker confirmed it. It does not
// check whether the broker already holds such a job. It returns
// ErrNoFireLeft, and sends nothing, when sched has no fire after now.
func (s *Service) EnsureJob(ctx context.Context, sched *schedule.Schedule) error {
	spec, err := parseSpec(sched)
	if err != nil {
		return fmt.Errorf("parse stored schedule %s: %w", sched.ID, err)
	}
	now := s.c.Now().UTC()
	if _, ok := spec.Next(now); !ok {
		return fmt.Errorf("schedule %s: %w", sched.ID, ErrNoFireLeft)
	}
	return s.sendJob(ctx, sched, spec, now)
}
