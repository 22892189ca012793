package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mqcron/mqcron/activemq"
	"github.com/mqcron/mqcron/apitest"
	"github.com/mqcron/mqcron/canary"
	"github.com/mqcron/mqcron/dynamo"
	"github.com/mqcron/mqcron/localstack"
	"github.com/mqcron/mqcron/schedule"
	"github.com/mqcron/mqcron/scheduler"
)

// getCanary serves one GET /health/canary from h and returns the status
// code and the decoded state.
func getCanary(t *testing.T, h http.Handler) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health/canary", nil))
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("decode %q: %v", rec.Body.String(), err)
	}
	return rec.Code, body
}

func TestCanaryHandler_States(t *testing.T) {
	stompAddr, dynamoURL, _ := apitest.Servers(t)
	ctx := context.Background()
	table, queue := apitest.RandomName("canary-http-"), apitest.RandomName("canary.http.")
	if err := localstack.EnsureTable(ctx, dynamoURL, table); err != nil {
		t.Fatalf("create table: %v", err)
	}
	store := dynamo.New(localstack.NewDynamoDBClient(dynamoURL), table)
	broker := activemq.New(activemq.Config{Addr: stompAddr, Queue: queue})
	defer broker.Close()
	defer func() {
		// Nothing consumes the queue after the test, so the canary's job goes.
		jobs, err := broker.Browse(context.Background())
		if err != nil {
			t.Errorf("browse jobs for cleanup: %v", err)
		}
		for _, j := range jobs {
			if strings.HasSuffix(j.Destination, queue) {
				_ = broker.RemoveJob(context.Background(), j.ID)
			}
		}
	}()
	svc := scheduler.New(scheduler.Config{Store: store, Broker: broker})
	h := canaryHandler(store)

	code, body := getCanary(t, h)
	if code != http.StatusServiceUnavailable || body["state"] != string(canary.StateMissing) {
		t.Errorf("before Ensure: %d %v, want 503 MISSING", code, body)
	}

	if err := canary.Ensure(ctx, svc); err != nil {
		t.Fatalf("ensure: %v", err)
	}
	code, body = getCanary(t, h)
	if code != http.StatusOK || body["state"] != string(canary.StateOK) {
		t.Errorf("new canary: %d %v, want 200 OK", code, body)
	}
	id, _ := body["scheduleId"].(string)
	if id == "" {
		t.Fatalf("new canary: no scheduleId in %v", body)
	}

	if _, err := svc.SetState(ctx, canary.Owner, id, 0, schedule.StateDisabled, "paused by the test"); err != nil {
		t.Fatalf("pause canary: %v", err)
	}
	code, body = getCanary(t, h)
	if code != http.StatusServiceUnavailable || body["state"] != string(canary.StateDisabled) {
		t.Errorf("paused canary: %d %v, want 503 DISABLED", code, body)
	}

	// A store that cannot be reached is reported without its error text.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	down := dynamo.New(localstack.NewDynamoDBClient(closed), table)
	code, body = getCanary(t, canaryHandler(down))
	if code != http.StatusServiceUnavailable || body["state"] != "UNKNOWN" {
		t.Errorf("store down: %d %v, want 503 UNKNOWN", code, body)
	}
	if msg, _ := body["message"].(string); strings.Contains(msg, "127.0.0.1") {
		t.Errorf("store down: message %q shows the store's address", msg)
	}
}
