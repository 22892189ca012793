package dispatch

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mqcron/mqcron/schedule"
)

func TestDispatcher_BackoffBounds(t *testing.T) {
	d := New(Config{RetryBase: time.Second, RetryMax: time.Minute})
	for n := 1; n <= 40; n++ {
		step := time.Minute
		if n < 7 {
			step = time.Second << (n - 1)
		}
		for i := 0; i < 20; i++ {
			got := d.backoff(n)
			if got < step/2 || got > step {
				t.Fatalf("backoff(%d) = %s, want within [%s, %s]", n, got, step/2, step)
			}
		}
	}
}

func TestDecode(t *testing.T) {
	body := `{"kind":"schedule","scheduleId":"abc","version":3,"stamp":1700000000000}`
	m := events.ActiveMQMessage{
		MessageType: "jms/bytes-message",
		Timestamp:   1764806400123,
		Data:        base64.StdEncoding.EncodeToString([]byte(body)),
		Properties:  map[string]string{"scheduledJobId": "ID:job-1"},
	}
	w, err := decode(m)
	if err != nil {
		t.Fatal(err)
	}
	if w.body.ScheduleID != "abc" || w.body.Version != 3 || w.body.Stamp != 1700000000000 {
		t.Errorf("body = %+v", w.body)
	}
	if w.jobID != "ID:job-1" {
		t.Errorf("jobID = %q, want ID:job-1", w.jobID)
	}
	if want := time.UnixMilli(1764806400123); !w.wake.Equal(want) {
		t.Errorf("wake = %s, want %s", w.wake, want)
	}
}

func TestDecode_Rejects(t *testing.T) {
	tests := []struct{ name, data string }{
		{"NotBase64", "%%%"},
		{"NotJSON", base64.StdEncoding.EncodeToString([]byte("hello"))},
		{"NoScheduleID", base64.StdEncoding.EncodeToString([]byte(`{"kind":"schedule","version":1}`))},
		{"LongScheduleID", base64.StdEncoding.EncodeToString([]byte(`{"kind":"schedule","version":1,"scheduleId":"` + strings.Repeat("x", 2000) + `"}`))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decode(events.ActiveMQMessage{Data: tt.data, Timestamp: 1}); err == nil {
				t.Error("decode = nil error, want one")
			}
		})
	}
}

func TestRenderPayload(t *testing.T) {
	at := time.Date(2026, 12, 4, 7, 0, 0, 0, time.UTC)
	run := &schedule.Run{FireID: schedule.FireID("abc", at), FireAt: at, Attempt: 2}
	sched := &schedule.Schedule{ID: "abc", Target: schedule.Target{Payload: json.RawMessage(`{"id":"{{fireId}}","n":{{attempt}}}`)}}
	got, err := renderPayload(sched, run)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"id":"abc@20261204T070000.000Z","n":2}`; string(got) != want {
		t.Errorf("payload = %s, want %s", got, want)
	}

	binary := &schedule.Schedule{ID: "abc", Target: schedule.Target{PayloadBase64: base64.StdEncoding.EncodeToString([]byte{0, 1, 2})}}
	got, err = renderPayload(binary, run)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "\x00\x01\x02" {
		t.Errorf("binary payload = %q, want 00 01 02", got)
	}
}
