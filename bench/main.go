// Command bench measures mqcron against the raw limits of its parts, on a
// private local stack (ActiveMQ, dynalite, mosquitto) that it starts on free
// loopback ports in a temporary folder and stops at the end:
//
//  1. API create throughput and latency at concurrency 1 and 8, next to
//     one DynamoDB PutItem plus one STOMP SEND with receipt;
//  2. job capacity: the time to create many schedules, the broker's
//     memory after, and whether fires are still on time at that size;
//  3. burst dispatch: schedules due at one instant, from the instant to
//     the MQTT subscriber, next to the broker firing plain jobs to a
//     consumer that publishes them with no checks;
//  4. the cost per fire on AWS, from the measured batch sizes.
//
// The handlers run in this process, wired as the local runner wires them.
// The results are printed as Markdown and, with -out, written to a page
// with the commit, machine and command.
//
// Usage:
//
//	go run ./bench [flags]
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/mqcron/mqcron/activemq"
	"github.com/mqcron/mqcron/localstack"
)

// options are the settings of one bench run.
type options struct {
	createN             int
	capacityN           int
	capacityConcurrency int
	onTimeN             int
	burstN              int
	reps                int
	capacityReps        int
	useAt               bool
	batchSize           int
	window              time.Duration
	poolSize            int
	consumers           int
	dynamoIdleConns     int
	targetMillis        float64
	out                 string
	profileDir          string
	toolsDir            string
	smoke               bool
	idleWait            time.Duration
	scenarios           map[string]bool
}

// scenarioNames are the values of -scenarios, in the order they run.
var scenarioNames = []string{"create", "burst", "capacity"}

// smokeOptions are the settings of -smoke and of the smoke test: small
// counts, one repetition and at(...) instants, so that a run takes about
// a minute.
func smokeOptions(o *options) {
	o.createN, o.capacityN, o.onTimeN, o.burstN = 200, 1000, 20, 500
	o.reps, o.capacityReps = 1, 1
	o.useAt = true
}

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.IntVar(&o.createN, "create-n", 2000, "schedules created per concurrency level and repetition in scenario 1")
	fs.IntVar(&o.capacityN, "capacity-n", 100000, "schedules created in scenario 2")
	fs.IntVar(&o.capacityConcurrency, "capacity-concurrency", 8, "concurrent API requests in scenario 2")
	fs.IntVar(&o.onTimeN, "ontime-n", 100, "schedules due at one instant after scenario 2, to check that fires are on time")
	fs.IntVar(&o.burstN, "burst-n", 10000, "schedules due at one instant in scenario 3")
	fs.IntVar(&o.reps, "reps", 3, "repetitions of scenarios 1 and 3")
	fs.IntVar(&o.capacityReps, "capacity-reps", 1, "repetitions of scenario 2; each adds capacity-n jobs to the same broker")
	fs.BoolVar(&o.useAt, "at", false, "make bursts due at a whole second with at(...) instead of a daily cron at a whole minute (faster, for smoke runs)")

	fs.IntVar(&o.batchSize, "batch-size", activemq.DefaultBatchSize, "messages per dispatcher event (Lambda's batch size)")
	fs.DurationVar(&o.window, "window", activemq.DefaultWindow, "batching window of the event source")
	fs.IntVar(&o.poolSize, "stomp-pool", activemq.DefaultPoolSize, "STOMP connections of the API's broker client")
	fs.IntVar(&o.consumers, "consumers", 1, "concurrent event sources feeding the dispatcher (the local runner has 1; Lambda runs up to 5)")
	fs.IntVar(&o.dynamoIdleConns, "dynamo-idle-conns", 0, "idle HTTP connections per host of the DynamoDB clients; 0 keeps the SDK default (10)")
	fs.Float64Var(&o.targetMillis, "eb-target-ms", 20, "assumed billed milliseconds per fire of the EventBridge design's Lambda target")

	fs.StringVar(&o.out, "out", "", "write the results page to this file (for example docs/benchmarks.md); empty prints only")
	fs.StringVar(&o.profileDir, "cpuprofile-dir", "", "write a CPU profile of this process per scenario and repetition to this folder")
	fs.DurationVar(&o.idleWait, "idle-wait", 30*time.Second, "longest wait before each measurement for the servers to become idle; 0 starts at once")
	fs.StringVar(&o.toolsDir, "tools-dir", "tools", "folder whose node_modules contains dynalite")
	fs.BoolVar(&o.smoke, "smoke", false, "run every scenario once with small counts and at(...) instants; overrides the count flags")
	scenarioList := fs.String("scenarios", strings.Join(scenarioNames, ","), "comma-separated scenarios to run: create (1), burst (3), capacity (2)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	o.scenarios = map[string]bool{}
	for name := range strings.SplitSeq(*scenarioList, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(scenarioNames, name) {
			return nil, fmt.Errorf("-scenarios: unknown scenario %q; use a comma-separated list of %s",
				name, strings.Join(scenarioNames, ", "))
		}
		o.scenarios[name] = true
	}

	if o.smoke {
		smokeOptions(o)
	}
	if o.reps < 1 || o.capacityReps < 0 || o.createN < 1 || o.burstN < 1 || o.onTimeN < 1 || o.capacityN < 0 {
		return nil, errors.New("counts must be positive (capacity-reps and capacity-n may be 0)")
	}
	return o, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	started := time.Now().UTC()
	command := strings.TrimSpace("go run ./bench " + strings.Join(args, " "))

	tools, err := filepath.Abs(o.toolsDir)
	if err != nil {
		return err
	}
	// Scenario 2 runs on a stack of its own, so that the records and jobs
	// that scenarios 1 and 3 leave behind do not weigh on its figures.
	res := newResults()
	var runs []*options
	if o.scenarios["capacity"] && len(o.scenarios) > 1 {
		first, second := *o, *o
		first.scenarios, second.scenarios = maps.Clone(o.scenarios), map[string]bool{"capacity": true}
		delete(first.scenarios, "capacity")
		runs = append(runs, &first, &second)
	} else {
		runs = append(runs, o)
	}
	for _, ro := range runs {
		fmt.Fprintln(os.Stderr, "starting a private ActiveMQ, dynalite and mosquitto (ActiveMQ takes about 10 s)...")
		stack, stopStack, err := startStack(ctx, tools, log)
		if err != nil {
			return err
		}
		err = measure(ctx, ro, stack.Endpoints(), stack.Dir(), res, log)
		stopStack()
		if err != nil {
			return err
		}
	}
	m := describeMachine(command, tools, started)
	m.finished = time.Now().UTC()
	var page bytes.Buffer
	writePage(&page, res, o, m)
	fmt.Print(page.String())
	if o.out == "" {
		return nil
	}
	if err := os.WriteFile(o.out, page.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "wrote", o.out)
	return nil
}

// measure wires the product to the servers at ep and runs the scenarios
// that o selects into res: scenarios 1 and 3 once per repetition, then
// scenario 2, which leaves the broker full. dir is the stack's data folder;
// it may be empty.
func measure(ctx context.Context, o *options, ep localstack.Endpoints, dir string, res *results, log *slog.Logger) error {
	logDir, err := os.MkdirTemp("", "mqcron-bench-log-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(logDir)
	e, err := startEnv(ctx, o, ep, dir, logDir)
	if err != nil {
		return err
	}
	defer e.close()

	for rep := 1; rep <= o.reps && (o.scenarios["create"] || o.scenarios["burst"]); rep++ {
		log.Info("repetition", "rep", rep, "of", o.reps)
		if o.scenarios["create"] {
			if err := profiled(o, "create", rep, func() error { return e.measureCreate(ctx, res, rep, log) }); err != nil {
				return fmt.Errorf("scenario 1, repetition %d: %w", rep, err)
			}
		}
		if !o.scenarios["burst"] {
			continue
		}
		// Bursts use daily crons in UTC, so they are created at that rate;
		// without scenario 1 the wait before the instant assumes a slow one.
		createRate := res.median("c8.daily.UTC.rate")
		if err := profiled(o, "burst", rep, func() error { return e.measureBurst(ctx, res, rep, createRate, log) }); err != nil {
			return fmt.Errorf("scenario 3, repetition %d: %w", rep, err)
		}
	}
	for rep := 1; rep <= o.capacityReps && o.scenarios["capacity"]; rep++ {
		createRate := res.median("c8.api.rate")
		if err := profiled(o, "capacity", rep, func() error { return e.measureCapacity(ctx, res, rep, createRate, log) }); err != nil {
			return fmt.Errorf("scenario 2, repetition %d: %w", rep, err)
		}
	}
	return nil
}

// profiled runs f, with a CPU profile of this process written to
// DIR/NAME-REP.pprof when o.profileDir is set.
func profiled(o *options, name string, rep int, f func() error) error {
	if o.profileDir == "" {
		return f()
	}
	if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
		return err
	}
	file, err := os.Create(filepath.Join(o.profileDir, fmt.Sprintf("%s-%d.pprof", name, rep)))
	if err != nil {
		return err
	}
	defer file.Close()
	if err := pprof.StartCPUProfile(file); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()
	return f()
}

// writePage writes the results page: the run's context, the method, one
// table per scenario, the CPU use and the cost model.
func writePage(w io.Writer, res *results, o *options, m machine) {
	writeContext(w, o, m)
	writeMethod(w)
	res.writeTables(w, []string{sectionCreate, sectionCapacity, sectionBurst, sectionCPU})
	res.writeBusiest(w)
	// The cost model reads the burst's figures.
	if !o.scenarios["burst"] {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "### 4. Cost per fire on AWS")
	fmt.Fprintln(w)
	writeCost(w, costInputsFrom(res, o))
}

// writeContext writes the title and where, when and how the bench ran.
func writeContext(w io.Writer, o *options, m machine) {
	fmt.Fprintln(w, "# Benchmarks")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "This page is written by `make bench` (`go run ./bench`); do not edit it by hand. Each figure is "+
		"the median, minimum and maximum over the repetitions given in the runs column. Every run starts its own "+
		"ActiveMQ, dynalite and mosquitto on free loopback ports and runs the API, the scheduler service, the "+
		"dispatcher and the local event source in the bench process, so clients, handlers and servers share the "+
		"same cores.")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "- commit: `%s`\n", m.commit)
	fmt.Fprintf(w, "- machine: %d cores (%s), %s memory, Linux %s\n", m.cores, m.cpu, m.memory, m.kernel)
	fmt.Fprintf(w, "- software: %s\n", m.versions)
	fmt.Fprintf(w, "- command: `%s`\n", m.command)
	fmt.Fprintf(w, "- date: %s to %s UTC\n", m.started.Format("2006-01-02 15:04"), m.finished.Format("15:04"))
	fmt.Fprintf(w, "- repetitions: %d of scenarios 1 and 3, %d of scenario 2\n", o.reps, o.capacityReps)
	if len(o.scenarios) < len(scenarioNames) {
		var ran []string
		for _, name := range scenarioNames {
			if o.scenarios[name] {
				ran = append(ran, name)
			}
		}
		fmt.Fprintf(w, "- scenarios run: %s only\n", strings.Join(ran, ", "))
	}
	fmt.Fprintf(w, "- dispatcher: %d event source(s), batch size %d, batching window %s (the defaults of Lambda's Amazon MQ "+
		"event source); API broker client: %d STOMP connections; DynamoDB idle connections per host: %s\n",
		o.consumers, o.batchSize, o.window, o.poolSize, idleConns(o.dynamoIdleConns))
	burstForm := "a daily cron (`M H * * *`) for one upcoming minute, so the broker fires every job at the top of that minute"
	if o.useAt {
		burstForm = "`at(...)` for one upcoming whole second; the broker rounds delay jobs up to 500 ms steps, so fires can start up to 500 ms after the instant"
	}
	fmt.Fprintf(w, "- bursts are due at %s\n", burstForm)
	if o.idleWait > 0 {
		fmt.Fprintf(w, "- each measurement starts once the servers use less than %.2f cores over %s, after %s at most\n",
			idleCores, idleStep, o.idleWait)
	}
}

// writeMethod writes how each figure is measured.
func writeMethod(w io.Writer) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "How each figure is measured:")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "1. API creates go through net/http on a loopback port, each a schedule with its own yearly cron "+
		"instant (distinct due times, the slower case for the broker's store). The raw cost is the same work without "+
		"the API: one conditional PutItem of a schedule-sized item and one persistent SEND with the same scheduling "+
		"headers and a RECEIPT, on one STOMP connection per worker. The ratio divides the raw rate by the API rate, "+
		"which is the API's time per create over the raw time. The store writes a name lock and the schedule, so the "+
		"row with two writes is the raw cost of the writes the API really makes. The daily rows create schedules with a "+
		"daily cron (UTC, and Europe/Berlin with daylight saving time) and compare them with the raw cost at "+
		"concurrency 8; compiling such a cron to its broker form takes more CPU than a yearly cron.")
	fmt.Fprintln(w, "2. Capacity creates go through the API as in 1, on a new stack started after scenarios 1 and 3, "+
		"so that their records and jobs are not in the way. Broker memory is VmRSS of the ActiveMQ JVM. Fires on "+
		"time: schedules created after the others, due at one instant; the delay runs from that instant to the "+
		"arrival at a QoS 1 MQTT subscriber.")
	fmt.Fprintln(w, "3. Bursts: schedules created through the API, each with its own topic, all due at one instant. The "+
		"delay runs from the instant to the arrival at a QoS 1 subscriber, and fires per second divide the arrivals "+
		"by the time from the instant to the last arrival. The raw limit is the same number of plain scheduled "+
		"messages due at the same kind of instant, consumed by one STOMP consumer (prefetch 1,000) that publishes "+
		"each at QoS 1 with no checks and acknowledges it after the PUBACK. The store-alone row writes the DynamoDB "+
		"records of one fire (claim, outcome and run summary) through the store for up to 3,000 of the burst's "+
		"schedules on 64 workers, with no broker and no MQTT: the limit that the DynamoDB server sets for the dispatcher.")
	fmt.Fprintln(w, "4. Costs combine the batch size, handler time and DynamoDB requests measured in 3 with list prices.")
}

func idleConns(n int) string {
	if n <= 0 {
		return "the SDK default (10)"
	}
	return itoa(n)
}
