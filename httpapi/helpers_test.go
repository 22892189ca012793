package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/mqcron/mqcron/apitest"
	"github.com/mqcron/mqcron/schedule"
)

// problem is the problem+json body of an error response.
type problem struct {
	Type   string                `json:"type"`
	Title  string                `json:"title"`
	Status int                   `json:"status"`
	Detail string                `json:"detail"`
	Errors []schedule.FieldError `json:"errors"`
}

// scheduleList is the body of GET /schedules.
type scheduleList struct {
	Schedules []*schedule.Schedule `json:"schedules"`
	NextToken string               `json:"nextToken"`
}

// runList is the body of GET /schedules/{id}/runs.
type runList struct {
	Runs []*schedule.Run `json:"runs"`
}

// yearly fires once a year, so that tests that need an enabled schedule
// get no fire while they run.
const yearly = "0 0 1 1 *"

// scheduleBody returns a create request body for one topic.
func scheduleBody(name, topic, expression string) string {
	return fmt.Sprintf(`{"name":%q,"scheduleExpression":%q,"target":{"topics":[%q],"qos":1,"payload":{"cmd":"ping","fire":"{{fireId}}"}}}`,
		name, expression, topic)
}

// mustCreate creates a schedule and fails the test unless the API
// returns 201.
func mustCreate(tb testing.TB, c *apitest.Client, body string, opts ...apitest.RequestOption) *schedule.Schedule {
	tb.Helper()
	var sched schedule.Schedule
	resp := c.Do(tb, http.MethodPost, "/schedules", body, opts...)
	if resp.Status != http.StatusCreated {
		tb.Fatalf("create status = %d, want 201: %s", resp.Status, resp.Body)
	}
	resp.Decode(tb, &sched)
	return &sched
}

// mustGet returns the schedule id and fails the test unless the API
// returns 200.
func mustGet(tb testing.TB, c *apitest.Client, id string) *schedule.Schedule {
	tb.Helper()
	var sched schedule.Schedule
	resp := c.Do(tb, http.MethodGet, "/schedules/"+id, "")
	if resp.Status != http.StatusOK {
		tb.Fatalf("get %s status = %d, want 200: %s", id, resp.Status, resp.Body)
	}
	resp.Decode(tb, &sched)
	return &sched
}

// decodeProblem decodes an error response and checks its status field
// against the HTTP status.
func decodeProblem(tb testing.TB, resp *apitest.Response) problem {
	tb.Helper()
	var p problem
	resp.Decode(tb, &p)
	if p.Status != resp.Status {
		tb.Errorf("problem status = %d, HTTP status = %d", p.Status, resp.Status)
	}
	if p.Detail == "" {
		tb.Errorf("problem %d has no detail: %s", resp.Status, resp.Body)
	}
	return p
}

// checkNextFires checks that fires holds want increasing instants after
// the instant after.
func checkNextFires(tb testing.TB, fires []time.Time, want int, after time.Time) {
	tb.Helper()
	if len(fires) != want {
		tb.Fatalf("nextFires has %d entries, want %d: %v", len(fires), want, fires)
	}
	for i, f := range fires {
		if !f.After(after) {
			tb.Errorf("nextFires[%d] = %s, want after %s", i, f, after)
		}
		if i > 0 && !f.After(fires[i-1]) {
			tb.Errorf("nextFires[%d] = %s is not after nextFires[%d] = %s", i, f, i-1, fires[i-1])
		}
	}
}

// waitFor polls check every 200 ms until it returns true or d passes,
// and reports whether it returned true.
func waitFor(d time.Duration, check func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if check() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
}
