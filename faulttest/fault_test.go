package faulttest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/go-stomp/stomp/v3"

	"github.com/mqcron/mqcron/dispatch"
	"github.com/mqcron/mqcron/localstack"
	"github.com/mqcron/mqcron/schedule"
)

func TestBroker_KillAndRestart(t *testing.T) {
	f := MustFixture(t, maxEventAge)
	d := f.startDispatcher(t)
	sched := f.createRate(t, "broker-kill", "rate(1 second)")

	time.Sleep(4 * time.Second)
	f.stopPart(t, localstack.ActiveMQ, true)
	killed := time.Now()
	time.Sleep(2 * time.Second)
	f.startPart(t, localstack.ActiveMQ)
	t.Logf("broker down for %s", time.Since(killed).Round(100*time.Millisecond))

	// The job survived in the scheduler store and keeps firing.
	restarted := time.Now()
	time.Sleep(6 * time.Second)
	until := time.Now()
	got := f.MustVerify(t, sched, until, 60*time.Second)

	counts, _ := f.sub.snapshot()
	after := 0
	for id := range counts {
		if at, ok := fireInstant(sched.ID, id); ok && at.After(restarted.Add(time.Second)) {
			after++
		}
	}
	if after < 3 {
		t.Errorf("%d fires delivered more than 1 s after the restart, want at least 3", after)
	}
	if got.Delivered == 0 {
		t.Error("no fire delivered")
	}
	t.Logf("missed fires caught up: %d", d.Metrics().Counter(dispatch.MetricMissed))
}

// crashingPublisher publishes through pub and, after its first successful
// publish, cancels the batch's context, as a dispatcher process that dies
// right after the publish: nothing else of the batch runs.
type crashingPublisher struct {
	pub schedule.Publisher

	mu      sync.Mutex
	cancel  context.CancelFunc
	crashed bool
	fireIDs []string
}

func (p *crashingPublisher) Publish(ctx context.Context, m *schedule.Message) error {
	err := p.pub.Publish(ctx, m)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil && !p.crashed {
		p.crashed = true
		p.fireIDs = append(p.fireIDs, string(m.Payload))
		p.cancel()
	}
	return err
}

func (p *crashingPublisher) isCrashed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.crashed
}

func TestDispatcher_CrashBetweenPublishAndAck(t *testing.T) {
	f := MustFixture(t, maxEventAge)
	crashing := &crashingPublisher{pub: f.MustPublisher(t)}
	first := f.newDispatcher(crashing)

	// The first source stops consuming at the crash and never acknowledges
	// the batch, so the broker delivers the wake-up again to the next
	// consumer.
	stopped := make(chan struct{})
	var stopFirst func()
	var once sync.Once
	stopFirst = f.startSource(t, func(ctx context.Context, ev events.ActiveMQEvent) error {
		if crashing.isCrashed() {
			return context.Canceled
		}
		batchCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		crashing.mu.Lock()
		crashing.cancel = cancel
		crashing.mu.Unlock()
		err := crashAfter(first, crashing.isCrashed)(batchCtx, ev)
		if crashing.isCrashed() {
			once.Do(func() { close(stopped) })
		}
		return err
	})
	sched := f.createRate(t, "crash", "rate(1 second)")

	select {
	case <-stopped:
	case <-time.After(15 * time.Second):
		t.Fatal("no publish within 15 s")
	}
	stopFirst()
	t.Logf("dispatcher crashed after publishing %s", crashing.fireIDs)

	second := f.startDispatcher(t)
	time.Sleep(5 * time.Second)
	got := f.MustVerify(t, sched, time.Now(), 30*time.Second)
	if got.Delivered == 0 {
		t.Error("no fire delivered")
	}
	if n := second.Metrics().Counter(dispatch.MetricDuplicate); n < 1 {
		t.Errorf("restarted dispatcher skipped %d claimed fires, want at least the redelivered one", n)
	}
}

func TestDynamoDB_StopAndRestart(t *testing.T) {
	// A maximum event age shorter than the outage expires the first fires
	// of the outage and delivers the later ones late.
	f := MustFixture(t, 20*time.Second)
	d := f.startDispatcher(t)
	sched := f.createRate(t, "dynamo-down", "rate(1 second)")

	time.Sleep(3 * time.Second)
	f.stopPart(t, localstack.Dynalite, false)
	time.Sleep(30 * time.Second)
	f.startPart(t, localstack.Dynalite)
	time.Sleep(5 * time.Second)

	got := f.MustVerify(t, sched, time.Now(), 60*time.Second)
	if got.Delivered == 0 {
		t.Error("no fire delivered")
	}
	if n := d.Metrics().Counter(dispatch.MetricDeferred); n < 1 {
		t.Errorf("deferred %d wake-ups while DynamoDB was down, want at least 1", n)
	}
}

func TestMQTT_StopAndRestart(t *testing.T) {
	f := MustFixture(t, maxEventAge)
	d := f.startDispatcher(t)
	sched := f.createRate(t, "mqtt-down", "rate(1 second)")

	time.Sleep(3 * time.Second)
	f.stopPart(t, localstack.Mosquitto, false)
	time.Sleep(30 * time.Second)
	f.startPart(t, localstack.Mosquitto)
	time.Sleep(6 * time.Second)

	got := f.MustVerify(t, sched, time.Now(), 60*time.Second)
	if got.Delivered == 0 {
		t.Error("no fire delivered")
	}
	if n := d.Metrics().Counter(dispatch.MetricRetried); n < 1 {
		t.Errorf("retried %d fires while the MQTT broker was down, want at least 1", n)
	}
}

func TestQueue_PoisonMessages(t *testing.T) {
	f := MustFixture(t, maxEventAge)
	conn, err := stomp.Dial("tcp", f.ep.STOMPAddr,
		stomp.ConnOpt.Host("localhost"),
		stomp.ConnOpt.RcvReceiptTimeout(10*time.Second))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Disconnect()

	// Messages that the dispatcher cannot decode, one of 2 MB, wait on the
	// queue before the dispatcher starts.
	poison := map[string][]byte{
		"not JSON":     []byte("{not json"),
		"unknown kind": []byte(`{"kind":"other","scheduleId":"x","version":1}`),
		"no schedule":  []byte(`{"kind":"schedule","version":1}`),
		"2 MB":         []byte(`{"kind":"schedule","scheduleId":"` + strings.Repeat("x", 2<<20) + `","version":1}`),
	}
	for name, body := range poison {
		err := conn.Send("/queue/"+f.queue, "application/json", body,
			stomp.SendOpt.Receipt, stomp.SendOpt.Header("persistent", "true"))
		if err != nil {
			t.Fatalf("send %s message: %v", name, err)
		}
	}

	d := f.startDispatcher(t)
	sched := f.createRate(t, "after-poison", "rate(1 second)")
	time.Sleep(5 * time.Second)

	got := f.MustVerify(t, sched, time.Now(), 30*time.Second)
	if got.Delivered < 3 {
		t.Errorf("delivered %d fires after the poison messages, want at least 3", got.Delivered)
	}
	if n := d.Metrics().Counter(dispatch.MetricUndecodable); n != int64(len(poison)) {
		t.Errorf("undecodable = %d, want %d", n, len(poison))
	}
}

func TestDispatcher_DuplicateWakeups(t *testing.T) {
	f := MustFixture(t, maxEventAge)
	d := f.newDispatcher(f.MustPublisher(t))

	// The event source hands every batch to the dispatcher twice at once.
	var batches int64
	var mu sync.Mutex
	f.startSource(t, func(ctx context.Context, ev events.ActiveMQEvent) error {
		mu.Lock()
		batches++
		mu.Unlock()
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = d.Handle(ctx, ev)
			}()
		}
		wg.Wait()
		if errs[0] != nil {
			return errs[0]
		}
		return errs[1]
	})
	sched := f.createRate(t, "duplicate", "rate(2 seconds)")

	// The broker also delivers two extra copies of one future fire.
	spec := mustSpec(t, sched)
	fires := spec.Fires(time.Now().Add(2*time.Second), 1)
	for range 2 {
		at := fires[0]
		job := &schedule.Job{
			Body: schedule.JobBody{
				Kind: schedule.JobSingle, ScheduleID: sched.ID, Version: sched.Version,
				Stamp: sched.UpdatedAt.UnixMilli(), FireAt: &at, Attempt: 1,
			},
			Delay: time.Until(at),
			TTL:   maxEventAge,
		}
		if err := f.broker.ScheduleJob(context.Background(), job); err != nil {
			t.Fatalf("send extra copy: %v", err)
		}
	}
	time.Sleep(8 * time.Second)

	got := f.MustVerify(t, sched, time.Now(), 30*time.Second)
	if got.Delivered < 3 {
		t.Errorf("delivered %d fires, want at least 3", got.Delivered)
	}
	if n := d.Metrics().Counter(dispatch.MetricDuplicate); n < int64(got.Delivered)+2 {
		t.Errorf("duplicates skipped = %d, want at least %d (one per fire plus two extra copies)",
			n, got.Delivered+2)
	}
}

func TestDispatcher_DownFiresExpireOrDeliverLate(t *testing.T) {
	// Fires wait on the queue for 15 s while no dispatcher runs. Those
	// older than the 8 s maximum event age expire, and the others are
	// delivered late.
	f := MustFixture(t, 8*time.Second)
	sched := f.createRate(t, "dispatcher-down", "rate(1 second)")
	time.Sleep(15 * time.Second)
	f.startDispatcher(t)
	time.Sleep(4 * time.Second)

	got := f.MustVerify(t, sched, time.Now(), 30*time.Second)
	if got.Expired < 5 {
		t.Errorf("expired %d fires, want at least the 5 that waited longer than 8 s", got.Expired)
	}
	if got.Delivered < 4 {
		t.Errorf("delivered %d fires, want at least 4", got.Delivered)
	}
}
