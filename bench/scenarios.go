package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mqcron/mqcron/dispatch"
	"github.com/mqcron/mqcron/schedule"
)

// Section titles of the results.
const (
	sectionCreate   = "1. API create against the raw cost"
	sectionCapacity = "2. Job capacity"
	sectionBurst    = "3. Burst dispatch"
	sectionCPU      = "CPU use during each measurement (cores, of 2 on the reference machine)"
)

// apiConcurrency are the concurrency levels of scenario 1.
var apiConcurrency = []int{1, 8}

// farRequest returns a schedule that fires once a year at an instant of
// its own that the run never reaches.
func (e *benchEnv) farRequest(kind string, i int) *scheduleRequest {
	return &scheduleRequest{
		Name:                       kind + itoa(i),
		Target:                     requestTarget{Topics: []string{"bench/" + e.runID + "/" + kind + "/" + itoa(i)}, QoS: 1, Payload: benchPayload(i)},
		ScheduleExpression:         e.farCron(),
		ScheduleExpressionTimezone: "UTC",
	}
}

// dailyRequest returns a schedule with a daily cron in zone, at a minute
// between 10 and 14 hours after the run started, so that it does not fire
// during the run.
func (e *benchEnv) dailyRequest(kind string, loc *time.Location, i int) *scheduleRequest {
	t := e.started.Add(10*time.Hour + time.Duration(i%240)*time.Minute).In(loc)
	return &scheduleRequest{
		Name:                       kind + itoa(i),
		Target:                     requestTarget{Topics: []string{"bench/" + e.runID + "/" + kind + "/" + itoa(i)}, QoS: 1, Payload: benchPayload(i)},
		ScheduleExpression:         fmt.Sprintf("%d %d * * *", t.Minute(), t.Hour()),
		ScheduleExpressionTimezone: loc.String(),
	}
}

// recordCPU adds the cores each part used since before to the CPU rows of
// phase.
func (e *benchEnv) recordCPU(res *results, phase string, before cpuSample) {
	cores := e.sampleCPU().coresSince(before)
	for _, p := range cpuParts {
		res.put("cpu."+phase+"."+p, rowSpec{section: sectionCPU, label: phase + ": " + p, unit: "cores", digits: 2}, cores[p])
	}
}

// measureCreate runs scenario 1: the API's create throughput and latency
// at each concurrency level, then the raw cost of its dependencies at the
// same level, without the API.
func (e *benchEnv) measureCreate(ctx context.Context, res *results, rep int, log *slog.Logger) error {
	n := e.opts.createN
	for _, c := range apiConcurrency {
		e.settle(ctx, log)
		cpu := e.sampleCPU()
		api := newAPIClient(e.apiURL, c)
		owner := fmt.Sprintf("bench-api-%d-%d", c, rep)
		kind := fmt.Sprintf("api%dr%d-", c, rep)
		r := api.createMany(ctx, owner, n, c, nil, func(i int) *scheduleRequest { return e.farRequest(kind, i) })
		e.recordCPU(res, fmt.Sprintf("API create c=%d", c), cpu)
		if r.errors > 0 {
			return fmt.Errorf("API create at concurrency %d: %d of %d failed: %w", c, r.errors, n, r.firstErr)
		}
		log.Info("API create", "concurrency", c, "n", n, "perSecond", math.Round(r.throughput()), "elapsed", r.elapsed.Round(time.Millisecond))

		e.settle(ctx, log)
		cpu = e.sampleCPU()
		raw, err := e.rawCreate(ctx, n, c, 1)
		if err != nil {
			return err
		}
		e.recordCPU(res, fmt.Sprintf("raw PutItem+SEND c=%d", c), cpu)
		if raw.errors > 0 {
			return fmt.Errorf("raw create at concurrency %d: %d of %d failed: %w", c, raw.errors, n, raw.firstErr)
		}
		e.settle(ctx, log)
		raw2, err := e.rawCreate(ctx, n, c, 2)
		if err != nil {
			return err
		}
		if raw2.errors > 0 {
			return fmt.Errorf("raw create with two writes at concurrency %d: %d of %d failed: %w", c, raw2.errors, n, raw2.firstErr)
		}
		log.Info("raw create", "concurrency", c, "perSecond", math.Round(raw.throughput()), "twoWritesPerSecond", math.Round(raw2.throughput()))
		e.putCreate(res, c, r, raw, raw2)
	}
	// Daily crons take more CPU to compile to a broker form than the
	// yearly ones above, most of all in a zone with daylight saving time,
	// which takes fewer requests to measure.
	if err := e.measureDailyCreate(ctx, res, rep, "UTC", n, log); err != nil {
		return err
	}
	return e.measureDailyCreate(ctx, res, rep, "Europe/Berlin", max(n/4, 1), log)
}

// measureDailyCreate measures n API creates at concurrency 8 of schedules
// with a daily cron in zone.
func (e *benchEnv) measureDailyCreate(ctx context.Context, res *results, rep int, zone string, n int, log *slog.Logger) error {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return fmt.Errorf("load zone %s: %w", zone, err)
	}
	c := 8
	e.settle(ctx, log)
	cpu := e.sampleCPU()
	api := newAPIClient(e.apiURL, c)
	kind := fmt.Sprintf("daily%dr%d%s-", c, rep, strings.ReplaceAll(zone, "/", ""))
	r := api.createMany(ctx, "bench-daily-"+itoa(rep), n, c, nil, func(i int) *scheduleRequest { return e.dailyRequest(kind, loc, i) })
	phase := fmt.Sprintf("API create daily %s c=%d", zone, c)
	e.recordCPU(res, phase, cpu)
	if r.errors > 0 {
		return fmt.Errorf("API create of daily schedules in %s: %d of %d failed: %w", zone, r.errors, n, r.firstErr)
	}
	log.Info("API create daily", "zone", zone, "concurrency", c, "n", n, "perSecond", math.Round(r.throughput()))
	s, l, p := sectionCreate, fmt.Sprintf("concurrency %d, daily cron in %s: ", c, zone), "c8.daily."+zone+"."
	res.put(p+"rate", rowSpec{section: s, label: l + "API creates", unit: "per s"}, r.throughput())
	res.put(p+"p50", rowSpec{section: s, label: l + "API latency p50", unit: "ms", digits: 2}, percentile(r.latencies, 0.50))
	res.put(p+"p99", rowSpec{section: s, label: l + "API latency p99", unit: "ms", digits: 2}, percentile(r.latencies, 0.99))
	res.put(p+"ratio", rowSpec{section: s, label: l + "API cost ÷ raw cost (time per create)", unit: "ratio", digits: 2,
		target: "≤ 1.25", meets: atMost(1.25)}, res.latest("c8.raw.rate")/r.throughput())
	return nil
}

func (e *benchEnv) putCreate(res *results, c int, api, raw, raw2 createResult) {
	s := sectionCreate
	p := fmt.Sprintf("c%d.", c)
	l := fmt.Sprintf("concurrency %d: ", c)
	res.put(p+"api.rate", rowSpec{section: s, label: l + "API creates", unit: "per s"}, api.throughput())
	res.put(p+"api.p50", rowSpec{section: s, label: l + "API latency p50", unit: "ms", digits: 2}, percentile(api.latencies, 0.50))
	res.put(p+"api.p99", rowSpec{section: s, label: l + "API latency p99", unit: "ms", digits: 2}, percentile(api.latencies, 0.99))
	res.put(p+"raw.rate", rowSpec{section: s, label: l + "raw PutItem + SEND with receipt", unit: "per s"}, raw.throughput())
	res.put(p+"raw.p50", rowSpec{section: s, label: l + "raw latency p50", unit: "ms", digits: 2}, percentile(raw.latencies, 0.50))
	res.put(p+"raw.p99", rowSpec{section: s, label: l + "raw latency p99", unit: "ms", digits: 2}, percentile(raw.latencies, 0.99))
	res.put(p+"ratio", rowSpec{section: s, label: l + "API cost ÷ raw cost (time per create)", unit: "ratio", digits: 2,
		target: "≤ 1.25", meets: atMost(1.25)}, raw.throughput()/api.throughput())
	res.put(p+"raw2.rate", rowSpec{section: s, label: l + "raw 2 PutItems + SEND (the store's two writes)", unit: "per s"}, raw2.throughput())
	res.put(p+"ratio2", rowSpec{section: s, label: l + "API cost ÷ raw cost with two writes", unit: "ratio", digits: 2}, raw2.throughput()/api.throughput())
}

// instantAfter returns the fire instant of a burst whose n schedules are
// created at about perSecond: the next minute boundary (cron) or whole
// second (at) after three times the creation time plus a margin. Jobs due
// at one instant are stored more slowly than jobs with distinct instants,
// because the broker rewrites the instant's list of jobs at each insert,
// so perSecond, measured with distinct instants, overstates their rate.
func (e *benchEnv) instantAfter(n int, perSecond float64) time.Time {
	if math.IsNaN(perSecond) || perSecond <= 0 {
		perSecond = 100
	}
	lead := time.Duration(float64(n)/perSecond*3*float64(time.Second)) + 10*time.Second
	t := time.Now().Add(lead)
	if e.opts.useAt {
		return t.Truncate(time.Second).Add(time.Second)
	}
	return t.Truncate(time.Minute).Add(time.Minute)
}

// dueExpression returns the expression of a schedule due at instant at: a
// daily cron for at's minute, or at(...) when the options ask for it.
func (e *benchEnv) dueExpression(at time.Time) string {
	at = at.UTC()
	if e.opts.useAt {
		return "at(" + at.Format("2006-01-02T15:04:05") + ")"
	}
	return fmt.Sprintf("%d %d * * *", at.Minute(), at.Hour())
}

// dueRequest returns schedule i of a burst: topic prefix+i, due at at.
func (e *benchEnv) dueRequest(prefix, expr string, i int) *scheduleRequest {
	return &scheduleRequest{
		Name:                       "due" + itoa(i),
		Target:                     requestTarget{Topics: []string{prefix + itoa(i)}, QoS: 1, Payload: benchPayload(i)},
		ScheduleExpression:         expr,
		ScheduleExpressionTimezone: "UTC",
	}
}

// waitTimeout is how long a burst of n fires may take to arrive.
func waitTimeout(n int) time.Duration {
	return 30*time.Second + time.Duration(n)*10*time.Millisecond
}

// counters are the dispatcher's counters at one moment.
type counters struct {
	ops      map[string]int64
	opTime   map[string]time.Duration
	events   int
	messages int
	busy     time.Duration
	logBytes int64
	cpu      cpuSample
}

func (e *benchEnv) readCounters() counters {
	c := counters{logBytes: e.logSize(), cpu: e.sampleCPU()}
	c.ops, c.opTime = e.dynamoOps.snapshot()
	c.events, c.messages, c.busy = e.batches.snapshot()
	return c
}

// dueBurst creates n schedules due at one instant through the API, reads
// the counters just before the instant, waits for the fires at an MQTT
// subscriber and returns the arrivals. The instant follows the creation
// time estimated from createRate.
func (e *benchEnv) dueBurst(ctx context.Context, owner, prefix string, n int, createRate float64, ids []string) (deliveryStats, counters, error) {
	col, err := subscribe(e.ep.MQTTAddr, prefix, n)
	if err != nil {
		return deliveryStats{}, counters{}, err
	}
	defer col.close()
	at := e.instantAfter(n, createRate)
	expr := e.dueExpression(at)
	api := newAPIClient(e.apiURL, 8)
	r := api.createMany(ctx, owner, n, 8, ids, func(i int) *scheduleRequest { return e.dueRequest(prefix, expr, i) })
	if r.errors > 0 {
		return deliveryStats{}, counters{}, fmt.Errorf("create %d schedules due at %s: %d failed: %w",
			n, at.Format(time.TimeOnly), r.errors, r.firstErr)
	}
	if left := time.Until(at); left < time.Second {
		return deliveryStats{}, counters{}, fmt.Errorf("creating %d schedules took %s and ended %s before "+
			"their instant, so the burst would start before all exist", n, r.elapsed.Round(time.Second), left.Round(time.Millisecond))
	}
	if err := sleepUntil(ctx, at.Add(-300*time.Millisecond)); err != nil {
		return deliveryStats{}, counters{}, err
	}
	before := e.readCounters()
	col.wait(ctx, time.Until(at)+waitTimeout(n))
	return col.stats(at), before, ctx.Err()
}

// waitBatches waits until the dispatcher has handled at least messages
// messages in all, or until timeout.
func (e *benchEnv) waitBatches(ctx context.Context, messages int, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if _, m, _ := e.batches.snapshot(); m >= messages {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// measureBurst runs scenario 3: first the raw limit (the broker firing n
// plain scheduled messages to a consumer that publishes them to MQTT), then
// n schedules through the product, each burst at an instant of its own.
func (e *benchEnv) measureBurst(ctx context.Context, res *results, rep int, createRate float64, log *slog.Logger) error {
	n := e.opts.burstN
	e.settle(ctx, log)
	raw, err := e.runRawBurst(ctx, res, rep, n)
	if err != nil {
		return err
	}
	log.Info("raw burst", "n", n, "delivered", raw.delivered, "perSecond", math.Round(raw.firesPerSecond()), "p99ms", raw.p99)

	e.settle(ctx, log)
	prefix := fmt.Sprintf("bench/%s/burst%d/", e.runID, rep)
	ids := make([]string, n)
	st, before, err := e.dueBurst(ctx, "bench-burst-"+itoa(rep), prefix, n, createRate, ids)
	if err != nil {
		return err
	}
	// The run records are written after the publish, so the counters are
	// read once the dispatcher has handled every wake-up.
	e.waitBatches(ctx, before.messages+n, 15*time.Second)
	e.recordCPU(res, "burst through mqcron", before.cpu)
	after := e.readCounters()
	log.Info("burst", "n", n, "delivered", st.delivered, "perSecond", math.Round(st.firesPerSecond()), "p99ms", st.p99)

	s := sectionBurst
	res.put("burst.rate", rowSpec{section: s, label: "mqcron: fires delivered per second", unit: "per s",
		target: "≥ 2,000", meets: atLeast(2000)}, st.firesPerSecond())
	res.put("burst.all", rowSpec{section: s, label: "mqcron: instant to last delivery", unit: "s", digits: 2}, st.last.Seconds())
	res.put("burst.p50", rowSpec{section: s, label: "mqcron: fire-to-device p50", unit: "ms"}, st.p50)
	res.put("burst.p99", rowSpec{section: s, label: "mqcron: fire-to-device p99", unit: "ms",
		target: "< 5,000", meets: below(5000)}, st.p99)
	res.put("burst.delivered", rowSpec{section: s, label: fmt.Sprintf("mqcron: fires delivered (of %d)", n), unit: "fires",
		target: fmt.Sprintf("= %d", n), meets: func(v float64) bool { return v == float64(n) }}, float64(st.delivered))
	res.put("burst.dups", rowSpec{section: s, label: "mqcron: duplicate deliveries", unit: "messages"}, float64(st.duplicates))
	res.put("burst.raw.rate", rowSpec{section: s, label: "raw: fires delivered per second", unit: "per s"}, raw.firesPerSecond())
	res.put("burst.raw.all", rowSpec{section: s, label: "raw: instant to last delivery", unit: "s", digits: 2}, raw.last.Seconds())
	res.put("burst.raw.p50", rowSpec{section: s, label: "raw: fire-to-device p50", unit: "ms"}, raw.p50)
	res.put("burst.raw.p99", rowSpec{section: s, label: "raw: fire-to-device p99", unit: "ms"}, raw.p99)
	res.put("burst.raw.delivered", rowSpec{section: s, label: fmt.Sprintf("raw: fires delivered (of %d)", n), unit: "fires"},
		float64(raw.delivered))
	res.put("burst.ratio", rowSpec{section: s, label: "mqcron ÷ raw fires per second", unit: "ratio", digits: 2,
		target: "≥ 0.60", meets: atLeast(0.6)}, st.firesPerSecond()/raw.firesPerSecond())
	e.putDispatchCosts(res, before, after, st.delivered)

	cpu := e.sampleCPU()
	records := e.rawFireRecords(ctx, ids[:min(len(ids), maxRecordSample)])
	e.recordCPU(res, "store: fire records alone", cpu)
	if records.errors > 0 {
		return fmt.Errorf("fire records: %d of %d failed: %w", records.errors, records.n, records.firstErr)
	}
	res.put("burst.records", rowSpec{section: s, label: fmt.Sprintf("store alone: fire records per second (ClaimFire + FinishRun, %d workers)",
		dispatch.DefaultConcurrency), unit: "per s"}, records.throughput())
	res.put("burst.records.ratio", rowSpec{section: s, label: "mqcron fires per second ÷ store alone", unit: "ratio", digits: 2},
		st.firesPerSecond()/records.throughput())
	return nil
}

// maxRecordSample bounds the fires whose records rawFireRecords writes.
const maxRecordSample = 3000

// rawFireRecords writes the DynamoDB records of one fire for each schedule
// id through the store, as the dispatcher does after the publish, with no
// broker, no MQTT and no checks: a claim and the finished run with its
// summary update. It uses a fire instant of its own, so that the claims
// succeed.
func (e *benchEnv) rawFireRecords(ctx context.Context, ids []string) createResult {
	fireAt := time.Now().UTC().Truncate(time.Second).Add(time.Hour)
	return runWorkers(ctx, len(ids), dispatch.DefaultConcurrency, func(ctx context.Context, _, i int) error {
		run := &schedule.Run{
			FireID: schedule.FireID(ids[i], fireAt), ScheduleID: ids[i], Version: 1,
			FireAt: fireAt, Attempt: 1, Topics: 1,
		}
		claimed, err := e.store.ClaimFire(ctx, run, dispatch.DefaultClaimLease)
		if err != nil {
			return err
		}
		if !claimed {
			return fmt.Errorf("claim %s: already claimed", run.FireID)
		}
		run.Outcome = schedule.OutcomeDelivered
		return e.store.FinishRun(ctx, run)
	})
}

// putDispatchCosts records what the dispatcher spent per fire between two
// counter readings: batch size, handler time, DynamoDB requests and log
// bytes. The cost model reads these rows.
func (e *benchEnv) putDispatchCosts(res *results, before, after counters, fires int) {
	s := sectionBurst
	events := float64(after.events - before.events)
	perFire := func(v float64) float64 { return v / float64(fires) }
	res.put("burst.batch", rowSpec{section: s, label: "dispatcher: messages per event (batch size)", unit: "messages", digits: 1},
		float64(after.messages-before.messages)/events)
	res.put("burst.busy", rowSpec{section: s, label: "dispatcher: handler time per event", unit: "ms", digits: 1},
		millis(after.busy-before.busy)/events)
	ops := diffOps(after.ops, before.ops)
	res.put("burst.batchget", rowSpec{section: s, label: "DynamoDB BatchGetItem requests per fire", unit: "requests", digits: 3},
		perFire(float64(ops["BatchGetItem"])))
	res.put("burst.getitem", rowSpec{section: s, label: "DynamoDB GetItem requests per fire", unit: "requests", digits: 3},
		perFire(float64(ops["GetItem"])))
	res.put("burst.writes", rowSpec{section: s, label: "DynamoDB write requests per fire (PutItem, UpdateItem, DeleteItem)", unit: "requests", digits: 3},
		perFire(float64(ops["PutItem"]+ops["UpdateItem"]+ops["DeleteItem"])))
	for _, op := range []string{"BatchGetItem", "PutItem", "UpdateItem"} {
		n := ops[op]
		if n == 0 {
			continue
		}
		res.put("burst.latency."+op, rowSpec{section: s, label: "DynamoDB " + op + " mean latency", unit: "ms", digits: 1},
			millis(after.opTime[op]-before.opTime[op])/float64(n))
	}
	res.put("burst.logbytes", rowSpec{section: s, label: "handler log per fire (Info level, text)", unit: "bytes"},
		perFire(float64(after.logBytes-before.logBytes)))
}

// diffOps returns after minus before for each operation.
func diffOps(after, before map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range after {
		out[k] = v - before[k]
	}
	return out
}

// runRawBurst measures the raw limit of a burst of n fires.
func (e *benchEnv) runRawBurst(ctx context.Context, res *results, rep, n int) (deliveryStats, error) {
	prefix := fmt.Sprintf("bench/%s/rawburst%d/", e.runID, rep)
	col, err := subscribe(e.ep.MQTTAddr, prefix, n)
	if err != nil {
		return deliveryStats{}, err
	}
	defer col.close()
	// The broker stores jobs due at one instant at about 4,000 per second.
	at := e.instantAfter(n, 2000)
	rb, err := e.startRawBurst(ctx, n, at, !e.opts.useAt, prefix)
	if err != nil {
		return deliveryStats{}, err
	}
	defer rb.stop()
	if left := time.Until(at); left < time.Second {
		return deliveryStats{}, fmt.Errorf("raw burst: sending %d messages took %s and ended %s before their instant",
			n, rb.sendDur.Round(time.Second), left.Round(time.Millisecond))
	}
	if err := sleepUntil(ctx, at.Add(-300*time.Millisecond)); err != nil {
		return deliveryStats{}, err
	}
	cpu := e.sampleCPU()
	col.wait(ctx, time.Until(at)+waitTimeout(n))
	e.recordCPU(res, "burst raw", cpu)
	select {
	case err := <-rb.errs:
		return deliveryStats{}, fmt.Errorf("raw burst consumer: %w", err)
	default:
	}
	return col.stats(at), ctx.Err()
}

// measureCapacity runs scenario 2: it creates capacityN schedules with
// distinct far-future instants through the API, reads the broker's memory
// and store size, and then checks that fires are still on time with a
// small burst due at the next instant.
func (e *benchEnv) measureCapacity(ctx context.Context, res *results, rep int, createRate float64, log *slog.Logger) error {
	n := e.opts.capacityN
	c := e.opts.capacityConcurrency
	s := sectionCapacity
	rss0, store0 := e.brokerRSS(), e.schedulerStoreMB()

	cpu := e.sampleCPU()
	api := newAPIClient(e.apiURL, c)
	owner := "bench-capacity-" + itoa(rep)
	kind := fmt.Sprintf("cap%d-", rep)
	var done atomic.Int64
	stop := progress(log, "capacity", n, &done)
	r := runWorkers(ctx, n, c, func(ctx context.Context, _, i int) error {
		defer done.Add(1)
		_, err := api.create(ctx, owner, e.farRequest(kind, i))
		return err
	})
	stop()
	e.recordCPU(res, "capacity create", cpu)
	if r.errors > 0 {
		return fmt.Errorf("capacity: %d of %d creates failed: %w", r.errors, n, r.firstErr)
	}
	log.Info("capacity", "n", n, "elapsed", r.elapsed.Round(time.Millisecond), "perSecond", math.Round(r.throughput()))
	limit := 180 * float64(n) / 100000
	res.put("cap.time", rowSpec{section: s, label: fmt.Sprintf("time to create %s schedules through the API (concurrency %d)", format(float64(n), 0), c),
		unit: "s", digits: 1, target: "< " + format(limit, 1) + " (180 per 100,000)", meets: below(limit)}, r.elapsed.Seconds())
	res.put("cap.rate", rowSpec{section: s, label: "creates", unit: "per s"}, r.throughput())
	res.put("cap.p99", rowSpec{section: s, label: "create latency p99", unit: "ms", digits: 1}, percentile(r.latencies, 0.99))
	res.put("cap.rss0", rowSpec{section: s, label: "broker JVM resident memory before", unit: "MB"}, rss0)
	res.put("cap.rss1", rowSpec{section: s, label: "broker JVM resident memory after", unit: "MB"}, e.brokerRSS())
	res.put("cap.store0", rowSpec{section: s, label: "job scheduler store on disk before", unit: "MB", digits: 1}, store0)
	res.put("cap.store1", rowSpec{section: s, label: "job scheduler store on disk after", unit: "MB", digits: 1}, e.schedulerStoreMB())

	m := e.opts.onTimeN
	prefix := fmt.Sprintf("bench/%s/ontime%d/", e.runID, rep)
	st, _, err := e.dueBurst(ctx, "bench-ontime-"+itoa(rep), prefix, m, createRate, nil)
	if err != nil {
		return fmt.Errorf("capacity: fires on time: %w", err)
	}
	log.Info("capacity fires", "n", m, "delivered", st.delivered, "maxDelayMs", st.maxDelay)
	res.put("cap.ontime", rowSpec{section: s, label: fmt.Sprintf("fires delivered at that size (of %d due at one instant)", m),
		unit: "fires", target: fmt.Sprintf("= %d", m), meets: func(v float64) bool { return v == float64(m) }}, float64(st.delivered))
	res.put("cap.ontime.p50", rowSpec{section: s, label: "fire-to-device delay p50", unit: "ms"}, st.p50)
	res.put("cap.ontime.max", rowSpec{section: s, label: "fire-to-device delay max", unit: "ms",
		target: "≤ 1,000", meets: atMost(1000)}, st.maxDelay)
	return nil
}

// progress logs how many of n operations are done every 15 s until the
// returned function is called.
func progress(log *slog.Logger, label string, n int, done *atomic.Int64) func() {
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(15 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				log.Info("progress", "measurement", label, "done", done.Load(), "of", n)
			}
		}
	}()
	return func() { close(stop); <-finished }
}
