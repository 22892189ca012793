package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mqcron/mqcron/localstack"
)

// testServers returns the addresses of the servers that `make test`
// started. It skips the test when they are not set, unless
// MQCRON_REQUIRE_SERVERS=1 makes that a failure.
func testServers(tb testing.TB) (localstack.Endpoints, string) {
	tb.Helper()
	ep := localstack.Endpoints{
		STOMPAddr:   os.Getenv("MQCRON_TEST_STOMP"),
		DynamoDBURL: os.Getenv("MQCRON_TEST_DYNAMO"),
		MQTTAddr:    os.Getenv("MQCRON_TEST_MQTT"),
	}
	if ep.STOMPAddr != "" && ep.DynamoDBURL != "" && ep.MQTTAddr != "" {
		return ep, os.Getenv("MQCRON_TEST_SERVERS_DIR")
	}
	if os.Getenv("MQCRON_REQUIRE_SERVERS") == "1" {
		tb.Fatal("MQCRON_TEST_STOMP, MQCRON_TEST_DYNAMO or MQCRON_TEST_MQTT not set but MQCRON_REQUIRE_SERVERS=1")
	}
	tb.Skip("MQCRON_TEST_STOMP, MQCRON_TEST_DYNAMO and MQCRON_TEST_MQTT not set; run make test")
	return ep, ""
}

// TestMeasure_Smoke runs every scenario once with tiny counts on the test
// servers and checks that each figure is produced and every fire arrived.
// It never checks a time or a rate against a target.
func TestMeasure_Smoke(t *testing.T) {
	ep, dir := testServers(t)
	o, err := parseFlags([]string{"-smoke"})
	if err != nil {
		t.Fatal(err)
	}
	o.createN, o.capacityN, o.onTimeN, o.burstN = 20, 100, 5, 50
	o.window = 100 * time.Millisecond
	// Other tests load the shared servers, so they may never be idle.
	o.idleWait = 0
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	res := newResults()
	if err := measure(ctx, o, ep, dir, res, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatalf("measure: %v", err)
	}

	counts := map[string]float64{
		"burst.delivered":     float64(o.burstN),
		"burst.raw.delivered": float64(o.burstN),
		"cap.ontime":          float64(o.onTimeN),
		"burst.dups":          0,
	}
	for key, want := range counts {
		if got := res.median(key); got != want {
			t.Errorf("%s = %v, want %v", key, got, want)
		}
	}
	for _, key := range []string{
		"c1.api.rate", "c8.api.rate", "c1.raw.rate", "c8.raw.rate", "c1.ratio", "c8.ratio",
		"c1.api.p99", "c8.daily.UTC.rate", "c8.daily.Europe/Berlin.rate", "cap.time", "cap.rate", "burst.rate", "burst.raw.rate", "burst.ratio",
		"burst.p99", "burst.batch", "burst.busy", "burst.writes",
	} {
		if got := res.median(key); math.IsNaN(got) || got <= 0 {
			t.Errorf("%s = %v, want a positive number", key, got)
		}
	}
	if got := res.median("burst.batchget"); got <= 0 || got > 1 {
		t.Errorf("BatchGetItem requests per fire = %v, want more than 0 and at most 1", got)
	}

	var page bytes.Buffer
	writePage(&page, res, o, machine{commit: "test", command: "go test"})
	for _, want := range []string{"### " + sectionCreate, "### " + sectionCapacity, "### " + sectionBurst, "Cost per fire", "| 100,000,000 |"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page.String(), "| 100,000,000 | n/a") {
		t.Errorf("cost table has no value for 100 million fires:\n%s", page.String())
	}
}

func TestParseFlags_Scenarios(t *testing.T) {
	o, err := parseFlags([]string{"-scenarios", "burst, capacity"})
	if err != nil {
		t.Fatal(err)
	}
	if len(o.scenarios) != 2 || !o.scenarios["burst"] || !o.scenarios["capacity"] {
		t.Errorf("scenarios = %v, want burst and capacity", o.scenarios)
	}
	if o, err = parseFlags(nil); err != nil {
		t.Fatal(err)
	}
	if len(o.scenarios) != len(scenarioNames) {
		t.Errorf("default scenarios = %v, want all of %v", o.scenarios, scenarioNames)
	}
	_, err = parseFlags([]string{"-scenarios", "create,bursts"})
	if err == nil || !strings.Contains(err.Error(), `unknown scenario "bursts"`) {
		t.Errorf("error = %v, want it to name the unknown scenario", err)
	}
}
