package dispatch

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/mqcron/mqcron/schedule"
)

// deliver publishes one fire to the target topics and records the run.
func (d *Dispatcher) deliver(ctx context.Context, log *slog.Logger, sched *schedule.Schedule, w wakeup, run *schedule.Run, sem chan struct{}) {
	now := d.c.Now()
	if age, maxAge := now.Sub(run.FireAt), d.maxEventAge(sched); age > maxAge {
		run.Outcome = schedule.OutcomeExpired
		run.Error = fmt.Sprintf("fire is %s old; the maximum event age is %s", age.Round(time.Second), maxAge)
		d.record(ctx, log, run, MetricExpired)
		return
	}
	claimed, err := d.c.Store.ClaimFire(ctx, run, d.c.ClaimLease)
	if err != nil {
		// Without a claim the fire might be delivered twice; leave it for
		// a retry, which claims again.
		log.Error("claim fire", "error", err)
		d.retry(ctx, log, sched, w, run, allTopics(sched, w), err)
		return
	}
	if !claimed {
		d.c.Metrics.Add(MetricDuplicate, 1)
		log.Info("skip fire claimed before")
		return
	}

	failed, lastErr := d.publishAll(ctx, log, sched, w, run, sem)
	d.c.Metrics.Observe(MetricFireDelay, d.c.Now().Sub(run.FireAt))
	switch {
	case len(failed) == 0:
		run.Outcome = schedule.OutcomeDelivered
		d.record(ctx, log, run, MetricDelivered)
		if sched.Owner == schedule.SystemOwner {
			d.c.Metrics.Add(MetricCanaryDelivered, 1)
		}
	case errors.Is(lastErr, schedule.ErrRetryable):
		d.retry(ctx, log, sched, w, run, failed, lastErr)
	default:
		run.Outcome = schedule.OutcomeDeadLettered
		run.Error = describeFailure(sched, failed, lastErr)
		d.record(ctx, log, run, MetricDeadLettered)
	}
}

// publishAll publishes the fire to each topic that w selects and returns
// the indexes of the topics that failed, with the last error. A
// non-retryable error takes precedence, because retrying cannot fix it.
func (d *Dispatcher) publishAll(ctx context.Context, log *slog.Logger, sched *schedule.Schedule, w wakeup, run *schedule.Run, sem chan struct{}) ([]int, error) {
	payload, err := renderPayload(sched, run)
	if err != nil {
		return allTopics(sched, w), err
	}
	var (
		mu      sync.Mutex
		failed  []int
		lastErr error
		wg      sync.WaitGroup
	)
	for _, i := range allTopics(sched, w) {
		if i < 0 || i >= len(sched.Target.Topics) {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			m := &schedule.Message{
				Topic:          sched.Target.Topics[i],
				QoS:            sched.Target.QoS,
				Retain:         sched.Target.Retain,
				Payload:        payload,
				ContentType:    sched.Target.ContentType,
				UserProperties: sched.Target.UserProperties,
			}
			start := d.c.Now()
			err := d.c.Publisher.Publish(ctx, m)
			d.c.Metrics.Observe(MetricPublishLatency, d.c.Now().Sub(start))
			if err != nil {
				log.Warn("publish failed", "topic", m.Topic, "error", err)
				mu.Lock()
				failed = append(failed, i)
				if lastErr == nil || errors.Is(lastErr, schedule.ErrRetryable) {
					lastErr = err
				}
				mu.Unlock()
				return
			}
			log.Debug("published", "topic", m.Topic)
		}()
	}
	wg.Wait()
	return failed, lastErr
}

// renderPayload returns the bytes to publish for run.
func renderPayload(sched *schedule.Schedule, run *schedule.Run) ([]byte, error) {
	if sched.Target.PayloadBase64 != "" {
		return base64.StdEncoding.DecodeString(sched.Target.PayloadBase64)
	}
	filled := schedule.FillTemplate(string(sched.Target.Payload), schedule.FireContext{
		ScheduleID: sched.ID,
		FireAt:     run.FireAt,
		FireID:     run.FireID,
		Attempt:    run.Attempt,
	})
	if len(filled) > schedule.MaxPayloadBytes {
		return nil, fmt.Errorf("filled payload is %d bytes; IoT Core allows at most %d", len(filled), schedule.MaxPayloadBytes)
	}
	return []byte(filled), nil
}

// allTopics returns the topic indexes that w still has to publish to.
func allTopics(sched *schedule.Schedule, w wakeup) []int {
	if len(w.body.Topics) > 0 {
		return w.body.Topics
	}
	idx := make([]int, len(sched.Target.Topics))
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// retry sends the failed topics of run back to the broker as a single
// fire with a delay, or dead-letters the run when its attempts or its
// maximum event age are used up.
func (d *Dispatcher) retry(ctx context.Context, log *slog.Logger, sched *schedule.Schedule, w wakeup, run *schedule.Run, failed []int, cause error) {
	delay := d.backoff(run.Attempt)
	due := d.c.Now().Add(delay)
	if run.Attempt >= d.maxAttempts(sched) || due.Sub(run.FireAt) > d.maxEventAge(sched) {
		run.Outcome = schedule.OutcomeDeadLettered
		run.Error = fmt.Sprintf("gave up after %d attempts: %s", run.Attempt, describeFailure(sched, failed, cause))
		d.record(ctx, log, run, MetricDeadLettered)
		return
	}
	fireAt := run.FireAt
	job := &schedule.Job{
		Body: schedule.JobBody{
			Kind:       schedule.JobSingle,
			ScheduleID: sched.ID,
			Version:    sched.Version,
			Stamp:      sched.UpdatedAt.UnixMilli(),
			FireAt:     &fireAt,
			Attempt:    run.Attempt + 1,
			Trigger:    w.body.Trigger,
			Topics:     failed,
		},
		Delay: delay,
		TTL:   d.maxEventAge(sched),
	}
	if err := d.c.Broker.ScheduleJob(ctx, job); err != nil {
		// NOTE: the claim stays in place until its lease expires. A
		// redelivery of the original wake-up after that publishes to every
		// topic again, including those that succeeded.
		log.Error("schedule retry", "error", err)
		d.c.Metrics.Add(MetricDeadLettered, 1)
		return
	}
	run.Outcome = schedule.OutcomeRetrying
	run.Error = describeFailure(sched, failed, cause)
	d.record(ctx, log, run, MetricRetried)
}

func describeFailure(sched *schedule.Schedule, failed []int, cause error) string {
	topics := make([]string, 0, len(failed))
	for _, i := range failed {
		if i >= 0 && i < len(sched.Target.Topics) {
			topics = append(topics, sched.Target.Topics[i])
		}
	}
	return fmt.Sprintf("%d of %d topics failed (%s): %v", len(failed), len(sched.Target.Topics), strings.Join(topics, ", "), cause)
}

// record stores the outcome of run and counts it.
func (d *Dispatcher) record(ctx context.Context, log *slog.Logger, run *schedule.Run, metric string) {
	run.RecordedAt = d.c.Now().UTC()
	if run.Outcome == schedule.OutcomeExpired {
		// An expired copy of a fire that another copy delivered or is
		// delivering must not overwrite that run.
		claimed, err := d.c.Store.ClaimFire(ctx, run, d.c.ClaimLease)
		if err != nil {
			log.Error("claim expired fire", "error", err)
		} else if !claimed {
			d.c.Metrics.Add(MetricDuplicate, 1)
			log.Info("skip expired fire claimed before")
			return
		}
	}
	d.c.Metrics.Add(metric, 1)
	if err := d.c.Store.FinishRun(ctx, run); err != nil {
		log.Error("record run", "outcome", run.Outcome, "error", err)
		return
	}
	level := slog.LevelInfo
	if run.Outcome != schedule.OutcomeDelivered {
		level = slog.LevelWarn
	}
	log.Log(ctx, level, "fire "+strings.ToLower(string(run.Outcome)), "outcome", run.Outcome, "fireAt", run.FireAt, "error", run.Error)
}
