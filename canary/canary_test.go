package canary_test

import (
	"context"
	"testing"
	"time"

	"github.com/mqcron/mqcron/activemq"
	"github.com/mqcron/mqcron/apitest"
	"github.com/mqcron/mqcron/canary"
	"github.com/mqcron/mqcron/dispatch"
	"github.com/mqcron/mqcron/dynamo"
	"github.com/mqcron/mqcron/localstack"
	"github.com/mqcron/mqcron/mqttpub"
	"github.com/mqcron/mqcron/schedule"
	"github.com/mqcron/mqcron/scheduler"
)

func TestCanary_EnsureAndCheck(t *testing.T) {
	stompAddr, dynamoURL, mqttAddr := apitest.Servers(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	table, queue := apitest.RandomName("canary-"), apitest.RandomName("canary.dispatch.")
	if err := localstack.EnsureTable(ctx, dynamoURL, table); err != nil {
		t.Fatalf("create table: %v", err)
	}
	store := dynamo.New(localstack.NewDynamoDBClient(dynamoURL), table)
	broker := activemq.New(activemq.Config{Addr: stompAddr, Queue: queue})
	defer broker.Close()
	defer func() {
		// The canary would keep firing every second into a queue that no
		// consumer reads once the test ends, so its jobs are removed.
		jobs, err := broker.Browse(context.Background())
		if err != nil {
			t.Errorf("browse jobs for cleanup: %v", err)
		}
		for _, j := range jobs {
			_ = broker.RemoveJob(context.Background(), j.ID)
		}
	}()
	svc := scheduler.New(scheduler.Config{Store: store, Broker: broker})
	c := canary.Canary{Expression: "rate(1 second)", Topic: apitest.RandomName("canary/") + "/health", Slack: 500 * time.Millisecond}

	// Before Ensure the canary is missing.
	st, err := c.Check(ctx, store, time.Now())
	if err != nil {
		t.Fatalf("check before ensure: %v", err)
	}
	if st.State != canary.StateMissing {
		t.Errorf("state before ensure = %s, want %s", st.State, canary.StateMissing)
	}

	// Ensure creates one schedule, also when called twice.
	for range 2 {
		if err := c.Ensure(ctx, svc); err != nil {
			t.Fatalf("ensure: %v", err)
		}
	}
	items, _, err := store.ListSchedules(ctx, canary.Owner, schedule.ListFilter{})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(items) != 1 || items[0].Name != canary.Name {
		t.Fatalf("schedules of %s = %d, want one named %s", canary.Owner, len(items), canary.Name)
	}
	if got := items[0].Target.Topics; len(got) != 1 || got[0] != c.Topic {
		t.Errorf("canary topics = %v, want [%s]", got, c.Topic)
	}

	// A new canary is healthy until its first fires are overdue.
	st, err = c.Check(ctx, store, time.Now())
	if err != nil {
		t.Fatalf("check new canary: %v", err)
	}
	if !st.Healthy() {
		t.Errorf("new canary state = %s (%s), want OK", st.State, st.Message)
	}

	// With a dispatcher running, fires arrive and the canary stays healthy.
	publisher, err := mqttpub.Connect(ctx, mqttpub.Config{Addr: mqttAddr, ClientID: apitest.RandomName("canary-pub-")})
	if err != nil {
		t.Fatalf("connect publisher: %v", err)
	}
	defer publisher.Close()
	d := dispatch.New(dispatch.Config{Store: store, Broker: broker, Publisher: publisher})
	sourceCtx, stopSource := context.WithCancel(ctx)
	done := make(chan struct{})
	source := activemq.NewSource(activemq.SourceConfig{
		Config: activemq.Config{Addr: stompAddr, Queue: queue},
		Window: 100 * time.Millisecond,
	})
	go func() { defer close(done); _ = source.Run(sourceCtx, d.Handle) }()
	defer func() { stopSource(); <-done }()

	time.Sleep(3500 * time.Millisecond)
	st, err = c.Check(ctx, store, time.Now())
	if err != nil {
		t.Fatalf("check running canary: %v", err)
	}
	if !st.Healthy() || st.LastDelivered.IsZero() {
		t.Errorf("running canary = %+v, want OK with a delivered fire", st)
	}
	if age := time.Since(st.LastDelivered); age > 2*time.Second {
		t.Errorf("latest delivered fire is %s old, want at most 2 s", age)
	}

	// When the fires stop, the canary turns overdue after two intervals
	// plus the slack.
	stopSource()
	<-done
	time.Sleep(3 * time.Second)
	st, err = c.Check(ctx, store, time.Now())
	if err != nil {
		t.Fatalf("check stopped canary: %v", err)
	}
	if st.State != canary.StateOverdue {
		t.Errorf("canary after the dispatcher stopped = %+v, want %s", st, canary.StateOverdue)
	}
	if want := st.LastDelivered.Add(2*time.Second + c.Slack); !st.Deadline.Equal(want) {
		t.Errorf("deadline = %s, want %s (two intervals plus slack after the latest delivered fire)",
			st.Deadline, want)
	}

	// A disabled canary is reported, and Ensure enables it again.
	cur := items[0]
	if _, err := svc.SetState(ctx, canary.Owner, cur.ID, cur.Version, schedule.StateDisabled, "test"); err != nil {
		t.Fatalf("disable: %v", err)
	}
	if st, _ := c.Check(ctx, store, time.Now()); st.State != canary.StateDisabled {
		t.Errorf("disabled canary state = %s, want %s", st.State, canary.StateDisabled)
	}
	if err := c.Ensure(ctx, svc); err != nil {
		t.Fatalf("ensure disabled canary: %v", err)
	}
	again, err := store.GetSchedule(ctx, canary.Owner, cur.ID)
	if err != nil {
		t.Fatalf("get canary: %v", err)
	}
	if again.State != schedule.StateEnabled {
		t.Errorf("canary state after ensure = %s, want ENABLED", again.State)
	}
}
