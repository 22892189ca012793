package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/mqcron/mqcron/activemq"
	"github.com/mqcron/mqcron/dispatch"
	"github.com/mqcron/mqcron/dynamo"
	"github.com/mqcron/mqcron/httpapi"
	"github.com/mqcron/mqcron/localstack"
	"github.com/mqcron/mqcron/mqttpub"
	"github.com/mqcron/mqcron/scheduler"
)

// benchEnv is the product wired in this process to one set of local
// servers, as the local runner wires it. It runs the REST API on a
// loopback listener, the scheduler service, the dispatcher behind the
// local event source, and the DynamoDB, ActiveMQ and MQTT adapters. Every
// name it creates (table, queue, topics, owners) carries a random run id,
// so it can share servers with other users.
type benchEnv struct {
	opts   *options
	ep     localstack.Endpoints
	dir    string // the stack's data folder, "" when unknown
	runID  string
	table  string
	queue  string
	apiURL string

	store     *dynamo.Store
	dynamoOps *opCounter
	batches   *batchStats
	logPath   string

	// nextInstant numbers the far-future instants given to schedules that
	// must not fire during the run.
	nextInstant atomic.Int64
	farBase     time.Time
	started     time.Time

	closers []func()
}

// startEnv wires the product to the servers at ep. dir is the stack's data
// folder, used to find the server processes; it may be empty.
func startEnv(ctx context.Context, o *options, ep localstack.Endpoints, dir, logDir string) (*benchEnv, error) {
	e := &benchEnv{opts: o, ep: ep, dir: dir, runID: randomHex(4)}
	e.table = "bench-" + e.runID
	e.queue = "bench.dispatch." + e.runID
	e.dynamoOps = &opCounter{counts: map[string]int64{}, time: map[string]time.Duration{}}
	e.batches = &batchStats{}
	e.started = time.Now()
	e.farBase = e.started.UTC().Truncate(24*time.Hour).AddDate(0, 0, 2)
	if err := e.wire(ctx, logDir); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func (e *benchEnv) wire(ctx context.Context, logDir string) error {
	// The handlers log at Info to a file, as the local runner logs to its
	// terminal, so that the log's CPU time and size are measured too.
	e.logPath = filepath.Join(logDir, "mqcron-"+e.runID+".log")
	logFile, err := os.Create(e.logPath)
	if err != nil {
		return err
	}
	e.closers = append(e.closers, func() { logFile.Close() })
	log := slog.New(slog.NewTextHandler(logFile, nil))

	if err := localstack.EnsureTable(ctx, e.ep.DynamoDBURL, e.table); err != nil {
		return fmt.Errorf("create table %s: %w", e.table, err)
	}
	store := dynamo.New(e.dynamoClient(), e.table)
	e.store = store
	broker := activemq.New(activemq.Config{Addr: e.ep.STOMPAddr, Queue: e.queue, PoolSize: e.opts.poolSize, Logger: log})
	e.closers = append(e.closers, func() { broker.Close() })
	publisher, err := mqttpub.Connect(ctx, mqttpub.Config{Addr: e.ep.MQTTAddr, ClientID: "bench-dispatcher-" + e.runID})
	if err != nil {
		return fmt.Errorf("connect to MQTT broker at %s: %w", e.ep.MQTTAddr, err)
	}
	e.closers = append(e.closers, publisher.Close)

	svc := scheduler.New(scheduler.Config{Store: store, Broker: broker, Logger: log})
	d := dispatch.New(dispatch.Config{Store: store, Broker: broker, Publisher: publisher, Logger: log})
	api := httpapi.New(httpapi.Config{Service: svc, Owner: httpapi.DevOwner, Logger: log})
	if err := e.serve(api); err != nil {
		return err
	}

	// Each consumer is one event source on its own connection, as Lambda's
	// event source mapping runs up to 5 concurrent instances.
	srcCtx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range max(e.opts.consumers, 1) {
		source := activemq.NewSource(activemq.SourceConfig{
			Config:    activemq.Config{Addr: e.ep.STOMPAddr, Queue: e.queue, Logger: log},
			BatchSize: e.opts.batchSize,
			Window:    e.opts.window,
		})
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = source.Run(srcCtx, e.batches.wrap(d.Handle))
		}()
	}
	e.closers = append(e.closers, func() { cancel(); wg.Wait() })
	return nil
}

// serve starts the API on a free loopback port.
func (e *benchEnv) serve(api http.Handler) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	e.apiURL = "http://" + l.Addr().String()
	e.closers = append(e.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return nil
}

// dynamoClient returns a client like localstack.NewDynamoDBClient whose
// requests are counted by operation. It keeps the SDK's default HTTP
// client, so connection reuse is the same as in the product.
func (e *benchEnv) dynamoClient() *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		BaseEndpoint: aws.String(e.ep.DynamoDBURL),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		HTTPClient:   &countingClient{next: e.dynamoHTTP(), ops: e.dynamoOps},
	})
}

// dynamoHTTP returns the SDK's default HTTP client, with its idle
// connections per host raised when the options ask for it.
func (e *benchEnv) dynamoHTTP() *awshttp.BuildableClient {
	c := awshttp.NewBuildableClient()
	if n := e.opts.dynamoIdleConns; n > 0 {
		c = c.WithTransportOptions(func(tr *http.Transport) { tr.MaxIdleConnsPerHost = n })
	}
	return c
}

// close stops the handlers and closes the connections, newest first.
func (e *benchEnv) close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
	e.closers = nil
}

// farCron returns a five-field cron that fires once a year at an instant
// of its own, at least a day after the run started, so that the schedule
// never fires during the run. Instants are a minute apart, which makes
// the broker store each job under a distinct due time.
func (e *benchEnv) farCron() string {
	t := e.farBase.Add(time.Duration(e.nextInstant.Add(1)) * time.Minute)
	return fmt.Sprintf("%d %d %d %d *", t.Minute(), t.Hour(), t.Day(), int(t.Month()))
}

// logSize returns the size of the handlers' log file in bytes.
func (e *benchEnv) logSize() int64 {
	info, err := os.Stat(e.logPath)
	if err != nil {
		return 0
	}
	return info.Size()
}

// cpuSample is the CPU seconds used so far by each server and by this
// process.
type cpuSample struct {
	at    time.Time
	parts map[string]float64
}

// cpuParts are the processes whose CPU use the bench reports, in order.
var cpuParts = []string{localstack.ActiveMQ, localstack.Dynalite, localstack.Mosquitto, "bench"}

func (e *benchEnv) sampleCPU() cpuSample {
	s := cpuSample{at: time.Now(), parts: map[string]float64{"bench": selfCPU()}}
	for _, p := range cpuParts[:3] {
		s.parts[p] = groupCPU(partGroup(e.dir, p))
	}
	return s
}

// coresSince returns the cores that each part used on average since
// before.
func (s cpuSample) coresSince(before cpuSample) map[string]float64 {
	wall := s.at.Sub(before.at).Seconds()
	out := map[string]float64{}
	for _, p := range cpuParts {
		out[p] = (s.parts[p] - before.parts[p]) / wall
	}
	return out
}

// Idle servers: a measurement starts once the servers together use less
// than idleCores over one idleStep, or after the -idle-wait flag's time at
// most. A broker still storing the jobs of a burst, or dynalite compacting
// its tables, would otherwise slow down whichever measurement comes next.
const (
	idleCores = 0.15
	idleStep  = time.Second
)

// waitIdle waits until the servers are idle, and reports how long it
// waited and whether they became idle.
func (e *benchEnv) waitIdle(ctx context.Context) (time.Duration, bool) {
	start := time.Now()
	if e.opts.idleWait <= 0 {
		return 0, true
	}
	for time.Since(start) < e.opts.idleWait {
		before := e.sampleCPU()
		select {
		case <-ctx.Done():
			return time.Since(start), false
		case <-time.After(idleStep):
		}
		used := 0.0
		for part, cores := range e.sampleCPU().coresSince(before) {
			if part != "bench" {
				used += cores
			}
		}
		if used < idleCores {
			return time.Since(start), true
		}
	}
	return time.Since(start), false
}

// settle waits until the servers are idle and logs a wait of more than one
// step.
func (e *benchEnv) settle(ctx context.Context, log *slog.Logger) {
	waited, idle := e.waitIdle(ctx)
	if !idle {
		log.Warn("servers still busy; measuring anyway", "waited", waited.Round(time.Second))
	} else if waited > 2*idleStep {
		log.Info("waited for idle servers", "waited", waited.Round(time.Second))
	}
}

// brokerRSS returns the ActiveMQ JVM's resident memory in MB.
func (e *benchEnv) brokerRSS() float64 {
	return jvmRSS(partGroup(e.dir, localstack.ActiveMQ))
}

// schedulerStoreMB returns the size of the broker's job scheduler store.
func (e *benchEnv) schedulerStoreMB() float64 {
	if e.dir == "" {
		return math.NaN()
	}
	return folderMB(filepath.Join(e.dir, localstack.ActiveMQ, "data", "scheduler"))
}

// opCounter counts DynamoDB requests and their time by operation name.
type opCounter struct {
	mu     sync.Mutex
	counts map[string]int64
	time   map[string]time.Duration
}

// snapshot returns a copy of the counts and of the total time until the
// response headers arrived.
func (c *opCounter) snapshot() (map[string]int64, map[string]time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.counts), maps.Clone(c.time)
}

// countingClient counts each DynamoDB request by the operation in its
// X-Amz-Target header, such as "DynamoDB_20120810.PutItem".
type countingClient struct {
	next interface {
		Do(*http.Request) (*http.Response, error)
	}
	ops *opCounter
}

// Do counts r and sends it.
func (c *countingClient) Do(r *http.Request) (*http.Response, error) {
	op := r.Header.Get("X-Amz-Target")
	op = op[strings.LastIndexByte(op, '.')+1:]
	start := time.Now()
	resp, err := c.next.Do(r)
	c.ops.mu.Lock()
	c.ops.counts[op]++
	c.ops.time[op] += time.Since(start)
	c.ops.mu.Unlock()
	return resp, err
}

// batchStats records the events that the local event source passed to
// the dispatcher: their count, their messages and the handler's time.
type batchStats struct {
	mu       sync.Mutex
	events   int
	messages int
	busy     time.Duration
}

// wrap returns handler with its events recorded.
func (b *batchStats) wrap(handler activemq.Handler) activemq.Handler {
	return func(ctx context.Context, ev events.ActiveMQEvent) error {
		start := time.Now()
		err := handler(ctx, ev)
		b.mu.Lock()
		b.events++
		b.messages += len(ev.Messages)
		b.busy += time.Since(start)
		b.mu.Unlock()
		return err
	}
}

// snapshot returns the events, messages and handler time so far.
func (b *batchStats) snapshot() (events, messages int, busy time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.events, b.messages, b.busy
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// freePorts returns n distinct free TCP ports on 127.0.0.1. Another
// program may take one before the caller binds it; Start then fails with
// a message that names the port.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// startStack starts a private local stack on free ports in a new
// temporary folder, and returns it with a function that stops it and
// removes the folder.
func startStack(ctx context.Context, toolsDir string, log *slog.Logger) (*localstack.Stack, func(), error) {
	dir, err := os.MkdirTemp("", "mqcron-bench-")
	if err != nil {
		return nil, nil, err
	}
	ports, err := freePorts(3)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	stack, err := localstack.Start(ctx, localstack.Config{
		Dir: dir, STOMPPort: ports[0], DynamoPort: ports[1], MQTTPort: ports[2],
		ToolsDir: toolsDir, Logger: log,
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	stop := func() {
		if err := stack.Stop(); err != nil {
			log.Error("stop local stack", "error", err)
		}
		if err := os.RemoveAll(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			log.Error("remove stack folder", "dir", dir, "error", err)
		}
	}
	return stack, stop, nil
}

// itoa is strconv.Itoa, short for the many names built from indexes.
func itoa(i int) string { return strconv.Itoa(i) }
