// Package dispatch turns the broker's wake-ups into deliveries. It checks
// each wake-up against the stored schedule and keeps only real fires. It
// publishes each fire once to every target topic, retries what failed, and
// removes broker jobs that no schedule needs any more.
package dispatch

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mqcron/mqcron/metrics"
	"github.com/mqcron/mqcron/schedule"
	"github.com/mqcron/mqcron/scheduler"
)

// JobSender sends the broker job of a schedule's stored version;
// scheduler.Service implements it.
type JobSender interface {
	EnsureJob(ctx context.Context, sched *schedule.Schedule) error
}

// Config configures a Dispatcher.
type Config struct {
	Store     schedule.Store
	Broker    schedule.Broker
	Publisher schedule.Publisher
	// Jobs replaces the job of a rate schedule whose wake-ups have drifted
	// late; nil turns the replacement off.
	Jobs JobSender
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Concurrency bounds the publishes in flight for one batch.
	Concurrency int
	// MaxAttempts bounds the publish attempts of one fire.
	MaxAttempts int
	// MaxEventAge is how long after its instant a fire may still be
	// delivered; older fires are recorded as expired.
	MaxEventAge time.Duration
	// RetryBase and RetryMax bound the exponential backoff between
	// attempts; each delay is drawn from [base*2^(n-1)/2, base*2^(n-1)].
	RetryBase, RetryMax time.Duration
	// ClaimLease is how long a claimed fire stays reserved for the
	// dispatcher that claimed it; after that another may redo it.
	ClaimLease time.Duration
	// MaxCatchUp bounds the missed fires that one wake-up delivers or
	// expires, after the broker skipped fires while it was down.
	MaxCatchUp int
	Metrics    *metrics.Registry
	Logger     *slog.Logger
}

// Defaults of Config. With a 1 s base doubling up to 5 minutes, 185
// attempts take longer than the 24 h maximum event age, so the age is the
// limit that usually ends the retries, as with EventBridge Scheduler.
const (
	DefaultConcurrency = 64
	DefaultMaxAttempts = 185
	DefaultMaxEventAge = 24 * time.Hour
	DefaultRetryBase   = time.Second
	DefaultRetryMax    = 5 * time.Minute
	DefaultClaimLease  = 2 * time.Minute
	DefaultMaxCatchUp  = 100
)

// Metric names, as the dispatcher writes them to CloudWatch in namespace
// "mqcron" and as GET /metrics shows them in local mode.
const (
	MetricDelivered      = "Delivered"
	MetricDroppedDeleted = "DroppedDeleted"
	MetricDroppedVersion = "DroppedOldVersion"
	MetricDroppedState   = "DroppedNotEnabled"
	MetricDroppedNotDue  = "DroppedNotDue"
	MetricDuplicate      = "Duplicate"
	MetricExpired        = "Expired"
	MetricRetried        = "Retried"
	MetricDeadLettered   = "DeadLettered"
	MetricUndecodable    = "Undecodable"
	MetricJobsRemoved    = "JobsRemoved"
	MetricCompleted      = "Completed"
	MetricDeferred       = "Deferred"
	MetricJobsRenewed    = "JobsRenewed"
	// MetricCanaryDelivered counts delivered fires of mqcron's own
	// schedules; the stack alarms when the canary's count stops.
	MetricCanaryDelivered = "CanaryDelivered"
	MetricMissed          = "Missed"
	MetricPublishLatency  = "PublishLatency"
	MetricFireDelay       = "FireDelay"
)

// Dispatcher handles batches of wake-ups.
type Dispatcher struct {
	c Config
}

// New returns a Dispatcher for c, with defaults filled in.
func New(c Config) *Dispatcher {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.MaxEventAge <= 0 {
		c.MaxEventAge = DefaultMaxEventAge
	}
	if c.RetryBase <= 0 {
		c.RetryBase = DefaultRetryBase
	}
	if c.RetryMax <= 0 {
		c.RetryMax = DefaultRetryMax
	}
	if c.ClaimLease <= 0 {
		c.ClaimLease = DefaultClaimLease
	}
	if c.MaxCatchUp <= 0 {
		c.MaxCatchUp = DefaultMaxCatchUp
	}
	if c.Metrics == nil {
		c.Metrics = &metrics.Registry{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return &Dispatcher{c: c}
}

// Metrics returns the dispatcher's metric registry.
func (d *Dispatcher) Metrics() *metrics.Registry { return d.c.Metrics }

// maxScheduleIDBytes is the longest schedule id a wake-up may name.
// The API creates 16-character ids; DynamoDB allows partition keys of up
// to 2048 bytes.
const maxScheduleIDBytes = 64

// wakeup is one decoded message of a batch.
type wakeup struct {
	body  *schedule.JobBody
	jobID string
	wake  time.Time
}

// Handle processes one batch. It returns an error only when the batch can
// neither be checked nor sent back to the broker, so that the event source
// delivers it again. Per-fire failures are retried or recorded instead,
// because failing the batch would publish its delivered fires twice.
func (d *Dispatcher) Handle(ctx context.Context, ev events.ActiveMQEvent) error {
	wakeups := make([]wakeup, 0, len(ev.Messages))
	ids := make([]string, 0, len(ev.Messages))
	for _, m := range ev.Messages {
		w, err := decode(m)
		if err != nil {
			// A message that cannot be decoded names no schedule to record
			// a run for. It is logged and acknowledged, so it cannot block
			// the queue.
			d.c.Metrics.Add(MetricUndecodable, 1)
			d.c.Metrics.Add(MetricDeadLettered, 1)
			d.c.Logger.Error("dead-letter undecodable message", "messageId", m.MessageID,
				"scheduledJobId", m.Properties["scheduledJobId"], "error", err)
			d.removeJob(ctx, m.Properties["scheduledJobId"], "undecodable")
			continue
		}
		wakeups = append(wakeups, w)
		ids = append(ids, w.body.ScheduleID)
	}
	if len(wakeups) == 0 {
		return nil
	}
	schedules, err := d.c.Store.GetSchedules(ctx, ids)
	if err != nil {
		// Failing the batch would make the broker redeliver it a few times
		// and then move it to its dead-letter queue, so the wake-ups go back
		// to the broker with a delay instead. Only when that fails too is
		// the batch failed.
		d.c.Logger.Error("read schedules; deferring the batch", "count", len(ids), "error", err)
		if derr := d.deferAll(ctx, wakeups); derr != nil {
			return fmt.Errorf("read %d schedules: %w; defer: %w", len(ids), err, derr)
		}
		return nil
	}

	sem := make(chan struct{}, d.c.Concurrency)
	var wg sync.WaitGroup
	for _, w := range wakeups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.process(ctx, w, schedules[w.body.ScheduleID], sem)
		}()
	}
	wg.Wait()
	return nil
}

// decode reads the job body, job id and wake-up instant of m.
func decode(m events.ActiveMQMessage) (wakeup, error) {
	data, err := base64.StdEncoding.DecodeString(m.Data)
	if err != nil {
		return wakeup{}, fmt.Errorf("decode base64 data: %w", err)
	}
	body, err := schedule.DecodeJobBody(data)
	if err != nil {
		return wakeup{}, err
	}
	// A key this long makes DynamoDB reject the batched read of the whole
	// batch, so such a message would keep its batch from being checked.
	if n := len(body.ScheduleID); n > maxScheduleIDBytes {
		return wakeup{}, fmt.Errorf("schedule id is %d bytes long; ids have at most %d", n, maxScheduleIDBytes)
	}
	if m.Timestamp <= 0 {
		return wakeup{}, fmt.Errorf("message has no timestamp")
	}
	return wakeup{body: body, jobID: m.Properties["scheduledJobId"], wake: time.UnixMilli(m.Timestamp)}, nil
}

// process handles one wake-up whose schedule is sched (nil when deleted).
func (d *Dispatcher) process(ctx context.Context, w wakeup, sched *schedule.Schedule, sem chan struct{}) {
	log := d.c.Logger.With("scheduleId", w.body.ScheduleID, "version", w.body.Version, "scheduledJobId", w.jobID)
	recurring := w.body.Kind == schedule.JobRecurring
	switch {
	case sched == nil:
		d.drop(ctx, log, w, MetricDroppedDeleted, recurring)
		return
	case !w.body.Matches(sched) && !w.body.Trigger:
		// A trigger fires the schedule as it is now, even when it changed
		// after the trigger request.
		d.drop(ctx, log, w, MetricDroppedVersion, recurring)
		return
	case sched.State != schedule.StateEnabled && !w.body.Trigger:
		d.drop(ctx, log, w, MetricDroppedState, recurring)
		return
	}

	spec, err := scheduler.ParseSpec(sched)
	if err != nil {
		log.Error("parse stored schedule", "error", err)
		d.c.Metrics.Add(MetricDeadLettered, 1)
		return
	}
	fireAt := w.wake
	if w.body.FireAt != nil {
		fireAt = *w.body.FireAt
	}
	checksExpression := recurring || w.body.Deferred
	if w.body.FireAt == nil || w.body.Deferred {
		at, ok := spec.Match(fireAt)
		if !ok {
			d.c.Metrics.Add(MetricDroppedNotDue, 1)
			log.Debug("drop wake-up that is not a fire", "wake", fireAt)
			if _, more := spec.Next(fireAt); !more {
				d.complete(ctx, log, sched, w.jobID)
			}
			return
		}
		fireAt = at
	}

	if recurring && w.body.FireAt == nil {
		d.renewIfDrifted(ctx, log, sched, spec.Period(), w, fireAt)
	}

	attempt := max(w.body.Attempt, 1)
	run := &schedule.Run{
		FireID:     schedule.FireID(sched.ID, fireAt),
		ScheduleID: sched.ID,
		Version:    sched.Version,
		FireAt:     fireAt,
		Attempt:    attempt,
		Topics:     len(sched.Target.Topics),
	}
	if checksExpression && !w.body.Trigger {
		d.catchUp(ctx, log, sched, spec, w, fireAt, sem)
	}
	log = log.With("fireId", run.FireID, "attempt", attempt)
	d.deliver(ctx, log, sched, w, run, sem)

	if checksExpression && !w.body.Trigger {
		if _, more := spec.Next(fireAt); !more {
			d.complete(ctx, log, sched, w.jobID)
		}
	}
}

// drop counts a stale wake-up and removes its job when it is recurring.
func (d *Dispatcher) drop(ctx context.Context, log *slog.Logger, w wakeup, metric string, removeJob bool) {
	d.c.Metrics.Add(metric, 1)
	log.Info("drop stale wake-up", "reason", metric)
	if removeJob {
		d.removeJob(ctx, w.jobID, metric)
	}
}

func (d *Dispatcher) removeJob(ctx context.Context, jobID, reason string) {
	if jobID == "" {
		return
	}
	if err := d.c.Broker.RemoveJob(ctx, jobID); err != nil {
		// The job wakes up again later and gets another removal attempt.
		d.c.Logger.Warn("remove broker job", "scheduledJobId", jobID, "reason", reason, "error", err)
		return
	}
	d.c.Metrics.Add(MetricJobsRemoved, 1)
}

// complete marks sched COMPLETED after its last fire and removes its job.
func (d *Dispatcher) complete(ctx context.Context, log *slog.Logger, sched *schedule.Schedule, jobID string) {
	done := *sched
	done.State = schedule.StateCompleted
	done.Version = sched.Version + 1
	done.UpdatedAt = d.c.Now().UTC().Truncate(time.Millisecond)
	if err := d.c.Store.ReplaceSchedule(ctx, &done, sched.Version); err != nil {
		log.Warn("mark schedule completed", "error", err)
		return
	}
	d.c.Metrics.Add(MetricCompleted, 1)
	log.Info("schedule completed")
	d.removeJob(ctx, jobID, "completed")
}

// maxEventAge returns the maximum event age of sched's fires.
func (d *Dispatcher) maxEventAge(sched *schedule.Schedule) time.Duration {
	if p := sched.RetryPolicy; p != nil && p.MaximumEventAgeInSeconds > 0 {
		return time.Duration(p.MaximumEventAgeInSeconds) * time.Second
	}
	return d.c.MaxEventAge
}

// maxAttempts returns how many publish attempts one fire of sched gets.
func (d *Dispatcher) maxAttempts(sched *schedule.Schedule) int {
	if p := sched.RetryPolicy; p != nil && p.MaximumRetryAttempts != nil {
		return *p.MaximumRetryAttempts + 1
	}
	return d.c.MaxAttempts
}

// renewIfDrifted replaces the job of a rate schedule whose wake-up came
// more than an eighth of the period (and more than 1 s) after its fire.
// ActiveMQ computes each repeat of a period job from the previous one and
// adds about 1 ms each time, so without a new job the wake-ups would
// eventually fall outside what Match accepts. Both jobs may wake up for
// the next fire; the fire claim keeps that to one publish.
func (d *Dispatcher) renewIfDrifted(ctx context.Context, log *slog.Logger, sched *schedule.Schedule, period time.Duration, w wakeup, fireAt time.Time) {
	late := w.wake.Sub(fireAt)
	if d.c.Jobs == nil || period == 0 || w.jobID == "" || late <= period/8 || late <= time.Second {
		return
	}
	if err := d.c.Jobs.EnsureJob(ctx, sched); err != nil {
		log.Warn("renew drifted job", "late", late, "error", err)
		return
	}
	d.c.Metrics.Add(MetricJobsRenewed, 1)
	log.Info("renewed drifted job", "late", late)
	d.removeJob(ctx, w.jobID, "renewed")
}

// deferAll sends each wake-up back to the broker as a single fire with a
// delay, so that it is checked again when the store is back.
//
// The copy keeps its attempt number, because ClaimFire lets a higher
// attempt take over a live claim. Only a retry sent by the claim's holder
// may do that. A deferred copy with a raised attempt number would publish
// a fire that another copy is publishing.
func (d *Dispatcher) deferAll(ctx context.Context, wakeups []wakeup) error {
	for _, w := range wakeups {
		body := *w.body
		body.Kind = schedule.JobSingle
		if w.body.FireAt == nil {
			wake := w.wake
			body.FireAt = &wake
			body.Deferred = true
		}
		// A fire past its maximum event age is not sent back, so that no
		// message circulates for ever. Its run cannot be recorded while
		// the store is unavailable. When the schedule is recurring, its
		// next wake-up records the fire as expired through catchUp.
		if age := d.c.Now().Sub(*body.FireAt); age > d.c.MaxEventAge {
			d.c.Metrics.Add(MetricDeadLettered, 1)
			d.c.Logger.Error("drop deferred wake-up past the maximum event age", "scheduleId", body.ScheduleID,
				"fireAt", *body.FireAt, "age", age.Round(time.Second))
			continue
		}
		job := &schedule.Job{Body: body, Delay: d.deferDelay(*body.FireAt), TTL: d.c.MaxEventAge}
		if err := d.c.Broker.ScheduleJob(ctx, job); err != nil {
			return err
		}
		d.c.Metrics.Add(MetricDeferred, 1)
	}
	return nil
}

// deferDelay returns the delay before a deferred wake-up of the fire at
// fireAt is checked again: about the fire's age, within RetryBase and
// RetryMax and with jitter, so that the delays grow about exponentially
// while the store stays unavailable.
func (d *Dispatcher) deferDelay(fireAt time.Time) time.Duration {
	step := min(max(d.c.Now().Sub(fireAt), d.c.RetryBase), d.c.RetryMax)
	half := step / 2
	return half + rand.N(half+1)
}

// backoff returns the delay before attempt n+1, with full jitter over the
// upper half of the exponential step.
func (d *Dispatcher) backoff(n int) time.Duration {
	step := d.c.RetryMax
	if n < 30 {
		step = min(d.c.RetryBase<<(n-1), d.c.RetryMax)
	}
	half := step / 2
	return half + rand.N(half+1)
}
