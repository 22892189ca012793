package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mqcron/mqcron/apitest"
	"github.com/mqcron/mqcron/schedule"
)

func TestHandler_PauseResumeSchedule(t *testing.T) {
	t.Parallel()
	s := apitest.MustStart(t, apitest.Options{})
	c := s.Client("alice")
	created := mustCreate(t, c, scheduleBody("pulse", s.Topics+"a", "rate(1 second)"))

	// The schedule fires before the pause.
	if !waitFor(10*time.Second, func() bool { return mustGet(t, c, created.ID).RunCount >= 1 }) {
		t.Fatal("no run within 10 s of creating a rate(1 second) schedule")
	}

	t.Run("Pause", func(t *testing.T) {
		resp := c.Do(t, http.MethodPost, "/schedules/"+created.ID+"/pause", `{"note":"maintenance window"}`, apitest.Header("If-Match", `"1"`))
		if resp.Status != http.StatusOK {
			t.Fatalf("status = %d, want 200: %s", resp.Status, resp.Body)
		}
		if got := resp.Header.Get("ETag"); got != `"2"` {
			t.Errorf("ETag = %q, want %q", got, `"2"`)
		}
		var paused schedule.Schedule
		resp.Decode(t, &paused)
		if paused.State != schedule.StateDisabled || paused.StateNote != "maintenance window" {
			t.Errorf("state %s note %q, want DISABLED and the note", paused.State, paused.StateNote)
		}
		if len(paused.NextFires) != 0 {
			t.Errorf("nextFires = %v, want none while paused", paused.NextFires)
		}

		// A fire already being dispatched may still finish; after that no
		// run is added.
		time.Sleep(time.Second)
		before := mustGet(t, c, created.ID).RunCount
		time.Sleep(3 * time.Second)
		if after := mustGet(t, c, created.ID).RunCount; after != before {
			t.Errorf("runCount went from %d to %d while paused", before, after)
		}
	})

	t.Run("Resume", func(t *testing.T) {
		resp := c.Do(t, http.MethodPost, "/schedules/"+created.ID+"/resume", `{"note":"done"}`)
		if resp.Status != http.StatusOK {
			t.Fatalf("status = %d, want 200: %s", resp.Status, resp.Body)
		}
		var resumed schedule.Schedule
		resp.Decode(t, &resumed)
		if resumed.State != schedule.StateEnabled || resumed.StateNote != "done" || resumed.Version != 3 {
			t.Errorf("state %s note %q version %d, want ENABLED done 3", resumed.State, resumed.StateNote, resumed.Version)
		}
		checkNextFires(t, resumed.NextFires, 5, time.Now().Add(-time.Second))
		before := resumed.RunCount
		if !waitFor(10*time.Second, func() bool { return mustGet(t, c, created.ID).RunCount > before }) {
			t.Error("no run within 10 s of resuming")
		}
	})

	t.Run("ResumeAgainKeepsVersion", func(t *testing.T) {
		resp := c.Do(t, http.MethodPost, "/schedules/"+created.ID+"/resume", `{"note":"done"}`)
		if resp.Status != http.StatusOK {
			t.Fatalf("status = %d, want 200: %s", resp.Status, resp.Body)
		}
		if got := resp.Header.Get("ETag"); got != `"3"` {
			t.Errorf("ETag = %q, want %q: nothing changed", got, `"3"`)
		}
	})

	t.Run("NoBody", func(t *testing.T) {
		resp := c.Do(t, http.MethodPost, "/schedules/"+created.ID+"/pause", "")
		if resp.Status != http.StatusOK {
			t.Fatalf("status = %d, want 200: %s", resp.Status, resp.Body)
		}
		var paused schedule.Schedule
		resp.Decode(t, &paused)
		if paused.State != schedule.StateDisabled || paused.StateNote != "" {
			t.Errorf("state %s note %q, want DISABLED and no note", paused.State, paused.StateNote)
		}
	})

	t.Run("ErrStaleETag", func(t *testing.T) {
		resp := c.Do(t, http.MethodPost, "/schedules/"+created.ID+"/resume", "", apitest.Header("If-Match", `"1"`))
		if resp.Status != http.StatusPreconditionFailed {
			t.Fatalf("status = %d, want 412: %s", resp.Status, resp.Body)
		}
		decodeProblem(t, resp)
		if got := mustGet(t, c, created.ID); got.State != schedule.StateDisabled {
			t.Errorf("state = %s after 412, want DISABLED", got.State)
		}
	})

	t.Run("ErrLongNote", func(t *testing.T) {
		body := `{"note":"` + strings.Repeat("n", 600) + `"}`
		resp := c.Do(t, http.MethodPost, "/schedules/"+created.ID+"/resume", body, apitest.BreaksContract())
		if resp.Status != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400: %s", resp.Status, resp.Body)
		}
		if p := decodeProblem(t, resp); len(p.Errors) != 1 || p.Errors[0].Pointer != "/note" {
			t.Errorf("errors = %+v, want one on /note", p.Errors)
		}
	})

	t.Run("ErrUnknownField", func(t *testing.T) {
		resp := c.Do(t, http.MethodPost, "/schedules/"+created.ID+"/resume", `{"reason":"x"}`, apitest.BreaksContract())
		if resp.Status != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400: %s", resp.Status, resp.Body)
		}
		decodeProblem(t, resp)
	})

	t.Run("ErrUnsupportedMediaType", func(t *testing.T) {
		resp := c.Do(t, http.MethodPost, "/schedules/"+created.ID+"/pause", "note=x",
			apitest.Header("Content-Type", "application/x-www-form-urlencoded"), apitest.BreaksContract())
		if resp.Status != http.StatusUnsupportedMediaType {
			t.Fatalf("status = %d, want 415: %s", resp.Status, resp.Body)
		}
		decodeProblem(t, resp)
	})

	t.Run("ErrBodyTooLarge", func(t *testing.T) {
		body := `{"note":"` + strings.Repeat("n", 300*1024) + `"}`
		resp := c.Do(t, http.MethodPost, "/schedules/"+created.ID+"/pause", body, apitest.BreaksContract())
		if resp.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status = %d, want 413: %s", resp.Status, resp.Body)
		}
		decodeProblem(t, resp)
	})
}

func TestHandler_TriggerSchedule(t *testing.T) {
	t.Parallel()
	s := apitest.MustStart(t, apitest.Options{})
	c := s.Client("alice")
	created := mustCreate(t, c, scheduleBody("on-demand", s.Topics+"a", yearly))

	var result struct {
		FireAt time.Time `json:"fireAt"`
		FireID string    `json:"fireId"`
	}
	before := time.Now().Add(-time.Second)
	resp := c.DoJSON(t, http.MethodPost, "/schedules/"+created.ID+"/trigger", nil, &result)
	if resp.Status != http.StatusAccepted {
		t.Fatalf("status = %d, want 202: %s", resp.Status, resp.Body)
	}
	if result.FireAt.Before(before) || result.FireAt.After(time.Now()) {
		t.Errorf("fireAt = %s, want about now", result.FireAt)
	}
	if want := schedule.FireID(created.ID, result.FireAt); result.FireID != want {
		t.Errorf("fireId = %q, want %q", result.FireID, want)
	}

	// The dispatcher delivers the fire and records the run.
	var run *schedule.Run
	waitFor(10*time.Second, func() bool {
		var runs runList
		c.DoJSON(t, http.MethodGet, "/schedules/"+created.ID+"/runs", nil, &runs)
		for _, r := range runs.Runs {
			if r.FireID == result.FireID && r.Outcome == schedule.OutcomeDelivered {
				run = r
				return true
			}
		}
		return false
	})
	if run == nil {
		t.Fatalf("no DELIVERED run with fire id %s within 10 s", result.FireID)
	}
	if run.ScheduleID != created.ID || run.Topics != 1 || run.Version != 1 || run.Attempt != 1 {
		t.Errorf("run = %+v, want schedule %s, 1 topic, version 1, attempt 1", run, created.ID)
	}
	got := mustGet(t, c, created.ID)
	if got.RunCount != 1 || got.LastRun == nil || got.LastRun.Outcome != schedule.OutcomeDelivered {
		t.Errorf("runCount %d lastRun %+v, want 1 DELIVERED", got.RunCount, got.LastRun)
	}

	t.Run("Paused", func(t *testing.T) {
		if resp := c.Do(t, http.MethodPost, "/schedules/"+created.ID+"/pause", ""); resp.Status != http.StatusOK {
			t.Fatalf("pause status = %d", resp.Status)
		}
		resp := c.DoJSON(t, http.MethodPost, "/schedules/"+created.ID+"/trigger", nil, &result)
		if resp.Status != http.StatusAccepted {
			t.Fatalf("status = %d, want 202: %s", resp.Status, resp.Body)
		}
		if !waitFor(10*time.Second, func() bool { return mustGet(t, c, created.ID).RunCount == 2 }) {
			t.Error("a trigger of a paused schedule was not delivered within 10 s")
		}
	})

	t.Run("EditedRightAfter", func(t *testing.T) {
		resp := c.DoJSON(t, http.MethodPost, "/schedules/"+created.ID+"/trigger", nil, &result)
		if resp.Status != http.StatusAccepted {
			t.Fatalf("status = %d, want 202: %s", resp.Status, resp.Body)
		}
		patch := c.Do(t, http.MethodPatch, "/schedules/"+created.ID, `{"description":"edited"}`,
			apitest.Header("Content-Type", "application/merge-patch+json"))
		if patch.Status != http.StatusOK {
			t.Fatalf("patch status = %d: %s", patch.Status, patch.Body)
		}
		if !waitFor(10*time.Second, func() bool { return mustGet(t, c, created.ID).RunCount == 3 }) {
			t.Error("a trigger followed at once by an edit was not delivered within 10 s")
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		resp := c.Do(t, http.MethodPost, "/schedules/cccccccccccccccc/trigger", "")
		if resp.Status != http.StatusNotFound {
			t.Fatalf("status = %d, want 404: %s", resp.Status, resp.Body)
		}
		decodeProblem(t, resp)
	})
}

func TestHandler_ListRuns(t *testing.T) {
	t.Parallel()
	s := apitest.MustStart(t, apitest.Options{})
	c := s.Client("alice")
	created := mustCreate(t, c, scheduleBody("runs", s.Topics+"a", yearly))

	t.Run("Empty", func(t *testing.T) {
		var runs runList
		resp := c.DoJSON(t, http.MethodGet, "/schedules/"+created.ID+"/runs", nil, &runs)
		if resp.Status != http.StatusOK {
			t.Fatalf("status = %d, want 200", resp.Status)
		}
		if runs.Runs == nil || len(runs.Runs) != 0 {
			t.Errorf("runs = %v, want an empty list", runs.Runs)
		}
	})

	t.Run("NewestFirst", func(t *testing.T) {
		for range 3 {
			if resp := c.Do(t, http.MethodPost, "/schedules/"+created.ID+"/trigger", ""); resp.Status != http.StatusAccepted {
				t.Fatalf("trigger status = %d", resp.Status)
			}
			time.Sleep(20 * time.Millisecond)
		}
		var runs runList
		ok := waitFor(15*time.Second, func() bool {
			runs = runList{}
			c.DoJSON(t, http.MethodGet, "/schedules/"+created.ID+"/runs?limit=2", nil, &runs)
			return len(runs.Runs) == 2 && mustGet(t, c, created.ID).RunCount == 3
		})
		if !ok {
			t.Fatalf("runs = %d with limit 2 and runCount != 3 after 15 s", len(runs.Runs))
		}
		if !runs.Runs[0].FireAt.After(runs.Runs[1].FireAt) {
			t.Errorf("runs at %s then %s, want newest first", runs.Runs[0].FireAt, runs.Runs[1].FireAt)
		}
	})

	t.Run("ErrLimitTooLarge", func(t *testing.T) {
		resp := c.Do(t, http.MethodGet, "/schedules/"+created.ID+"/runs?limit=101", "", apitest.BreaksContract())
		if resp.Status != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400", resp.Status)
		}
		decodeProblem(t, resp)
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		resp := c.Do(t, http.MethodGet, "/schedules/dddddddddddddddd/runs", "")
		if resp.Status != http.StatusNotFound {
			t.Fatalf("status = %d, want 404", resp.Status)
		}
		decodeProblem(t, resp)
	})
}
