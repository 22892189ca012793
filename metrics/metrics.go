// Package metrics counts what the dispatcher does and writes the counts as
// CloudWatch Embedded Metric Format lines (in Lambda) or as JSON (the local
// runner's GET /metrics).
package metrics

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"
)

// Registry holds counters and latency samples. The zero value is ready to
// use and safe for concurrent use.
type Registry struct {
	mu       sync.Mutex
	counters map[string]int64
	samples  map[string][]float64
}

// Add adds n to the counter name.
func (r *Registry) Add(name string, n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.counters == nil {
		r.counters = map[string]int64{}
	}
	r.counters[name] += n
}

// Observe records one duration sample in milliseconds under name.
func (r *Registry) Observe(name string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.samples == nil {
		r.samples = map[string][]float64{}
	}
	r.samples[name] = append(r.samples[name], float64(d.Microseconds())/1000)
}

// Snapshot is a copy of the counters and of the sample summaries.
type Snapshot struct {
	Counters map[string]int64   `json:"counters"`
	Latency  map[string]Summary `json:"latencyMs"`
}

// Summary describes the samples of one latency metric.
type Summary struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// Snapshot returns the current values. With reset set it also clears
// them, so that the next snapshot covers only what happened since.
func (r *Registry) Snapshot(reset bool) Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Snapshot{Counters: map[string]int64{}, Latency: map[string]Summary{}}
	for k, v := range r.counters {
		s.Counters[k] = v
	}
	for k, v := range r.samples {
		s.Latency[k] = summarize(v)
	}
	if reset {
		r.counters, r.samples = nil, nil
	}
	return s
}

// Counter returns the current value of one counter.
func (r *Registry) Counter(name string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counters[name]
}

func summarize(v []float64) Summary {
	sorted := slices.Clone(v)
	sort.Float64s(sorted)
	at := func(q float64) float64 { return sorted[int(q*float64(len(sorted)-1))] }
	return Summary{Count: len(v), P50: at(0.50), P99: at(0.99), Max: sorted[len(sorted)-1]}
}

// WriteEMF writes the counters and samples gathered since the last call
// as one CloudWatch Embedded Metric Format line and resets them.
func (r *Registry) WriteEMF(w io.Writer, namespace string, now time.Time) error {
	r.mu.Lock()
	counters, samples := r.counters, r.samples
	r.counters, r.samples = nil, nil
	r.mu.Unlock()
	if len(counters) == 0 && len(samples) == 0 {
		return nil
	}
	type metric struct {
		Name string `json:"Name"`
		Unit string `json:"Unit"`
	}
	doc := map[string]any{}
	var defs []metric
	for name, v := range counters {
		doc[name] = v
		defs = append(defs, metric{name, "Count"})
	}
	for name, v := range samples {
		doc[name] = map[string]any{"Values": v, "Counts": ones(len(v))}
		defs = append(defs, metric{name, "Milliseconds"})
	}
	sort.Slice(defs, func(i, j int) bool { return defs[i].Name < defs[j].Name })
	doc["_aws"] = map[string]any{
		"Timestamp": now.UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  namespace,
			"Dimensions": [][]string{{}},
			"Metrics":    defs,
		}},
	}
	line, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	_, err = w.Write(append(line, '\n'))
	return err
}

func ones(n int) []int {
	c := make([]int, n)
	for i := range c {
		c[i] = 1
	}
	return c
}

// Handler serves the registry's snapshot as JSON.
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(r.Snapshot(false))
	})
}
