package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/mqcron/mqcron/apitest"
	"github.com/mqcron/mqcron/schedule"
)

func TestHandler_OwnerIsolation(t *testing.T) {
	t.Parallel()
	s := apitest.MustStart(t, apitest.Options{})
	alice, bob := s.Client("alice"), s.Client("bob")
	for _, name := range []string{"a-first", "a-second", "a-third"} {
		mustCreate(t, alice, scheduleBody(name, s.Topics+name, yearly))
	}
	target := mustCreate(t, alice, scheduleBody("shared-name", s.Topics+"x", yearly))
	path := "/schedules/" + target.ID

	// Every endpoint that names a schedule returns 404 to another owner,
	// exactly as for an id that does not exist.
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		opts   []apitest.RequestOption
	}{
		{"Get", http.MethodGet, path, "", nil},
		{"Replace", http.MethodPut, path, scheduleBody("stolen", s.Topics+"y", yearly), nil},
		{"ReplaceIfMatch", http.MethodPut, path, scheduleBody("stolen", s.Topics+"y", yearly), []apitest.RequestOption{apitest.Header("If-Match", `"1"`)}},
		{"Patch", http.MethodPatch, path, `{"description":"stolen"}`, nil},
		{"Delete", http.MethodDelete, path, "", nil},
		{"DeleteIfMatch", http.MethodDelete, path, "", []apitest.RequestOption{apitest.Header("If-Match", `"1"`)}},
		{"Pause", http.MethodPost, path + "/pause", `{"note":"stolen"}`, nil},
		{"Resume", http.MethodPost, path + "/resume", "", nil},
		{"Trigger", http.MethodPost, path + "/trigger", "", nil},
		{"Runs", http.MethodGet, path + "/runs", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := bob.Do(t, tt.method, tt.path, tt.body, tt.opts...)
			if resp.Status != http.StatusNotFound {
				t.Fatalf("status = %d, want 404: %s", resp.Status, resp.Body)
			}
			p := decodeProblem(t, resp)
			missing := bob.Do(t, http.MethodGet, "/schedules/zzzzzzzzzzzzzzzz", "")
			if want := decodeProblem(t, missing); p.Detail != want.Detail || p.Title != want.Title {
				t.Errorf("problem = %+v, want the same as for a missing id: %+v", p, want)
			}
		})
	}

	t.Run("List", func(t *testing.T) {
		for _, query := range []string{"", "?namePrefix=a-", "?topicPrefix=" + s.Topics, "?state=ENABLED"} {
			var list scheduleList
			if resp := bob.DoJSON(t, http.MethodGet, "/schedules"+query, nil, &list); resp.Status != http.StatusOK {
				t.Fatalf("list%s status = %d", query, resp.Status)
			}
			if len(list.Schedules) != 0 || list.NextToken != "" {
				t.Errorf("bob's list%s = %d schedules, token %q, want none", query, len(list.Schedules), list.NextToken)
			}
		}
	})

	t.Run("ListWithOtherOwnersToken", func(t *testing.T) {
		var page scheduleList
		alice.DoJSON(t, http.MethodGet, "/schedules?limit=1", nil, &page)
		if page.NextToken == "" {
			t.Fatal("alice's first page has no nextToken")
		}
		resp := bob.Do(t, http.MethodGet, "/schedules?nextToken="+page.NextToken, "")
		if resp.Status != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400: %s", resp.Status, resp.Body)
		}
		decodeProblem(t, resp)
	})

	t.Run("DefaultOwner", func(t *testing.T) {
		// Without the header the owner is "local", another tenant.
		var list scheduleList
		s.Client("").DoJSON(t, http.MethodGet, "/schedules", nil, &list)
		if len(list.Schedules) != 0 {
			t.Errorf("owner local lists %d schedules, want 0", len(list.Schedules))
		}
	})

	t.Run("SameNameOtherOwner", func(t *testing.T) {
		sched := mustCreate(t, bob, scheduleBody("shared-name", s.Topics+"z", yearly))
		if sched.Owner != "bob" || sched.ID == target.ID {
			t.Errorf("bob's schedule owner %q id %s, want bob and a new id", sched.Owner, sched.ID)
		}
	})

	t.Run("ErrInvalidOwnerHeader", func(t *testing.T) {
		resp := s.Client("has space").Do(t, http.MethodGet, "/schedules", "", apitest.BreaksContract())
		if resp.Status != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400: %s", resp.Status, resp.Body)
		}
		decodeProblem(t, resp)
	})

	// Alice's schedule is unchanged and never ran.
	got := mustGet(t, alice, target.ID)
	if got.Version != 1 || got.State != schedule.StateEnabled || got.Description != "" || got.Name != "shared-name" {
		t.Errorf("alice's schedule = version %d state %s description %q name %q, want it unchanged",
			got.Version, got.State, got.Description, got.Name)
	}
	var runs runList
	alice.DoJSON(t, http.MethodGet, path+"/runs", nil, &runs)
	if len(runs.Runs) != 0 || got.RunCount != 0 {
		t.Errorf("alice's schedule has %d runs and runCount %d after bob's trigger, want 0", len(runs.Runs), got.RunCount)
	}
	var list scheduleList
	alice.DoJSON(t, http.MethodGet, "/schedules", nil, &list)
	if len(list.Schedules) != 4 {
		t.Errorf("alice lists %d schedules, want 4", len(list.Schedules))
	}
}
