package scheduler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mqcron/mqcron/schedule"
	"github.com/mqcron/mqcron/timing"
)

// Replace stores in as the next version of schedule id of owner. A zero
// expectedVersion skips the version check. The new version's job is
// confirmed by the broker before Replace returns. When the broker fails,
// the previous version is restored with its UpdatedAt and keeps its job.
// A job of the failed version that the broker stored without confirming
// it carries a stamp that no later version has, so the dispatcher drops it.
func (s *Service) Replace(ctx context.Context, owner, id string, expectedVersion int64, in *schedule.Schedule) (*schedule.Schedule, error) {
	cur, err := s.current(ctx, owner, id, expectedVersion)
	if err != nil {
		return nil, err
	}
	next := *in
	if next.State == "" {
		next.State = schedule.StateEnabled
	}
	return s.commit(ctx, cur, &next)
}

// Patch applies a JSON merge patch (RFC 7386) to the user fields of
// schedule id and stores the result like Replace.
func (s *Service) Patch(ctx context.Context, owner, id string, expectedVersion int64, patch []byte) (*schedule.Schedule, error) {
	cur, err := s.current(ctx, owner, id, expectedVersion)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(patch)) == 0 {
		return nil, schedule.Invalid("", "the body is empty; send a JSON merge patch object such as {\"description\":\"...\"}")
	}
	doc, err := json.Marshal(userFields(cur))
	if err != nil {
		return nil, err
	}
	merged, err := MergePatch(doc, patch)
	if err != nil {
		cause := err
		if inner := errors.Unwrap(err); inner != nil {
			cause = inner
		}
		return nil, schedule.Invalid("", "the body is not a JSON merge patch object: %v", cause)
	}
	var next schedule.Schedule
	if err := DecodeStrict(merged, &next); err != nil {
		return nil, err
	}

	// A patch that changes nothing keeps the version, so other clients'
	// ETags stay valid. Both sides go through MergePatch, which writes
	// object members in one order.
	if unchanged, err := MergePatch(doc, []byte("{}")); err == nil && bytes.Equal(unchanged, merged) {
		return s.withNextFires(cur), nil
	}
	return s.commit(ctx, cur, &next)
}

// SetState pauses (DISABLED) or resumes (ENABLED) schedule id with an
// optional note.
func (s *Service) SetState(ctx context.Context, owner, id string, expectedVersion int64, state schedule.State, note string) (*schedule.Schedule, error) {
	cur, err := s.current(ctx, owner, id, expectedVersion)
	if err != nil {
		return nil, err
	}
	if len(note) > schedule.MaxDescriptionLength {
		return nil, schedule.Invalid("/note", "is %d bytes long; the maximum is %d", len(note), schedule.MaxDescriptionLength)
	}
	// Pausing a paused schedule, or resuming a running one, with the same
	// note changes nothing and keeps the version, as a no-op patch does.
	if cur.State == state && cur.StateNote == note {
		return s.withNextFires(cur), nil
	}
	next := userFields(cur)
	next.State = state
	next.StateNote = note
	return s.commit(ctx, cur, next)
}

// Trigger sends one fire of schedule id now, outside its expression.
func (s *Service) Trigger(ctx context.Context, owner, id string) (time.Time, error) {
	cur, err := s.c.Store.GetSchedule(ctx, owner, id)
	if err != nil {
		return time.Time{}, err
	}
	now := s.c.Now().UTC().Truncate(time.Millisecond)
	job := &schedule.Job{
		Body: schedule.JobBody{
			Kind:       schedule.JobSingle,
			ScheduleID: cur.ID,
			Version:    cur.Version,
			Stamp:      cur.UpdatedAt.UnixMilli(),
			FireAt:     &now,
			Attempt:    1,
			Trigger:    true,
		},
		TTL: s.c.MaxEventAge,
	}
	return now, s.c.Broker.ScheduleJob(ctx, job)
}

// Runs returns the latest runs of schedule id of owner, newest first.
func (s *Service) Runs(ctx context.Context, owner, id string, limit int) ([]*schedule.Run, error) {
	if _, err := s.c.Store.GetSchedule(ctx, owner, id); err != nil {
		return nil, err
	}
	return s.c.Store.ListRuns(ctx, id, limit)
}

// Preview returns the next count fires of an expression after the instant
// after, without storing anything.
func Preview(expression string, o timing.Options, after time.Time, count int) ([]time.Time, error) {
	if count < 1 || count > 100 {
		return nil, schedule.Invalid("/count", "is %d; give 1 to 100", count)
	}
	if o.Anchor.IsZero() {
		o.Anchor = after
	}
	spec, err := timing.Parse(expression, o)
	if err != nil {
		return nil, err
	}
	return spec.Fires(after, count), nil
}

// current returns the stored schedule, checking expectedVersion when it
// is not zero.
func (s *Service) current(ctx context.Context, owner, id string, expectedVersion int64) (*schedule.Schedule, error) {
	cur, err := s.c.Store.GetSchedule(ctx, owner, id)
	if err != nil {
		return nil, err
	}
	if expectedVersion != 0 && cur.Version != expectedVersion {
		return nil, fmt.Errorf("%w: schedule %s is at version %d, not %d",
			schedule.ErrVersionMismatch, id, cur.Version, expectedVersion)
	}
	return cur, nil
}

// commit stores next as the version after cur and sends its job.
func (s *Service) commit(ctx context.Context, cur, next *schedule.Schedule) (*schedule.Schedule, error) {
	now := s.c.Now().UTC().Truncate(time.Millisecond)
	next.ID, next.Owner = cur.ID, cur.Owner
	next.Version = cur.Version + 1
	next.CreatedAt, next.UpdatedAt = cur.CreatedAt, now
	next.NextFires, next.LastRun, next.RunCount = nil, cur.LastRun, cur.RunCount
	if next.ScheduleExpressionTimezone == "" {
		next.ScheduleExpressionTimezone = "UTC"
	}
	var spec *timing.Spec
	var err error
	if next.State == schedule.StateEnabled {
		spec, err = s.validate(next, now)
	} else {
		err = schedule.Validate(next, s.c.ReservedTopicPrefixes)
		if err == nil {
			_, err = parseSpec(next)
		}
	}
	if err != nil {
		return nil, err
	}
	if err := s.c.Store.ReplaceSchedule(ctx, next, cur.Version); err != nil {
		return nil, err
	}

	// The new version fences off the old job: its wake-ups carry the old
	// version, and the dispatcher drops them and removes the job.
	if next.State == schedule.StateEnabled {
		if err := s.sendJob(ctx, next, spec, now); err != nil {
			if rerr := s.c.Store.ReplaceSchedule(ctx, cur, next.Version); rerr != nil {
				s.c.Logger.Error("restore schedule after failed job send", "scheduleId", cur.ID, "error", rerr)
			}
			return nil, err
		}
	}
	return s.withNextFires(next), nil
}

// userFields returns a copy of sched without the fields that the server
// maintains.
func userFields(sched *schedule.Schedule) *schedule.Schedule {
	return &schedule.Schedule{
		Name:                       sched.Name,
		Description:                sched.Description,
		Target:                     sched.Target,
		ScheduleExpression:         sched.ScheduleExpression,
		ScheduleExpressionTimezone: sched.ScheduleExpressionTimezone,
		StartDate:                  sched.StartDate,
		EndDate:                    sched.EndDate,
		RetryPolicy:                sched.RetryPolicy,
		State:                      sched.State,
		StateNote:                  sched.StateNote,
	}
}
