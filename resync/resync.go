// Package resync makes the broker's jobs match DynamoDB again, after a
// broker was replaced or its scheduler store was lost or wiped: it removes
// jobs that no current schedule version needs and adds the missing jobs of
// enabled schedules. A broker whose jobs are right is left untouched, so a
// second run changes nothing.
package resync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/mqcron/mqcron/activemq"
	"github.com/mqcron/mqcron/schedule"
	"github.com/mqcron/mqcron/scheduler"
)

// Broker lists and removes the jobs of the dispatch queue;
// *activemq.Broker implements it.
type Broker interface {
	Browse(ctx context.Context) ([]activemq.BrowsedJob, error)
	RemoveJob(ctx context.Context, jobID string) error
}

// Store returns every stored schedule; *dynamo.Store implements it.
type Store interface {
	ScanSchedules(ctx context.Context, fn func(*schedule.Schedule) error) error
}

// JobSender sends the broker job of a schedule's stored version;
// *scheduler.Service implements it.
type JobSender interface {
	EnsureJob(ctx context.Context, sched *schedule.Schedule) error
}

// Config configures Run.
type Config struct {
	Broker Broker
	Store  Store
	Jobs   JobSender
	// DryRun reports what Run would change and changes nothing.
	DryRun bool
	// Progress receives one line per change and per 1,000 schedules read;
	// nil discards them.
	Progress io.Writer
	Logger   *slog.Logger
}

// Summary counts what Run did with the jobs, or would do in a dry run.
type Summary struct {
	// Jobs and Schedules are the numbers read from the broker and the store.
	Jobs, Schedules int
	// Kept counts jobs left in place, Removed the jobs removed, Added the
	// jobs sent for enabled schedules that had none, and Failed the
	// removals and sends that failed.
	Kept, Removed, Added, Failed int
	// Skipped counts enabled schedules without a job and without a fire
	// left, which need no job.
	Skipped int
}

// String formats s as one line for the command's output.
func (s Summary) String() string {
	return fmt.Sprintf("broker jobs %d, schedules %d: kept %d, removed %d, added %d, failed %d, skipped %d",
		s.Jobs, s.Schedules, s.Kept, s.Removed, s.Added, s.Failed, s.Skipped)
}

// Run compares the broker's jobs with the stored schedules and repairs
// the difference. A recurring job is kept when its body matches the
// stored version and stamp of an enabled schedule. Only the first such
// job of a schedule is kept. A single-fire job (a retry, a deferred
// wake-up or a trigger) is kept when it matches its schedule's stored
// version. Every other job is removed. Each enabled schedule without a
// kept recurring job gets one through Jobs.
//
// Run browses the broker before it reads the store, so that a schedule
// created meanwhile is never stripped of its new job; such a schedule may
// get a second job, which the next run removes. Run returns an error when
// the broker or the store cannot be read; failed removals and sends are
// counted in Summary.Failed, and Run then returns an error as well.
func Run(ctx context.Context, c Config) (Summary, error) {
	progress := c.Progress
	if progress == nil {
		progress = io.Discard
	}
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	var sum Summary

	jobs, err := c.Broker.Browse(ctx)
	if err != nil {
		return sum, fmt.Errorf("resync: browse broker jobs: %w", err)
	}
	sum.Jobs = len(jobs)
	fmt.Fprintf(progress, "read %d broker jobs\n", len(jobs))

	schedules := map[string]*schedule.Schedule{}
	err = c.Store.ScanSchedules(ctx, func(s *schedule.Schedule) error {
		schedules[s.ID] = s
		if n := len(schedules); n%1000 == 0 {
			fmt.Fprintf(progress, "read %d schedules\n", n)
		}
		return nil
	})
	if err != nil {
		return sum, fmt.Errorf("resync: read schedules: %w", err)
	}
	sum.Schedules = len(schedules)
	fmt.Fprintf(progress, "read %d schedules\n", len(schedules))

	p := &plan{schedules: schedules, hasJob: map[string]bool{}}
	for _, j := range jobs {
		reason := p.classify(j)
		if reason == "" {
			sum.Kept++
			continue
		}
		r := &runner{ctx: ctx, c: c, progress: progress, log: log, sum: &sum}
		r.remove(j, reason)
	}

	r := &runner{ctx: ctx, c: c, progress: progress, log: log, sum: &sum}
	for _, s := range sortedEnabled(schedules) {
		if !p.hasJob[s.ID] {
			r.add(s)
		}
	}

	if sum.Failed > 0 {
		return sum, fmt.Errorf("resync: %d of the changes failed; run it again", sum.Failed)
	}
	return sum, nil
}

// plan decides which jobs stay.
type plan struct {
	schedules map[string]*schedule.Schedule
	// hasJob marks the schedules whose recurring job is kept.
	hasJob map[string]bool
}

// classify returns why job j must be removed, or "" to keep it.
func (p *plan) classify(j activemq.BrowsedJob) string {
	body, err := schedule.DecodeJobBody(j.Body)
	if err != nil {
		return "undecodable body"
	}
	s := p.schedules[body.ScheduleID]
	switch {
	case s == nil:
		return "schedule " + body.ScheduleID + " not found"
	case body.Version != s.Version:
		return fmt.Sprintf("schedule %s is at version %d, the job is for version %d",
			s.ID, s.Version, body.Version)
	case !body.Matches(s):
		return fmt.Sprintf("the job is for an earlier content of schedule %s version %d (stamp %d, stored %d)",
			s.ID, s.Version, body.Stamp, s.UpdatedAt.UnixMilli())
	case body.Kind == schedule.JobSingle:
		return ""
	case s.State != schedule.StateEnabled:
		return fmt.Sprintf("schedule %s is %s", s.ID, s.State)
	case p.hasJob[s.ID]:
		return "second recurring job of schedule " + s.ID
	}
	p.hasJob[s.ID] = true
	return ""
}

// runner applies the changes and counts them.
type runner struct {
	ctx      context.Context
	c        Config
	progress io.Writer
	log      *slog.Logger
	sum      *Summary
}

func (r *runner) remove(j activemq.BrowsedJob, reason string) {
	if r.c.DryRun {
		fmt.Fprintf(r.progress, "would remove job %s: %s\n", j.ID, reason)
		r.sum.Removed++
		return
	}
	if err := r.c.Broker.RemoveJob(r.ctx, j.ID); err != nil {
		fmt.Fprintf(r.progress, "failed to remove job %s: %v\n", j.ID, err)
		r.log.Error("remove broker job", "scheduledJobId", j.ID, "reason", reason, "error", err)
		r.sum.Failed++
		return
	}
	fmt.Fprintf(r.progress, "removed job %s: %s\n", j.ID, reason)
	r.sum.Removed++
}

func (r *runner) add(s *schedule.Schedule) {
	if r.c.DryRun {
		fmt.Fprintf(r.progress, "would add a job for schedule %s version %d\n", s.ID, s.Version)
		r.sum.Added++
		return
	}
	err := r.c.Jobs.EnsureJob(r.ctx, s)
	switch {
	case errors.Is(err, scheduler.ErrNoFireLeft):
		fmt.Fprintf(r.progress, "skipped schedule %s: no fire left\n", s.ID)
		r.sum.Skipped++
	case err != nil:
		fmt.Fprintf(r.progress, "failed to add a job for schedule %s: %v\n", s.ID, err)
		r.log.Error("add broker job", "scheduleId", s.ID, "version", s.Version, "error", err)
		r.sum.Failed++
	default:
		fmt.Fprintf(r.progress, "added a job for schedule %s version %d\n", s.ID, s.Version)
		r.sum.Added++
	}
}
