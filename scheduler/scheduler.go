// Package scheduler holds the schedule use cases behind the REST API:
// create, read, list, change and delete schedules, keeping DynamoDB and the
// broker's jobs consistent.
package scheduler

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/mqcron/mqcron/schedule"
	"github.com/mqcron/mqcron/timing"
)

// Store is the schedule store with the extra queries the API needs.
type Store interface {
	schedule.Store
	// CountSchedules returns how many schedules owner has.
	CountSchedules(ctx context.Context, owner string) (int, error)
	// PutIdempotency records that key of owner, sent with a body whose
	// hash is fingerprint, created scheduleID and returns "". It returns
	// the id recorded earlier under the same key, or schedule.ErrKeyReused
	// when the earlier body had another fingerprint.
	PutIdempotency(ctx context.Context, owner, key, scheduleID, fingerprint string, ttl time.Duration) (string, error)
	// DeleteIdempotency removes the record of key if it still names
	// scheduleID.
	DeleteIdempotency(ctx context.Context, owner, key, scheduleID string) error
}

// Config configures a Service.
type Config struct {
	Store  Store
	Broker schedule.Broker
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// MaxSchedulesPerOwner limits how many schedules one owner may have;
	// 0 means no limit.
	MaxSchedulesPerOwner int
	// MaxEventAge is how long a fire may wait for the dispatcher before it
	// expires; it is also the time to live of every broker message.
	MaxEventAge time.Duration
	// MaxRepeat is the broker's maxSchedulerRepeatAllowed.
	MaxRepeat int
	// ReservedTopicPrefixes lists '$' topic prefixes that may be targets.
	ReservedTopicPrefixes []string
	Logger                *slog.Logger
}

// Default settings.
const (
	DefaultMaxEventAge = 24 * time.Hour
	DefaultMaxRepeat   = 1_000_000_000
	NextFiresShown     = 5
	idempotencyTTL     = 24 * time.Hour
)

// Service implements the schedule use cases.
type Service struct {
	c Config
}

// New returns a Service for c, with defaults filled in.
func New(c Config) *Service {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaxEventAge <= 0 {
		c.MaxEventAge = DefaultMaxEventAge
	}
	if c.MaxRepeat <= 0 {
		c.MaxRepeat = DefaultMaxRepeat
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return &Service{c: c}
}

// Create validates in, stores it as version 1 of a new schedule of owner
// and, when it is enabled, stores its broker job. When the broker does not
// confirm the job, the schedule is removed again and the error wraps
// schedule.ErrUnavailable. A non-empty idempotencyKey makes a repeated
// call return the schedule that the first call created.
func (s *Service) Create(ctx context.Context, owner, idempotencyKey string, in *schedule.Schedule) (*schedule.Schedule, error) {
	now := s.c.Now().UTC().Truncate(time.Millisecond)
	sched := *in
	sched.Owner = owner
	sched.Version = 1
	sched.CreatedAt, sched.UpdatedAt = now, now
	sched.NextFires, sched.LastRun, sched.RunCount = nil, nil, 0
	if sched.State == "" {
		sched.State = schedule.StateEnabled
	}
	if sched.ScheduleExpressionTimezone == "" {
		sched.ScheduleExpressionTimezone = "UTC"
	}
	spec, err := s.validate(&sched, now)
	if err != nil {
		return nil, err
	}

	// Reserve the id under the idempotency key before anything is stored,
	// so that a retried request finds the first request's schedule.
	sched.ID = newID()
	if idempotencyKey != "" {
		earlier, err := s.c.Store.PutIdempotency(ctx, owner, idempotencyKey, sched.ID, fingerprint(in), idempotencyTTL)
		if err != nil {
			return nil, err
		}
		if earlier != "" {
			existing, err := s.c.Store.GetSchedule(ctx, owner, earlier)
			if errors.Is(err, schedule.ErrNotFound) {
				return nil, fmt.Errorf("%w: the schedule created with this Idempotency-Key is still being created or was deleted; retry in a few seconds or send a new key",
					schedule.ErrKeyReused)
			}
			if err != nil {
				return nil, err
			}
			return s.withNextFires(existing), nil
		}
	}
	created, err := s.insert(ctx, &sched, spec, now)
	if err != nil && idempotencyKey != "" {
		// The key is released, so that the client can retry with it.
		if derr := s.c.Store.DeleteIdempotency(ctx, owner, idempotencyKey, sched.ID); derr != nil {
			s.c.Logger.Error("release idempotency key after failed create", "scheduleId", sched.ID, "error", derr)
		}
	}
	return created, err
}

// insert writes a new, validated schedule and sends its job.
func (s *Service) insert(ctx context.Context, sched *schedule.Schedule, spec *timing.Spec, now time.Time) (*schedule.Schedule, error) {
	if err := s.checkQuota(ctx, sched.Owner); err != nil {
		return nil, err
	}
	if err := s.c.Store.CreateSchedule(ctx, sched); err != nil {
		return nil, err
	}

	// The job is stored after the schedule, so a job always has a schedule
	// to check against. A failed SEND removes the schedule again. A job
	// that the broker stored but never confirmed is fenced off by the
	// dispatcher, which finds no schedule for it.
	if sched.State == schedule.StateEnabled {
		if err := s.sendJob(ctx, sched, spec, now); err != nil {
			if derr := s.c.Store.DeleteSchedule(ctx, sched.Owner, sched.ID, sched.Version); derr != nil {
				s.c.Logger.Error("remove schedule after failed job send", "scheduleId", sched.ID, "error", derr)
			}
			return nil, err
		}
	}
	return s.withNextFires(sched), nil
}

// Get returns schedule id of owner with its next fires.
func (s *Service) Get(ctx context.Context, owner, id string) (*schedule.Schedule, error) {
	sched, err := s.c.Store.GetSchedule(ctx, owner, id)
	if err != nil {
		return nil, err
	}
	return s.withNextFires(sched), nil
}

// List returns one page of owner's schedules and the next page's cursor.
func (s *Service) List(ctx context.Context, owner string, f schedule.ListFilter) ([]*schedule.Schedule, string, error) {
	items, next, err := s.c.Store.ListSchedules(ctx, owner, f)
	if err != nil {
		return nil, "", err
	}
	for i, item := range items {
		items[i] = s.withNextFires(item)
	}
	return items, next, nil
}

// Delete removes schedule id of owner. Its broker job is removed by the
// dispatcher at its next wake-up, which finds no schedule.
func (s *Service) Delete(ctx context.Context, owner, id string, expectedVersion int64) error {
	if _, err := s.c.Store.GetSchedule(ctx, owner, id); err != nil {
		return err
	}
	return s.c.Store.DeleteSchedule(ctx, owner, id, expectedVersion)
}

// validate checks sched at instant now and returns its parsed expression.
func (s *Service) validate(sched *schedule.Schedule, now time.Time) (*timing.Spec, error) {
	var all schedule.ValidationError
	if err := schedule.Validate(sched, s.c.ReservedTopicPrefixes); err != nil {
		all.Fields = append(all.Fields, err.(*schedule.ValidationError).Fields...)
	}
	spec, err := parseSpec(sched)
	if err != nil {
		var verr *schedule.ValidationError
		if !errors.As(err, &verr) {
			return nil, err
		}
		all.Fields = append(all.Fields, verr.Fields...)
	} else if _, ok := spec.Next(now); !ok {
		all.Add("/scheduleExpression", "%q has no fire after %s; choose a later time or end date",
			sched.ScheduleExpression, now.Format(time.RFC3339))
	}
	if err := all.Err(); err != nil {
		return nil, err
	}
	return spec, nil
}

// parseSpec parses the expression of sched. Rate schedules count from
// the whole second in which the current version was written.
func parseSpec(sched *schedule.Schedule) (*timing.Spec, error) {
	return timing.Parse(sched.ScheduleExpression, timing.Options{
		Timezone: sched.ScheduleExpressionTimezone,
		Start:    sched.StartDate,
		End:      sched.EndDate,
		Anchor:   sched.UpdatedAt.Truncate(time.Second),
	})
}

// ParseSpec returns the parsed expression of a stored schedule, as the
// dispatcher evaluates it.
func ParseSpec(sched *schedule.Schedule) (*timing.Spec, error) {
	return parseSpec(sched)
}

func (s *Service) checkQuota(ctx context.Context, owner string) error {
	if s.c.MaxSchedulesPerOwner <= 0 {
		return nil
	}
	// NOTE: the count and the create are separate requests, so concurrent
	// creates of one owner can exceed the limit by the requests in flight.
	n, err := s.c.Store.CountSchedules(ctx, owner)
	if err != nil {
		return err
	}
	if n >= s.c.MaxSchedulesPerOwner {
		return fmt.Errorf("%w: the caller has %d schedules and the limit is %d per owner; delete a schedule before creating another",
			ErrQuotaExceeded, n, s.c.MaxSchedulesPerOwner)
	}
	return nil
}

// ErrQuotaExceeded is returned when an owner reached a configured limit.
var ErrQuotaExceeded = errors.New("quota exceeded")

// sendJob stores the broker job of the current version of sched.
func (s *Service) sendJob(ctx context.Context, sched *schedule.Schedule, spec *timing.Spec, now time.Time) error {
	form, err := spec.Broker(now, s.c.MaxRepeat)
	if err != nil {
		return fmt.Errorf("compile %q: %w", sched.ScheduleExpression, err)
	}
	job := &schedule.Job{
		Body: schedule.JobBody{
			Kind:       schedule.JobRecurring,
			ScheduleID: sched.ID,
			Version:    sched.Version,
			Stamp:      sched.UpdatedAt.UnixMilli(),
		},
		Cron:   form.Cron,
		Delay:  form.Delay,
		Period: form.Period,
		Repeat: form.Repeat,
		TTL:    s.c.MaxEventAge,
	}
	if p := sched.RetryPolicy; p != nil && p.MaximumEventAgeInSeconds > 0 {
		job.TTL = time.Duration(p.MaximumEventAgeInSeconds) * time.Second
	}
	return s.c.Broker.ScheduleJob(ctx, job)
}

// withNextFires fills the read-only NextFires field of sched.
func (s *Service) withNextFires(sched *schedule.Schedule) *schedule.Schedule {
	sched.NextFires = nil
	if sched.State != schedule.StateEnabled {
		return sched
	}
	spec, err := parseSpec(sched)
	if err != nil {
		s.c.Logger.Error("parse stored schedule", "scheduleId", sched.ID, "error", err)
		return sched
	}
	sched.NextFires = spec.Fires(s.c.Now(), NextFiresShown)
	return sched
}

// fingerprint returns a hash of the fields a client sets, which separates a
// retried create from another request that reuses its key.
func fingerprint(in *schedule.Schedule) string {
	doc, err := json.Marshal(userFields(in))
	if err != nil {
		panic(err) // Schedule fields are plain JSON values.
	}
	sum := sha256.Sum256(doc)
	return hex.EncodeToString(sum[:])
}

// newID returns a random URL-safe schedule id of 16 lower-case characters.
func newID() string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms.
	}
	return strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
}
