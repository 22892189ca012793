// Package canary keeps a liveness canary: a schedule that mqcron owns,
// which fires every minute to a health topic. ActiveMQ's job scheduler can
// stop as a whole, and then nothing fails loudly: only a schedule whose
// fires stop arriving shows it. Check reports the canary as overdue when
// its latest delivered fire is older than two intervals plus a slack.
package canary

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mqcron/mqcron/schedule"
	"github.com/mqcron/mqcron/scheduler"
)

// Identity and defaults of the canary schedule.
const (
	Owner             = schedule.SystemOwner
	Name              = "canary"
	DefaultExpression = "rate(1 minute)"
	DefaultTopic      = "mqcron/health/canary"
	// DefaultSlack covers the broker's rounding, batching windows and
	// publish time on top of the two intervals Check allows.
	DefaultSlack = 30 * time.Second
)

// Canary configures the canary schedule. Zero fields take the defaults.
type Canary struct {
	// Expression is the schedule expression, DefaultExpression if empty.
	Expression string
	// Topic receives each fire, DefaultTopic if empty.
	Topic string
	// Slack is added to two intervals before Check reports the canary as
	// overdue, DefaultSlack if zero.
	Slack time.Duration
}

// Store reads the canary schedule and its runs; schedule.Store implements
// it.
type Store interface {
	ListSchedules(ctx context.Context, owner string, f schedule.ListFilter) ([]*schedule.Schedule, string, error)
	ListRuns(ctx context.Context, id string, limit int) ([]*schedule.Run, error)
}

// Ensure creates the default canary schedule if it is missing; see
// Canary.Ensure.
func Ensure(ctx context.Context, svc *scheduler.Service) error {
	return Canary{}.Ensure(ctx, svc)
}

// Check reports the state of the default canary; see Canary.Check.
func Check(ctx context.Context, store Store, now time.Time) (Status, error) {
	return Canary{}.Check(ctx, store, now)
}

// Ensure creates the canary schedule of owner Owner if it is missing, and
// enables it again when it is disabled or completed. It leaves an existing
// schedule's expression and topic as they are. Concurrent calls create one
// schedule, because the create carries a fixed idempotency key.
func (c Canary) Ensure(ctx context.Context, svc *scheduler.Service) error {
	existing, err := find(ctx, svc.List, Owner)
	if err != nil {
		return fmt.Errorf("canary: %w", err)
	}
	if existing != nil {
		if existing.State == schedule.StateEnabled {
			return nil
		}
		_, err := svc.SetState(ctx, Owner, existing.ID, existing.Version, schedule.StateEnabled,
			"enabled again by the liveness canary")
		if err != nil {
			return fmt.Errorf("canary: enable schedule %s: %w", existing.ID, err)
		}
		return nil
	}

	payload, err := json.Marshal(map[string]string{
		"canary": "{{" + schedule.PlaceholderFireTime + "}}",
		"fireId": "{{" + schedule.PlaceholderFireID + "}}",
	})
	if err != nil {
		return fmt.Errorf("canary: %w", err)
	}
	_, err = svc.Create(ctx, Owner, "mqcron-canary", &schedule.Schedule{
		Name:               Name,
		Description:        "Liveness canary of mqcron: an overdue fire means that schedules stopped firing.",
		ScheduleExpression: c.expression(),
		Target:             schedule.Target{Topics: []string{c.topic()}, QoS: 1, Payload: payload},
	})
	if err != nil && !errors.Is(err, schedule.ErrConflict) {
		return fmt.Errorf("canary: create schedule: %w", err)
	}
	return nil
}

func (c Canary) expression() string {
	if c.Expression == "" {
		return DefaultExpression
	}
	return c.Expression
}

func (c Canary) topic() string {
	if c.Topic == "" {
		return DefaultTopic
	}
	return c.Topic
}

func (c Canary) slack() time.Duration {
	if c.Slack <= 0 {
		return DefaultSlack
	}
	return c.Slack
}

type listFunc func(ctx context.Context, owner string, f schedule.ListFilter) ([]*schedule.Schedule, string, error)

// find returns owner's schedule named Name, or nil.
func find(ctx context.Context, list listFunc, owner string) (*schedule.Schedule, error) {
	items, _, err := list(ctx, owner, schedule.ListFilter{NamePrefix: Name, Limit: 100})
	if err != nil {
		return nil, fmt.Errorf("list schedules of %s: %w", owner, err)
	}
	for _, s := range items {
		if s.Name == Name {
			return s, nil
		}
	}
	return nil, nil
}
