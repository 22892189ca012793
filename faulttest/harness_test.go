package faulttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqcron/mqcron/activemq"
	"github.com/mqcron/mqcron/dispatch"
	"github.com/mqcron/mqcron/dynamo"
	"github.com/mqcron/mqcron/localstack"
	"github.com/mqcron/mqcron/mqttpub"
	"github.com/mqcron/mqcron/schedule"
	"github.com/mqcron/mqcron/scheduler"
	"github.com/mqcron/mqcron/timing"
)

// The package shares one private stack, started by the first test that
// needs it, because an ActiveMQ start takes about 10 s. Tests run one
// after the other and restart every part they stop.
var (
	stackOnce sync.Once
	stack     *localstack.Stack
	stackDir  string
	stackErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if stack != nil {
		if err := stack.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "faulttest: stop servers:", err)
		}
	}
	if stackDir != "" {
		os.RemoveAll(stackDir)
	}
	os.Exit(code)
}

// MustStack returns the package's private stack, starting it on first use.
// It skips the test unless MQCRON_REQUIRE_SERVERS=1 or a set
// MQCRON_TEST_STOMP shows that the servers' programs are installed.
func MustStack(tb testing.TB) *localstack.Stack {
	tb.Helper()
	if os.Getenv("MQCRON_REQUIRE_SERVERS") != "1" && os.Getenv("MQCRON_TEST_STOMP") == "" {
		tb.Skip("fault tests start their own ActiveMQ, dynalite and mosquitto; " +
			"set MQCRON_REQUIRE_SERVERS=1 or run make test")
	}
	stackOnce.Do(func() {
		stackDir, stackErr = os.MkdirTemp("", "mqcron-faulttest-")
		if stackErr != nil {
			return
		}
		stack, stackErr = localstack.Start(context.Background(), localstack.Config{
			Dir:        stackDir,
			STOMPPort:  freePort(tb),
			DynamoPort: freePort(tb),
			MQTTPort:   freePort(tb),
			ToolsDir:   filepath.Join("..", "tools"),
			Logger:     slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		})
	})
	if stackErr != nil {
		tb.Fatalf("start private servers: %v", stackErr)
	}
	return stack
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func randomName(prefix string) string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// Settings that keep the tests short: fires older than maxEventAge
// expire, and retries start after about half a second.
const (
	maxEventAge = 45 * time.Second
	retryBase   = 500 * time.Millisecond
	retryMax    = 3 * time.Second
	claimLease  = 30 * time.Second
)

// fixture is one test's wiring on the private stack: its own table,
// dispatch queue and topic prefix.
type fixture struct {
	stack  *localstack.Stack
	ep     localstack.Endpoints
	store  *dynamo.Store
	broker *activemq.Broker
	svc    *scheduler.Service
	queue  string
	prefix string
	sub    *subscriber
	// maxEventAge is the dispatcher's and the scheduler's MaxEventAge.
	maxEventAge time.Duration
	log         *slog.Logger
}

// MustFixture wires a table, a queue, a scheduler service and an MQTT
// subscriber for one test. The dispatcher and its event source start
// with startDispatcher, so that a test can wrap them.
func MustFixture(tb testing.TB, eventAge time.Duration) *fixture {
	tb.Helper()
	s := MustStack(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	f := &fixture{
		stack:       s,
		ep:          s.Endpoints(),
		queue:       randomName("fault.dispatch."),
		prefix:      randomName("fault/") + "/",
		maxEventAge: eventAge,
		log:         slog.New(slog.NewTextHandler(newTestWriter(tb), &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	table := randomName("fault-")
	if err := localstack.EnsureTable(ctx, f.ep.DynamoDBURL, table); err != nil {
		tb.Fatalf("create table: %v", err)
	}
	f.store = dynamo.New(localstack.NewDynamoDBClient(f.ep.DynamoDBURL), table)
	f.broker = activemq.New(activemq.Config{
		Addr: f.ep.STOMPAddr, Queue: f.queue, ReceiptTimeout: 3 * time.Second, Logger: f.log,
	})
	tb.Cleanup(func() { f.broker.Close() })
	f.svc = scheduler.New(scheduler.Config{
		Store: f.store, Broker: f.broker, MaxEventAge: eventAge, Logger: f.log,
	})
	f.sub = MustSubscribe(tb, f.ep.MQTTAddr, f.prefix+"#")
	return f
}

// newDispatcher returns a dispatcher with the test settings that
// publishes through pub.
func (f *fixture) newDispatcher(pub schedule.Publisher) *dispatch.Dispatcher {
	return dispatch.New(dispatch.Config{
		Store:       f.store,
		Broker:      f.broker,
		Publisher:   pub,
		MaxEventAge: f.maxEventAge,
		RetryBase:   retryBase,
		RetryMax:    retryMax,
		ClaimLease:  claimLease,
		Logger:      f.log,
	})
}

// MustPublisher connects an MQTT publisher that closes when the test ends.
func (f *fixture) MustPublisher(tb testing.TB) *mqttpub.Publisher {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pub, err := mqttpub.Connect(ctx, mqttpub.Config{
		Addr: f.ep.MQTTAddr, ClientID: randomName("fault-pub-"), Timeout: 2 * time.Second,
	})
	if err != nil {
		tb.Fatalf("connect publisher: %v", err)
	}
	tb.Cleanup(pub.Close)
	return pub
}

// startSource consumes the test's queue with handler until the returned
// function is called or the test ends. The stop function waits for Run
// to return.
func (f *fixture) startSource(tb testing.TB, handler activemq.Handler) (stop func()) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	source := activemq.NewSource(activemq.SourceConfig{
		Config:     activemq.Config{Addr: f.ep.STOMPAddr, Queue: f.queue, Logger: f.log},
		Window:     100 * time.Millisecond,
		HeartBeat:  2 * time.Second,
		MaxBackoff: time.Second,
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = source.Run(ctx, handler)
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	tb.Cleanup(stop)
	return stop
}

// startDispatcher starts a dispatcher with a real publisher and its
// event source, and returns the dispatcher.
func (f *fixture) startDispatcher(tb testing.TB) *dispatch.Dispatcher {
	tb.Helper()
	d := f.newDispatcher(f.MustPublisher(tb))
	f.startSource(tb, d.Handle)
	return d
}

// createRate creates an enabled schedule with a rate expression whose
// payload names the fire id, on one topic below the test's prefix.
func (f *fixture) createRate(tb testing.TB, name, expression string) *schedule.Schedule {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	in := &schedule.Schedule{
		Name:               name,
		ScheduleExpression: expression,
		Target: schedule.Target{
			Topics:  []string{f.prefix + name},
			QoS:     1,
			Payload: json.RawMessage(`{"fire":"{{fireId}}"}`),
		},
	}
	sched, err := f.svc.Create(ctx, "fault", "", in)
	if err != nil {
		tb.Fatalf("create schedule %s: %v", name, err)
	}
	return sched
}

// stopPart stops or kills one server and makes sure it runs again when
// the test ends, also when the test fails before it restarts it.
func (f *fixture) stopPart(tb testing.TB, name string, kill bool) {
	tb.Helper()
	stop := f.stack.StopPart
	if kill {
		stop = f.stack.KillPart
	}
	if err := stop(name); err != nil {
		tb.Fatalf("stop %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		// StartPart fails for a part that runs already, which is the
		// normal case here.
		_ = f.stack.StartPart(ctx, name)
	})
}

func (f *fixture) startPart(tb testing.TB, name string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := f.stack.StartPart(ctx, name); err != nil {
		tb.Fatalf("start %s: %v", name, err)
	}
}

// subscriber counts the messages below a topic filter by the fire id in
// their payload. It subscribes again after every reconnect.
type subscriber struct {
	mu     sync.Mutex
	counts map[string]int
	// other counts messages whose payload names no fire id.
	other int
}

// MustSubscribe connects a QoS 1 subscriber to filter.
func MustSubscribe(tb testing.TB, addr, filter string) *subscriber {
	tb.Helper()
	s := &subscriber{counts: map[string]int{}}
	subscribed := make(chan error, 1)
	opts := mqtt.NewClientOptions().
		AddBroker("tcp://" + addr).
		SetClientID(randomName("fault-sub-")).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(300 * time.Millisecond).
		SetConnectTimeout(2 * time.Second).
		SetOnConnectHandler(func(c mqtt.Client) {
			tok := c.Subscribe(filter, 1, s.receive)
			tok.WaitTimeout(5 * time.Second)
			select {
			case subscribed <- tok.Error():
			default:
			}
		})
	client := mqtt.NewClient(opts)
	if tok := client.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		tb.Fatalf("connect subscriber: %v", tok.Error())
	}
	tb.Cleanup(func() { client.Disconnect(100) })
	select {
	case err := <-subscribed:
		if err != nil {
			tb.Fatalf("subscribe %s: %v", filter, err)
		}
	case <-time.After(5 * time.Second):
		tb.Fatalf("subscribe %s: no SUBACK within 5 s", filter)
	}
	return s
}

func (s *subscriber) receive(_ mqtt.Client, m mqtt.Message) {
	var p struct {
		Fire string `json:"fire"`
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if json.Unmarshal(m.Payload(), &p) != nil || p.Fire == "" {
		s.other++
		return
	}
	s.counts[p.Fire]++
}

func (s *subscriber) snapshot() (map[string]int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	counts := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		counts[k] = v
	}
	return counts, s.other
}

// tally is the outcome of the fires of one schedule in a window.
type tally struct {
	Due, Delivered, Duplicated, Expired, DeadLettered, Lost int
	// Unexpected counts messages for instants that are not fires of the
	// schedule, and fires with both a message and a failure record.
	Unexpected int
	// Late counts delivered fires that a run records as delivered more
	// than two seconds after their instant.
	Late int
}

// fireState is what the test saw of one due fire.
type fireState struct {
	at       time.Time
	messages int
	run      *schedule.Run
}

func (fs fireState) resolved() bool {
	if fs.messages > 0 {
		return true
	}
	return fs.run != nil && (fs.run.Outcome == schedule.OutcomeExpired || fs.run.Outcome == schedule.OutcomeDeadLettered)
}

// MustVerify waits until every fire of sched in (sched.UpdatedAt, until]
// was delivered or recorded as expired or dead-lettered, and then two
// seconds more for duplicates. It checks that each fire was delivered
// exactly once or recorded with a reason, and that no other message
// arrived. It logs and returns the counts.
func (f *fixture) MustVerify(tb testing.TB, sched *schedule.Schedule, until time.Time, wait time.Duration) tally {
	tb.Helper()
	spec, err := scheduler.ParseSpec(sched)
	if err != nil {
		tb.Fatalf("parse schedule: %v", err)
	}
	var due []time.Time
	for t, ok := spec.Next(sched.UpdatedAt); ok && !t.After(until); t, ok = spec.Next(t) {
		due = append(due, t)
	}
	if len(due) == 0 {
		tb.Fatalf("no fire of %s between %s and %s", sched.ScheduleExpression, sched.UpdatedAt, until)
	}

	deadline := time.Now().Add(wait)
	var states map[string]*fireState
	for {
		states = f.fireStates(tb, sched, due)
		open := 0
		for _, fs := range states {
			if !fs.resolved() {
				open++
			}
		}
		if open == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	states = f.fireStates(tb, sched, due)
	counts, other := f.sub.snapshot()

	t := tally{Due: len(due), Unexpected: other}
	var problems []string
	for _, at := range due {
		id := schedule.FireID(sched.ID, at)
		fs := states[id]
		outcome := schedule.Outcome("none")
		if fs.run != nil {
			outcome = fs.run.Outcome
		}
		switch {
		case fs.messages == 1 && (fs.run == nil || fs.run.Outcome == schedule.OutcomeDelivered):
			t.Delivered++
			if fs.run != nil && fs.run.RecordedAt.Sub(at) > 2*time.Second {
				t.Late++
			}
		case fs.messages > 1:
			t.Duplicated++
			problems = append(problems, fmt.Sprintf("%s: %d messages", id, fs.messages))
		case fs.messages == 1:
			t.Unexpected++
			problems = append(problems, fmt.Sprintf("%s: delivered but recorded %s (%s)", id, outcome, fs.run.Error))
		case outcome == schedule.OutcomeExpired || outcome == schedule.OutcomeDeadLettered:
			if fs.run.Error == "" {
				problems = append(problems, fmt.Sprintf("%s: %s without a reason", id, outcome))
			}
			if outcome == schedule.OutcomeExpired {
				t.Expired++
			} else {
				t.DeadLettered++
			}
		default:
			t.Lost++
			problems = append(problems, fmt.Sprintf("%s: no message, run %s", id, outcome))
		}
	}

	// Messages for instants in the window that are no due fire.
	dueIDs := make(map[string]bool, len(due))
	for _, at := range due {
		dueIDs[schedule.FireID(sched.ID, at)] = true
	}
	for id, n := range counts {
		at, ok := fireInstant(sched.ID, id)
		if !ok {
			continue // another schedule of the test
		}
		if !dueIDs[id] && !at.After(until) {
			t.Unexpected += n
			problems = append(problems, fmt.Sprintf("%s: %d messages for an instant that is no fire", id, n))
		}
	}

	tb.Logf("%s: due %d, delivered %d (late %d), duplicated %d, lost %d, expired %d, dead-lettered %d, unexpected %d",
		sched.Name, t.Due, t.Delivered, t.Late, t.Duplicated, t.Lost, t.Expired, t.DeadLettered, t.Unexpected)
	sort.Strings(problems)
	for _, p := range problems {
		tb.Errorf("fire %s", p)
	}
	return t
}

// fireStates returns the messages and the latest run of each due fire.
func (f *fixture) fireStates(tb testing.TB, sched *schedule.Schedule, due []time.Time) map[string]*fireState {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	runs, err := f.store.ListRuns(ctx, sched.ID, 10000)
	if err != nil {
		tb.Fatalf("list runs of %s: %v", sched.ID, err)
	}
	counts, _ := f.sub.snapshot()
	states := make(map[string]*fireState, len(due))
	for _, at := range due {
		id := schedule.FireID(sched.ID, at)
		states[id] = &fireState{at: at, messages: counts[id]}
	}
	for _, r := range runs {
		if fs, ok := states[schedule.FireID(sched.ID, r.FireAt)]; ok {
			fs.run = r
		}
	}
	return states
}

// fireInstant parses a fire id of schedule id.
func fireInstant(id, fireID string) (time.Time, bool) {
	prefix := id + "@"
	if len(fireID) <= len(prefix) || fireID[:len(prefix)] != prefix {
		return time.Time{}, false
	}
	at, err := time.Parse("20060102T150405.000Z", fireID[len(prefix):])
	return at, err == nil
}

// crashAfter returns a handler that passes batches to d, but returns an
// error once crash reports true, as a dispatcher that died before its
// event source acknowledged the batch.
func crashAfter(d *dispatch.Dispatcher, crashed func() bool) activemq.Handler {
	return func(ctx context.Context, ev events.ActiveMQEvent) error {
		err := d.Handle(ctx, ev)
		if crashed() {
			return fmt.Errorf("simulated crash after publishing")
		}
		return err
	}
}

// testWriter sends log output to the test log until the test ends;
// background goroutines may still log after that.
type testWriter struct {
	tb   testing.TB
	mu   *sync.Mutex
	done *bool
}

func newTestWriter(tb testing.TB) testWriter {
	w := testWriter{tb: tb, mu: &sync.Mutex{}, done: new(bool)}
	tb.Cleanup(func() {
		w.mu.Lock()
		*w.done = true
		w.mu.Unlock()
	})
	return w
}

func (w testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !*w.done {
		w.tb.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func mustSpec(tb testing.TB, sched *schedule.Schedule) *timing.Spec {
	tb.Helper()
	spec, err := scheduler.ParseSpec(sched)
	if err != nil {
		tb.Fatalf("parse schedule: %v", err)
	}
	return spec
}
