package activemq

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mqcron/mqcron/schedule"
)

// MustBrokerAddr returns the STOMP address of the test broker from
// MQCRON_TEST_STOMP. It skips the test when the variable is unset, unless
// MQCRON_REQUIRE_SERVERS=1 makes that a failure.
func MustBrokerAddr(tb testing.TB) string {
	tb.Helper()
	addr := os.Getenv("MQCRON_TEST_STOMP")
	if addr != "" {
		return addr
	}
	if os.Getenv("MQCRON_REQUIRE_SERVERS") == "1" {
		tb.Fatal("MQCRON_TEST_STOMP not set but MQCRON_REQUIRE_SERVERS=1")
	}
	tb.Skip("MQCRON_TEST_STOMP not set; run make test")
	return ""
}

// MustTestConfig returns a Config for a queue of the test's own, and
// removes the queue's jobs when the test ends.
func MustTestConfig(tb testing.TB, addr string) Config {
	tb.Helper()
	name := strings.NewReplacer("/", ".", " ", "_").Replace(tb.Name())
	c := Config{
		Addr:   addr,
		Queue:  "mqcron.test." + name + "." + randomHex(4),
		Logger: slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	tb.Cleanup(func() { removeAllJobs(tb, c) })
	return c
}

// removeAllJobs removes the jobs of c's queue.
func removeAllJobs(tb testing.TB, c Config) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c.Logger = slog.New(slog.DiscardHandler)
	b := New(c)
	defer b.Close()

	jobs, err := b.Browse(ctx)
	if err != nil {
		tb.Errorf("cleanup: browse: %v", err)
		return
	}
	// Latest jobs first: see the note on Browse.
	slices.Reverse(jobs)
	for _, j := range jobs {
		if err := b.RemoveJob(ctx, j.ID); err != nil {
			tb.Errorf("cleanup: %v", err)
		}
	}
}

// testWriter sends log lines to the test log.
type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func testJob(id string) *schedule.Job {
	return &schedule.Job{
		Body: schedule.JobBody{Kind: schedule.JobRecurring, ScheduleID: id, Version: 1},
		TTL:  time.Hour,
	}
}

// eventRecorder is a Source handler that forwards events to a channel and
// fails while fail returns true.
type eventRecorder struct {
	events chan events.ActiveMQEvent
	fail   func(call int) bool

	mu    sync.Mutex
	calls int
}

func newEventRecorder() *eventRecorder {
	return &eventRecorder{events: make(chan events.ActiveMQEvent, 100)}
}

func (r *eventRecorder) handle(_ context.Context, ev events.ActiveMQEvent) error {
	r.mu.Lock()
	r.calls++
	call := r.calls
	r.mu.Unlock()

	r.events <- ev
	if r.fail != nil && r.fail(call) {
		return errors.New("handler failure for the test")
	}
	return nil
}

func (r *eventRecorder) callCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

// next returns the next event or fails the test after timeout.
func (r *eventRecorder) next(tb testing.TB, timeout time.Duration) events.ActiveMQEvent {
	tb.Helper()
	select {
	case ev := <-r.events:
		return ev
	case <-time.After(timeout):
		tb.Fatalf("no event within %s", timeout)
		return events.ActiveMQEvent{}
	}
}

// expectNone fails the test if an event arrives within d.
func (r *eventRecorder) expectNone(tb testing.TB, d time.Duration) {
	tb.Helper()
	select {
	case ev := <-r.events:
		tb.Fatalf("unexpected event with %d messages, first timestamp %d",
			len(ev.Messages), ev.Messages[0].Timestamp)
	case <-time.After(d):
	}
}

// MustStartSource runs a Source for c until the test ends.
func MustStartSource(tb testing.TB, c SourceConfig, r *eventRecorder) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- NewSource(c).Run(ctx, r.handle) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("Source.Run: %v", err)
		}
	})
}

func TestBroker_ScheduleJobDelay(t *testing.T) {
	t.Parallel()
	c := MustTestConfig(t, MustBrokerAddr(t))
	r := newEventRecorder()
	MustStartSource(t, SourceConfig{Config: c, Window: 50 * time.Millisecond}, r)
	b := New(c)
	defer b.Close()

	j := testJob("delay")
	j.Delay = 2 * time.Second
	sentAt := time.Now()
	if err := b.ScheduleJob(context.Background(), j); err != nil {
		t.Fatalf("ScheduleJob: %v", err)
	}

	ev := r.next(t, 10*time.Second)
	if ev.EventSource != EventSource {
		t.Errorf("EventSource = %q, want %q", ev.EventSource, EventSource)
	}
	if len(ev.Messages) != 1 {
		t.Fatalf("got %d messages, want 1", len(ev.Messages))
	}
	m := ev.Messages[0]

	// The broker rounds delays to 500 ms steps.
	fireAt := sentAt.Add(j.Delay)
	got := time.UnixMilli(m.Timestamp)
	if d := got.Sub(fireAt); d < -600*time.Millisecond || d > 600*time.Millisecond {
		t.Errorf("timestamp %s is %s from the fire instant %s", got, d, fireAt)
	}
	if m.Properties[HeaderScheduledJobID] == "" {
		t.Errorf("no %s property in %v", HeaderScheduledJobID, m.Properties)
	}
	if m.MessageType != MessageTypeBytes {
		t.Errorf("MessageType = %q, want %q", m.MessageType, MessageTypeBytes)
	}
	if m.DeliveryMode != 2 {
		t.Errorf("DeliveryMode = %d, want 2 (persistent)", m.DeliveryMode)
	}
	if m.Destination.PhysicalName != c.Queue {
		t.Errorf("PhysicalName = %q, want %q", m.Destination.PhysicalName, c.Queue)
	}
	if m.Expiration <= m.Timestamp {
		t.Errorf("Expiration %d not after Timestamp %d", m.Expiration, m.Timestamp)
	}
	if m.Redelivered {
		t.Error("Redelivered = true on the first delivery")
	}
	data, err := DecodeData(m)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != string(j.EncodeBody()) {
		t.Errorf("data = %s, want %s", data, j.EncodeBody())
	}
}

func TestBroker_ScheduleJobCron(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits for the next minute")
	}
	c := MustTestConfig(t, MustBrokerAddr(t))
	r := newEventRecorder()
	MustStartSource(t, SourceConfig{Config: c, Window: 50 * time.Millisecond}, r)
	b := New(c)
	defer b.Close()

	j := testJob("cron")
	j.Cron = "* * * * *"
	sentAt := time.Now()
	if err := b.ScheduleJob(context.Background(), j); err != nil {
		t.Fatalf("ScheduleJob: %v", err)
	}

	ev := r.next(t, 65*time.Second)
	m := ev.Messages[0]
	got := time.UnixMilli(m.Timestamp)
	wantMinute := sentAt.Truncate(time.Minute).Add(time.Minute)
	if d := got.Sub(wantMinute); d < 0 || d > 100*time.Millisecond {
		t.Errorf("timestamp %s, want within 100 ms after %s", got.UTC(), wantMinute.UTC())
	}
	if m.Properties[HeaderScheduledJobID] == "" {
		t.Errorf("no %s property in %v", HeaderScheduledJobID, m.Properties)
	}
}

func TestBroker_RemoveJob(t *testing.T) {
	t.Parallel()
	c := MustTestConfig(t, MustBrokerAddr(t))
	r := newEventRecorder()
	MustStartSource(t, SourceConfig{Config: c, Window: 10 * time.Millisecond}, r)
	b := New(c)
	defer b.Close()
	ctx := context.Background()

	const period = time.Second
	j := testJob("period")
	j.Period = period
	j.Repeat = 100
	if err := b.ScheduleJob(ctx, j); err != nil {
		t.Fatalf("ScheduleJob: %v", err)
	}

	ev := r.next(t, 5*time.Second)
	id := ev.Messages[0].Properties[HeaderScheduledJobID]
	if err := b.RemoveJob(ctx, id); err != nil {
		t.Fatalf("RemoveJob: %v", err)
	}

	// A wake-up that fired while REMOVE was on its way may still arrive.
	time.Sleep(200 * time.Millisecond)
	for len(r.events) > 0 {
		<-r.events
	}
	r.expectNone(t, 2*period)

	jobs, err := b.Browse(ctx)
	if err != nil {
		t.Fatalf("Browse: %v", err)
	}
	if len(jobs) != 0 {
		t.Errorf("Browse after RemoveJob returned %d jobs, want 0", len(jobs))
	}

	// REMOVE of a job that no longer exists is confirmed too.
	if err := b.RemoveJob(ctx, id); err != nil {
		t.Errorf("second RemoveJob: %v", err)
	}
}

func TestBroker_Browse(t *testing.T) {
	t.Parallel()
	c := MustTestConfig(t, MustBrokerAddr(t))
	b := New(c)
	defer b.Close()
	ctx := context.Background()

	cron := testJob("browse-cron")
	cron.Cron = "0 3 * * *"
	periodic := testJob("browse-period")
	periodic.Delay = time.Hour
	periodic.Period = 2 * time.Hour
	periodic.Repeat = 5
	for _, j := range []*schedule.Job{cron, periodic} {
		if err := b.ScheduleJob(ctx, j); err != nil {
			t.Fatalf("ScheduleJob: %v", err)
		}
	}

	jobs, err := b.Browse(ctx)
	if err != nil {
		t.Fatalf("Browse: %v", err)
	}
	if len(jobs) != 2 {
		t.Fatalf("Browse returned %d jobs, want 2: %+v", len(jobs), jobs)
	}
	byBody := map[string]BrowsedJob{}
	for _, j := range jobs {
		byBody[string(j.Body)] = j
		if j.ID == "" || j.Destination != "/queue/"+c.Queue {
			t.Errorf("job %+v: want an id and destination /queue/%s", j, c.Queue)
		}
	}
	if got := byBody[string(cron.EncodeBody())]; got.Cron != "0 3 * * *" {
		t.Errorf("cron job = %+v, want cron 0 3 * * *", got)
	}
	got := byBody[string(periodic.EncodeBody())]
	if got.Delay != time.Hour || got.Period != 2*time.Hour || got.Repeat != 5 {
		t.Errorf("periodic job = %+v, want delay 1h, period 2h, repeat 5", got)
	}
}

func TestBroker_ScheduleJobInvalid(t *testing.T) {
	t.Parallel()
	c := MustTestConfig(t, MustBrokerAddr(t))
	b := New(c)
	defer b.Close()
	ctx := context.Background()

	j := testJob("invalid")
	j.Cron = "* * * * *"
	j.Delay = time.Second
	err := b.ScheduleJob(ctx, j)
	if err == nil {
		t.Fatal("ScheduleJob accepted cron combined with delay")
	}
	if errors.Is(err, schedule.ErrUnavailable) {
		t.Errorf("error %v wraps ErrUnavailable, want a validation error", err)
	}

	jobs, err := b.Browse(ctx)
	if err != nil {
		t.Fatalf("Browse: %v", err)
	}
	if len(jobs) != 0 {
		t.Errorf("broker stores %d jobs after a rejected request, want 0", len(jobs))
	}
}

func TestBroker_ScheduleJobBrokerRejects(t *testing.T) {
	t.Parallel()
	c := MustTestConfig(t, MustBrokerAddr(t))
	b := New(c)
	defer b.Close()
	ctx := context.Background()

	// ActiveMQ 5.17 cannot parse day of week 7 and closes the connection
	// without a RECEIPT or ERROR frame.
	badCron := testJob("bad-cron")
	badCron.Cron = "0 0 * * 7"
	start := time.Now()
	err := b.ScheduleJob(ctx, badCron)
	if !errors.Is(err, schedule.ErrUnavailable) {
		t.Errorf("bad cron: error = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("bad cron: took %s, want the closed connection noticed at once", d)
	}

	// A repeat above maxSchedulerRepeatAllowed gets an ERROR frame. The
	// local stack raises that limit from ActiveMQ's default of 1000 to
	// 1000000000, so the repeat exceeds both.
	tooMany := testJob("too-many")
	tooMany.Period = time.Hour
	tooMany.Repeat = 1_000_000_001
	err = b.ScheduleJob(ctx, tooMany)
	if !errors.Is(err, ErrRejected) {
		t.Errorf("repeat 1000000001: error = %v, want ErrRejected", err)
	}

	// The client reconnects for the next request.
	ok := testJob("after")
	ok.Delay = time.Hour
	if err := b.ScheduleJob(ctx, ok); err != nil {
		t.Fatalf("ScheduleJob after failures: %v", err)
	}
	jobs, err := b.Browse(ctx)
	if err != nil {
		t.Fatalf("Browse: %v", err)
	}
	if len(jobs) != 1 || string(jobs[0].Body) != string(ok.EncodeBody()) {
		t.Errorf("Browse = %+v, want only the last job", jobs)
	}
}

func TestBroker_ScheduleJobReconnects(t *testing.T) {
	t.Parallel()
	addr := MustBrokerAddr(t)
	p := MustStartProxy(t, addr)
	c := MustTestConfig(t, addr)
	c.Addr = p.addr()
	c.PoolSize = 1
	b := New(c)
	defer b.Close()
	ctx := context.Background()

	j := testJob("reconnect")
	j.Delay = time.Hour
	if err := b.ScheduleJob(ctx, j); err != nil {
		t.Fatalf("first ScheduleJob: %v", err)
	}

	// The broker side of the cached connection goes away while the client
	// is idle, as when a Lambda sandbox is frozen.
	p.cutAll()
	time.Sleep(aliveCheckAfter + 100*time.Millisecond)

	if err := b.ScheduleJob(ctx, j); err != nil {
		t.Fatalf("ScheduleJob on a closed cached connection: %v", err)
	}
	if n := p.connections(); n != 2 {
		t.Errorf("proxy saw %d connections, want 2", n)
	}
	jobs, err := b.Browse(ctx)
	if err != nil {
		t.Fatalf("Browse: %v", err)
	}
	if len(jobs) != 2 {
		t.Errorf("broker stores %d jobs, want 2", len(jobs))
	}
}

func TestBroker_ScheduleJobConcurrent(t *testing.T) {
	t.Parallel()
	c := MustTestConfig(t, MustBrokerAddr(t))
	b := New(c)
	defer b.Close()
	ctx := context.Background()

	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			j := testJob("concurrent-" + strconv.Itoa(i))
			j.Delay = time.Hour
			errs <- b.ScheduleJob(ctx, j)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("ScheduleJob: %v", err)
		}
	}

	jobs, err := b.Browse(ctx)
	if err != nil {
		t.Fatalf("Browse: %v", err)
	}
	if len(jobs) != n {
		t.Errorf("broker stores %d jobs, want %d", len(jobs), n)
	}
}

// TestBroker_ScheduleJobLatency runs alone, so that the other tests do
// not add to the latency it logs.
func TestBroker_ScheduleJobLatency(t *testing.T) {
	c := MustTestConfig(t, MustBrokerAddr(t))
	c.PoolSize = 1
	b := New(c)
	defer b.Close()
	ctx := context.Background()

	const n = 200
	durations := make([]time.Duration, 0, n)
	for i := range n {
		j := testJob("latency")
		j.Delay = time.Hour + time.Duration(i)*time.Second
		start := time.Now()
		if err := b.ScheduleJob(ctx, j); err != nil {
			t.Fatalf("ScheduleJob: %v", err)
		}
		durations = append(durations, time.Since(start))
	}
	slices.Sort(durations)
	p50, p99 := durations[n/2], durations[n*99/100]
	t.Logf("SEND with RECEIPT, %d sequential jobs: p50 %s, p99 %s, max %s",
		n, p50, p99, durations[n-1])
	if p99 > time.Second {
		t.Errorf("p99 latency %s, want below 1 s", p99)
	}
}

func TestSource_Batching(t *testing.T) {
	t.Parallel()
	c := MustTestConfig(t, MustBrokerAddr(t))
	b := New(c)
	defer b.Close()
	ctx := context.Background()

	// Queue the messages before the source starts, so batch sizes do not
	// depend on timing.
	const n = 25
	for range n {
		if err := b.ScheduleJob(ctx, testJob("batch")); err != nil {
			t.Fatalf("ScheduleJob: %v", err)
		}
	}
	r := newEventRecorder()
	MustStartSource(t, SourceConfig{Config: c, BatchSize: 10, Window: 300 * time.Millisecond}, r)

	var sizes []int
	for total := 0; total < n; {
		ev := r.next(t, 5*time.Second)
		sizes = append(sizes, len(ev.Messages))
		total += len(ev.Messages)
	}
	if len(sizes) != 3 || sizes[0] != 10 || sizes[1] != 10 || sizes[2] != 5 {
		t.Errorf("batch sizes = %v, want [10 10 5]", sizes)
	}
	r.expectNone(t, 500*time.Millisecond)
}

func TestSource_OneBatchInHandler(t *testing.T) {
	t.Parallel()
	c := MustTestConfig(t, MustBrokerAddr(t))
	b := New(c)
	defer b.Close()
	ctx := context.Background()
	const n = 30
	for range n {
		if err := b.ScheduleJob(ctx, testJob("one-batch")); err != nil {
			t.Fatalf("ScheduleJob: %v", err)
		}
	}

	// The first batch stays in the handler until gate closes. The next
	// batch fills meanwhile but must not reach the handler.
	gate := make(chan struct{})
	var active, most atomic.Int32
	var sizes []int
	var mu sync.Mutex
	calls := make(chan int, n)
	handler := func(_ context.Context, ev events.ActiveMQEvent) error {
		now := active.Add(1)
		defer active.Add(-1)
		for {
			m := most.Load()
			if now <= m || most.CompareAndSwap(m, now) {
				break
			}
		}
		mu.Lock()
		sizes = append(sizes, len(ev.Messages))
		call := len(sizes)
		mu.Unlock()
		calls <- call
		if call == 1 {
			<-gate
		}
		return nil
	}
	srcCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = NewSource(SourceConfig{Config: c, BatchSize: 10, Window: 200 * time.Millisecond}).Run(srcCtx, handler)
	}()
	defer func() { cancel(); <-done }()

	if call := <-calls; call != 1 {
		t.Fatalf("first call = %d", call)
	}
	select {
	case call := <-calls:
		t.Fatalf("call %d started while call 1 was in the handler", call)
	case <-time.After(time.Second):
	}
	close(gate)
	for range 2 {
		select {
		case <-calls:
		case <-time.After(5 * time.Second):
			t.Fatal("the remaining batches did not reach the handler")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sizes) != 3 || sizes[0] != 10 || sizes[1] != 10 || sizes[2] != 10 {
		t.Errorf("batch sizes = %v, want [10 10 10]", sizes)
	}
	if m := most.Load(); m != 1 {
		t.Errorf("%d batches were in the handler at once, want 1", m)
	}
}

func TestSource_Window(t *testing.T) {
	t.Parallel()
	c := MustTestConfig(t, MustBrokerAddr(t))
	r := newEventRecorder()
	const window = 700 * time.Millisecond
	MustStartSource(t, SourceConfig{Config: c, BatchSize: 100, Window: window}, r)
	b := New(c)
	defer b.Close()
	ctx := context.Background()

	// Let the source subscribe before the first message is sent.
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	for range 5 {
		if err := b.ScheduleJob(ctx, testJob("window")); err != nil {
			t.Fatalf("ScheduleJob: %v", err)
		}
	}
	ev := r.next(t, 5*time.Second)
	if d := time.Since(start); d < window-50*time.Millisecond {
		t.Errorf("event after %s, want after the %s window", d, window)
	}
	if len(ev.Messages) != 5 {
		t.Errorf("event has %d messages, want 5 in one batch", len(ev.Messages))
	}
}

func TestSource_HandlerFailureRedelivers(t *testing.T) {
	t.Parallel()
	c := MustTestConfig(t, MustBrokerAddr(t))
	r := newEventRecorder()
	r.fail = func(call int) bool { return call == 1 }
	MustStartSource(t, SourceConfig{Config: c, Window: 10 * time.Millisecond}, r)
	b := New(c)
	defer b.Close()

	if err := b.ScheduleJob(context.Background(), testJob("redeliver")); err != nil {
		t.Fatalf("ScheduleJob: %v", err)
	}
	first := r.next(t, 5*time.Second).Messages[0]
	second := r.next(t, 5*time.Second).Messages[0]
	if first.Redelivered {
		t.Error("first delivery has Redelivered = true")
	}
	if !second.Redelivered {
		t.Error("second delivery has Redelivered = false")
	}
	if second.MessageID != first.MessageID {
		t.Errorf("second delivery is message %s, want %s", second.MessageID, first.MessageID)
	}
	r.expectNone(t, time.Second)
}

func TestSource_MaxRedeliveries(t *testing.T) {
	t.Parallel()
	c := MustTestConfig(t, MustBrokerAddr(t))
	r := newEventRecorder()
	r.fail = func(int) bool { return true }
	MustStartSource(t, SourceConfig{Config: c, Window: 10 * time.Millisecond,
		MaxRedeliveries: 2, MinBackoff: 10 * time.Millisecond}, r)
	b := New(c)
	defer b.Close()

	if err := b.ScheduleJob(context.Background(), testJob("poison")); err != nil {
		t.Fatalf("ScheduleJob: %v", err)
	}
	for range 3 {
		r.next(t, 5*time.Second)
	}
	r.expectNone(t, time.Second)
	if n := r.callCount(); n != 3 {
		t.Errorf("handler called %d times, want 3 (1 delivery + 2 redeliveries)", n)
	}
}

func TestSource_Reconnects(t *testing.T) {
	t.Parallel()
	addr := MustBrokerAddr(t)
	p := MustStartProxy(t, addr)
	c := MustTestConfig(t, addr)
	sc := SourceConfig{Config: c, Window: 10 * time.Millisecond, MinBackoff: 50 * time.Millisecond}
	sc.Addr = p.addr()
	r := newEventRecorder()
	MustStartSource(t, sc, r)
	b := New(c)
	defer b.Close()
	ctx := context.Background()

	if err := b.ScheduleJob(ctx, testJob("before")); err != nil {
		t.Fatalf("ScheduleJob: %v", err)
	}
	r.next(t, 5*time.Second)

	p.cutAll()
	if err := b.ScheduleJob(ctx, testJob("after")); err != nil {
		t.Fatalf("ScheduleJob: %v", err)
	}
	// The ACK of "before" may have been lost with the connection, so it
	// can come again, marked as redelivered, before "after".
	for found := false; !found; {
		ev := r.next(t, 10*time.Second)
		for _, m := range ev.Messages {
			data, err := DecodeData(m)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case strings.Contains(string(data), `"after"`):
				found = true
			case !m.Redelivered:
				t.Errorf("message %s delivered again without Redelivered", data)
			}
		}
	}
	if n := p.connections(); n < 2 {
		t.Errorf("proxy saw %d connections, want a reconnect", n)
	}
}

// proxy forwards loopback TCP connections to a broker and can cut them all,
// which looks to the client like a broker that closed its connections.
type proxy struct {
	ln      net.Listener
	target  string
	mu      sync.Mutex
	conns   []net.Conn
	accepts int
}

// MustStartProxy starts a proxy to target that stops when the test ends.
func MustStartProxy(tb testing.TB, target string) *proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	go p.serve()
	tb.Cleanup(func() {
		ln.Close()
		p.cutAll()
	})
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, in, out)
		p.accepts++
		p.mu.Unlock()
		go func() { io.Copy(out, in); out.Close() }()
		go func() { io.Copy(in, out); in.Close() }()
	}
}

func (p *proxy) cutAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepts
}
