package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// createResult is the outcome of creating n schedules.
type createResult struct {
	n         int
	errors    int
	firstErr  error
	elapsed   time.Duration
	latencies []float64 // milliseconds, one per successful request
}

// throughput returns the successful creates per second.
func (r createResult) throughput() float64 {
	return rate(r.n-r.errors, r.elapsed)
}

// runWorkers calls op(i) for i in [0, n) from concurrency goroutines and
// records the latency of each call.
func runWorkers(ctx context.Context, n, concurrency int, op func(ctx context.Context, worker, i int) error) createResult {
	var (
		next atomic.Int64
		mu   sync.Mutex
		res  = createResult{n: n, latencies: make([]float64, 0, n)}
		wg   sync.WaitGroup
	)
	start := time.Now()
	for w := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				err := op(ctx, w, i)
				lat := millis(time.Since(t0))
				mu.Lock()
				if err != nil {
					res.errors++
					if res.firstErr == nil {
						res.firstErr = err
					}
				} else {
					res.latencies = append(res.latencies, lat)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	// Calls that a cancelled ctx stopped count as failures.
	if skipped := n - len(res.latencies) - res.errors; skipped > 0 {
		res.errors += skipped
		if res.firstErr == nil {
			res.firstErr = ctx.Err()
		}
		if res.firstErr == nil {
			res.firstErr = fmt.Errorf("%d calls never ran (concurrency %d)", skipped, concurrency)
		}
	}
	return res
}

// scheduleRequest is the body of POST /schedules.
type scheduleRequest struct {
	Name                       string        `json:"name"`
	Target                     requestTarget `json:"target"`
	ScheduleExpression         string        `json:"scheduleExpression"`
	ScheduleExpressionTimezone string        `json:"scheduleExpressionTimezone"`
}

type requestTarget struct {
	Topics  []string        `json:"topics"`
	QoS     int             `json:"qos"`
	Payload json.RawMessage `json:"payload"`
}

// apiClient creates schedules through the REST API.
type apiClient struct {
	url  string
	http *http.Client
}

func newAPIClient(url string, concurrency int) *apiClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = concurrency
	return &apiClient{url: url, http: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// create sends one POST /schedules as owner, expects 201 Created and
// returns the new schedule's id.
func (c *apiClient) create(ctx context.Context, owner string, req *scheduleRequest) (string, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return "", err
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+"/schedules", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Mqcron-Dev-Owner", owner)
	resp, err := c.http.Do(r)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("POST /schedules: status %d: %s", resp.StatusCode, truncate(string(data), 300))
	}
	var created struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(data, &created); err != nil || created.ID == "" {
		return "", fmt.Errorf("POST /schedules: response without an id: %s", truncate(string(data), 300))
	}
	return created.ID, nil
}

// createMany creates n schedules of owner at the given concurrency;
// request(i) returns the body of the i-th. When ids is not nil, it
// receives the id of the i-th schedule at index i.
func (c *apiClient) createMany(ctx context.Context, owner string, n, concurrency int, ids []string, request func(i int) *scheduleRequest) createResult {
	return runWorkers(ctx, n, concurrency, func(ctx context.Context, _, i int) error {
		id, err := c.create(ctx, owner, request(i))
		if ids != nil {
			ids[i] = id
		}
		return err
	})
}

// benchPayload is the payload of every bench schedule: about 60 bytes of
// JSON, with the fire instant filled in by the dispatcher.
func benchPayload(i int) json.RawMessage {
	return json.RawMessage(`{"cmd":"report","seq":` + strconv.Itoa(i) + `,"at":"{{fireTime}}"}`)
}

// collector subscribes to topic prefix + "#" at QoS 1 and records when
// the message for each index arrived. Topics are prefix + index.
type collector struct {
	prefix string
	client mqtt.Client

	mu     sync.Mutex
	recv   []time.Time
	unique int
	dups   int
	other  int
	all    chan struct{} // closed when every index has arrived
}

// subscribe connects a subscriber that expects n messages under prefix.
func subscribe(addr, prefix string, n int) (*collector, error) {
	c := &collector{prefix: prefix, recv: make([]time.Time, n), all: make(chan struct{})}
	if n == 0 {
		close(c.all)
	}
	opts := mqtt.NewClientOptions().
		AddBroker("tcp://" + addr).
		SetClientID("bench-sub-" + randomHex(4)).
		SetCleanSession(true).
		SetOrderMatters(false).
		SetAutoReconnect(false)
	c.client = mqtt.NewClient(opts)
	if tok := c.client.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return nil, fmt.Errorf("mqtt: connect subscriber: %v", tok.Error())
	}
	tok := c.client.Subscribe(prefix+"#", 1, c.handle)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		c.client.Disconnect(0)
		return nil, fmt.Errorf("mqtt: subscribe to %s#: %v", prefix, tok.Error())
	}
	return c, nil
}

func (c *collector) handle(_ mqtt.Client, m mqtt.Message) {
	at := time.Now()
	i, err := strconv.Atoi(strings.TrimPrefix(m.Topic(), c.prefix))
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err != nil || i < 0 || i >= len(c.recv):
		c.other++
	case !c.recv[i].IsZero():
		c.dups++
	default:
		c.recv[i] = at
		c.unique++
		if c.unique == len(c.recv) {
			close(c.all)
		}
	}
}

// wait returns when every message arrived, after timeout, or when ctx
// ends.
func (c *collector) wait(ctx context.Context, timeout time.Duration) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-c.all:
	case <-t.C:
	case <-ctx.Done():
	}
}

// close disconnects the subscriber.
func (c *collector) close() {
	c.client.Disconnect(100)
}

// deliveryStats are the arrivals of one burst relative to its fire instant.
type deliveryStats struct {
	expected, delivered, duplicates int
	last                            time.Duration // from the instant to the last arrival
	p50, p99, maxDelay              float64       // fire-to-device delay in milliseconds
}

// stats returns the arrivals relative to the fire instant at.
func (c *collector) stats(at time.Time) deliveryStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := deliveryStats{expected: len(c.recv), delivered: c.unique, duplicates: c.dups}
	delays := make([]float64, 0, c.unique)
	for _, t := range c.recv {
		if t.IsZero() {
			continue
		}
		d := t.Sub(at)
		delays = append(delays, millis(d))
		s.last = max(s.last, d)
	}
	s.p50 = percentile(delays, 0.50)
	s.p99 = percentile(delays, 0.99)
	s.maxDelay = percentile(delays, 1)
	return s
}

// firesPerSecond returns the delivered fires per second from the fire
// instant to the last arrival.
func (s deliveryStats) firesPerSecond() float64 {
	return rate(s.delivered, s.last)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// sleepUntil waits until t or until ctx ends.
func sleepUntil(ctx context.Context, t time.Time) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
