package resync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mqcron/mqcron/activemq"
	"github.com/mqcron/mqcron/apitest"
	"github.com/mqcron/mqcron/dynamo"
	"github.com/mqcron/mqcron/localstack"
	"github.com/mqcron/mqcron/resync"
	"github.com/mqcron/mqcron/schedule"
	"github.com/mqcron/mqcron/scheduler"
)

type env struct {
	store  *dynamo.Store
	broker *activemq.Broker
	svc    *scheduler.Service
}

// MustEnv wires a private table and dispatch queue on the shared servers.
// No dispatcher consumes the queue, so the jobs stay as the test leaves
// them.
func MustEnv(tb testing.TB) *env {
	tb.Helper()
	stompAddr, dynamoURL, _ := apitest.Servers(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	table := apitest.RandomName("resync-")
	if err := localstack.EnsureTable(ctx, dynamoURL, table); err != nil {
		tb.Fatalf("create table: %v", err)
	}
	e := &env{
		store:  dynamo.New(localstack.NewDynamoDBClient(dynamoURL), table),
		broker: activemq.New(activemq.Config{Addr: stompAddr, Queue: apitest.RandomName("resync.dispatch.")}),
	}
	tb.Cleanup(func() { e.broker.Close() })
	e.svc = scheduler.New(scheduler.Config{Store: e.store, Broker: e.broker})
	tb.Cleanup(func() {
		// Jobs left on the shared broker would fire every hour into a
		// queue that no consumer reads, so they are removed.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		jobs, _ := e.broker.Browse(ctx)
		for _, j := range jobs {
			_ = e.broker.RemoveJob(ctx, j.ID)
		}
	})
	return e
}

func (e *env) create(tb testing.TB, name string, state schedule.State) *schedule.Schedule {
	tb.Helper()
	s, err := e.svc.Create(context.Background(), "resync", "", &schedule.Schedule{
		Name:               name,
		ScheduleExpression: "rate(1 hour)",
		State:              state,
		Target:             schedule.Target{Topics: []string{"resync/" + name}, Payload: json.RawMessage(`"x"`)},
	})
	if err != nil {
		tb.Fatalf("create %s: %v", name, err)
	}
	return s
}

// jobsBySchedule browses the broker and groups the job ids by the
// schedule id in their body.
func (e *env) jobsBySchedule(tb testing.TB) map[string][]string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	jobs, err := e.broker.Browse(ctx)
	if err != nil {
		tb.Fatalf("browse: %v", err)
	}
	out := map[string][]string{}
	for _, j := range jobs {
		var b schedule.JobBody
		_ = json.Unmarshal(j.Body, &b)
		out[b.ScheduleID] = append(out[b.ScheduleID], j.ID)
	}
	return out
}

func (e *env) run(tb testing.TB, dryRun bool) (resync.Summary, string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var progress bytes.Buffer
	sum, err := resync.Run(ctx, resync.Config{
		Broker: e.broker, Store: e.store, Jobs: e.svc, DryRun: dryRun, Progress: &progress,
	})
	if err != nil {
		tb.Fatalf("resync (dry run %t): %v\n%s", dryRun, err, progress.String())
	}
	return sum, progress.String()
}

func TestRun_RepairsAndIsIdempotent(t *testing.T) {
	e := MustEnv(t)
	a := e.create(t, "a", schedule.StateEnabled)
	b := e.create(t, "b", schedule.StateEnabled)
	e.create(t, "c", schedule.StateDisabled)
	ctx := context.Background()

	// Break the broker's jobs: b loses its job, a gets a second one, and
	// jobs for an old version of a and for a deleted schedule appear.
	before := e.jobsBySchedule(t)
	if len(before[b.ID]) != 1 {
		t.Fatalf("schedule b has %d jobs after create, want 1", len(before[b.ID]))
	}
	if err := e.broker.RemoveJob(ctx, before[b.ID][0]); err != nil {
		t.Fatalf("remove b's job: %v", err)
	}
	if err := e.svc.EnsureJob(ctx, a); err != nil {
		t.Fatalf("second job for a: %v", err)
	}
	for _, body := range []schedule.JobBody{
		{Kind: schedule.JobRecurring, ScheduleID: a.ID, Version: 7},
		{Kind: schedule.JobRecurring, ScheduleID: "deleted", Version: 1},
	} {
		job := &schedule.Job{Body: body, Delay: time.Hour, Period: time.Hour, Repeat: 10, TTL: time.Hour}
		if err := e.broker.ScheduleJob(ctx, job); err != nil {
			t.Fatalf("send stale job: %v", err)
		}
	}
	broken := e.jobsBySchedule(t)

	// A dry run reports the repair and changes nothing.
	sum, out := e.run(t, true)
	want := resync.Summary{Jobs: 4, Schedules: 3, Kept: 1, Removed: 3, Added: 1}
	if sum != want {
		t.Errorf("dry run summary = %+v, want %+v\n%s", sum, want, out)
	}
	if !strings.Contains(out, "would add a job for schedule "+b.ID) {
		t.Errorf("dry run output does not name schedule b:\n%s", out)
	}
	if got := e.jobsBySchedule(t); len(got[a.ID]) != len(broken[a.ID]) || len(got[b.ID]) != 0 {
		t.Errorf("dry run changed the jobs: %v, was %v", got, broken)
	}

	// The repair leaves one job per enabled schedule.
	sum, out = e.run(t, false)
	if sum != want {
		t.Errorf("summary = %+v, want %+v\n%s", sum, want, out)
	}
	after := e.jobsBySchedule(t)
	if len(after) != 2 || len(after[a.ID]) != 1 || len(after[b.ID]) != 1 {
		t.Errorf("jobs after resync = %v, want one for %s and one for %s", after, a.ID, b.ID)
	}

	// A second run keeps everything.
	sum, out = e.run(t, false)
	want = resync.Summary{Jobs: 2, Schedules: 3, Kept: 2}
	if sum != want {
		t.Errorf("second run summary = %+v, want %+v\n%s", sum, want, out)
	}
	if again := e.jobsBySchedule(t); len(again[a.ID]) != 1 || again[a.ID][0] != after[a.ID][0] ||
		len(again[b.ID]) != 1 || again[b.ID][0] != after[b.ID][0] {
		t.Errorf("second run changed the jobs: %v, was %v", again, after)
	}
}
