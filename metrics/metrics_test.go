package metrics_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/mqcron/mqcron/metrics"
)

func TestRegistry_WriteEMF(t *testing.T) {
	var r metrics.Registry
	r.Add("Delivered", 2)
	r.Add("Delivered", 1)
	r.Observe("FireDelay", 1500*time.Millisecond)
	var buf bytes.Buffer
	if err := r.WriteEMF(&buf, "mqcron", time.UnixMilli(1700000000000)); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		AWS struct {
			Timestamp         int64 `json:"Timestamp"`
			CloudWatchMetrics []struct {
				Namespace string `json:"Namespace"`
				Metrics   []struct {
					Name string `json:"Name"`
					Unit string `json:"Unit"`
				} `json:"Metrics"`
			} `json:"CloudWatchMetrics"`
		} `json:"_aws"`
		Delivered int64 `json:"Delivered"`
		FireDelay struct {
			Values []float64 `json:"Values"`
		} `json:"FireDelay"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("EMF line %q: %v", buf.String(), err)
	}
	if doc.AWS.Timestamp != 1700000000000 {
		t.Errorf("Timestamp = %d", doc.AWS.Timestamp)
	}
	if doc.Delivered != 3 {
		t.Errorf("Delivered = %d, want 3", doc.Delivered)
	}
	if len(doc.FireDelay.Values) != 1 || doc.FireDelay.Values[0] != 1500 {
		t.Errorf("FireDelay values = %v, want [1500]", doc.FireDelay.Values)
	}
	m := doc.AWS.CloudWatchMetrics[0]
	if m.Namespace != "mqcron" || len(m.Metrics) != 2 || m.Metrics[0].Name != "Delivered" || m.Metrics[1].Unit != "Milliseconds" {
		t.Errorf("metric definitions = %+v", m)
	}

	// The write resets the registry, so the next line covers new events only.
	buf.Reset()
	if err := r.WriteEMF(&buf, "mqcron", time.Now()); err != nil || buf.Len() != 0 {
		t.Errorf("second WriteEMF wrote %q, %v; want nothing", buf.String(), err)
	}
}

func TestRegistry_Snapshot(t *testing.T) {
	var r metrics.Registry
	for i := 1; i <= 100; i++ {
		r.Observe("PublishLatency", time.Duration(i)*time.Millisecond)
	}
	s := r.Snapshot(false)
	got := s.Latency["PublishLatency"]
	if got.Count != 100 || got.P50 != 50 || got.P99 != 99 || got.Max != 100 {
		t.Errorf("summary = %+v, want count 100, p50 50, p99 99, max 100", got)
	}
}
