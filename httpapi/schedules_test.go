package httpapi_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqcron/mqcron/apitest"
	"github.com/mqcron/mqcron/schedule"
)

func TestHandler_CreateSchedule(t *testing.T) {
	t.Parallel()
	s := apitest.MustStart(t, apitest.Options{})
	alice := s.Client("alice")

	t.Run("OK", func(t *testing.T) {
		before := time.Now()
		resp := alice.Do(t, http.MethodPost, "/schedules", scheduleBody("every-5-min", s.Topics+"a", "*/5 * * * *"))
		if resp.Status != http.StatusCreated {
			t.Fatalf("status = %d, want 201: %s", resp.Status, resp.Body)
		}
		var sched schedule.Schedule
		resp.Decode(t, &sched)
		if got, want := resp.Header.Get("Location"), "/schedules/"+sched.ID; got != want {
			t.Errorf("Location = %q, want %q", got, want)
		}
		if got := resp.Header.Get("ETag"); got != `"1"` {
			t.Errorf("ETag = %q, want %q", got, `"1"`)
		}
		if sched.Version != 1 {
			t.Errorf("version = %d, want 1", sched.Version)
		}
		if sched.Owner != "alice" {
			t.Errorf("owner = %q, want alice", sched.Owner)
		}
		if sched.State != schedule.StateEnabled {
			t.Errorf("state = %s, want ENABLED", sched.State)
		}
		if !sched.CreatedAt.Equal(sched.UpdatedAt) {
			t.Errorf("createdAt %s != updatedAt %s", sched.CreatedAt, sched.UpdatedAt)
		}
		if sched.RunCount != 0 || sched.LastRun != nil {
			t.Errorf("runCount = %d, lastRun = %v, want 0 and none", sched.RunCount, sched.LastRun)
		}
		checkNextFires(t, sched.NextFires, 5, before)
		for i, f := range sched.NextFires {
			if f.Minute()%5 != 0 || f.Second() != 0 {
				t.Errorf("nextFires[%d] = %s, want a multiple of 5 minutes", i, f)
			}
		}
		if got := mustGet(t, alice, sched.ID); got.Name != "every-5-min" || got.Version != 1 {
			t.Errorf("stored name %q version %d, want every-5-min 1", got.Name, got.Version)
		}
	})

	t.Run("Disabled", func(t *testing.T) {
		body := strings.Replace(scheduleBody("paused-from-start", s.Topics+"b", yearly), `"name"`, `"state":"DISABLED","name"`, 1)
		sched := mustCreate(t, alice, body)
		if sched.State != schedule.StateDisabled {
			t.Errorf("state = %s, want DISABLED", sched.State)
		}
		if len(sched.NextFires) != 0 {
			t.Errorf("nextFires = %v, want none for a disabled schedule", sched.NextFires)
		}
	})

	t.Run("IdempotencyKey", func(t *testing.T) {
		key := apitest.RandomName("key-")
		body := scheduleBody("idempotent", s.Topics+"c", yearly)
		first := mustCreate(t, alice, body, apitest.Header("Idempotency-Key", key))
		second := mustCreate(t, alice, body, apitest.Header("Idempotency-Key", key))
		if second.ID != first.ID {
			t.Errorf("second create returned id %s, want the first id %s", second.ID, first.ID)
		}
		var list scheduleList
		alice.DoJSON(t, http.MethodGet, "/schedules?namePrefix=idempotent", nil, &list)
		if len(list.Schedules) != 1 {
			t.Errorf("stored %d schedules named idempotent, want 1", len(list.Schedules))
		}

		// The same key with another body is rejected and creates nothing.
		changed := scheduleBody("idempotent-2", s.Topics+"c", yearly)
		resp := alice.Do(t, http.MethodPost, "/schedules", changed, apitest.Header("Idempotency-Key", key))
		if resp.Status != http.StatusUnprocessableEntity {
			t.Errorf("reused key with another body: status = %d, want 422: %s", resp.Status, resp.Body)
		}
		alice.DoJSON(t, http.MethodGet, "/schedules?namePrefix=idempotent-2", nil, &list)
		if len(list.Schedules) != 0 {
			t.Errorf("stored %d schedules named idempotent-2, want 0", len(list.Schedules))
		}

		// Keys are per owner: the same key of another owner creates a
		// schedule of that owner. After a delete, the key no longer
		// creates anything.
		other := mustCreate(t, s.Client("bob"), body, apitest.Header("Idempotency-Key", key))
		if other.ID == first.ID || other.Owner != "bob" {
			t.Errorf("bob's create with alice's key returned id %s owner %s, want a new schedule of bob", other.ID, other.Owner)
		}
		if resp := alice.Do(t, http.MethodDelete, "/schedules/"+first.ID, ""); resp.Status != http.StatusNoContent {
			t.Fatalf("delete status = %d: %s", resp.Status, resp.Body)
		}
		again := alice.Do(t, http.MethodPost, "/schedules", body, apitest.Header("Idempotency-Key", key))
		if again.Status != http.StatusUnprocessableEntity {
			t.Errorf("create with the key of a deleted schedule: status = %d, want 422: %s", again.Status, again.Body)
		}
	})

	t.Run("RetryPolicy", func(t *testing.T) {
		body := strings.Replace(scheduleBody("retry-policy", s.Topics+"f", yearly), `"name"`,
			`"retryPolicy":{"maximumEventAgeInSeconds":600,"maximumRetryAttempts":0},"name"`, 1)
		created := mustCreate(t, alice, body)
		got := mustGet(t, alice, created.ID)
		p := got.RetryPolicy
		if p == nil || p.MaximumEventAgeInSeconds != 600 || p.MaximumRetryAttempts == nil || *p.MaximumRetryAttempts != 0 {
			t.Errorf("retryPolicy = %+v, want 600 s and 0 retries", p)
		}
		if resp := alice.Do(t, http.MethodDelete, "/schedules/"+created.ID, ""); resp.Status != http.StatusNoContent {
			t.Fatalf("delete status = %d", resp.Status)
		}
	})

	t.Run("ErrRetryPolicy", func(t *testing.T) {
		body := strings.Replace(scheduleBody("bad-retry", s.Topics+"g", yearly), `"name"`,
			`"retryPolicy":{"maximumEventAgeInSeconds":30},"name"`, 1)
		resp := alice.Do(t, http.MethodPost, "/schedules", body, apitest.BreaksContract())
		if resp.Status != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400: %s", resp.Status, resp.Body)
		}
		if p := decodeProblem(t, resp); len(p.Errors) == 0 || p.Errors[0].Pointer != "/retryPolicy/maximumEventAgeInSeconds" {
			t.Errorf("errors = %+v, want one on /retryPolicy/maximumEventAgeInSeconds", p.Errors)
		}
	})

	t.Run("ErrDuplicateName", func(t *testing.T) {
		mustCreate(t, alice, scheduleBody("taken", s.Topics+"d", yearly))
		resp := alice.Do(t, http.MethodPost, "/schedules", scheduleBody("taken", s.Topics+"e", yearly))
		if resp.Status != http.StatusConflict {
			t.Fatalf("status = %d, want 409: %s", resp.Status, resp.Body)
		}
		p := decodeProblem(t, resp)
		if len(p.Errors) != 1 || p.Errors[0].Pointer != "/name" {
			t.Errorf("errors = %+v, want one error on /name", p.Errors)
		}
		if strings.Contains(p.Detail, "dynamodb") {
			t.Errorf("detail %q names the store", p.Detail)
		}
	})

	t.Run("ErrInvalidTopic", func(t *testing.T) {
		resp := alice.Do(t, http.MethodPost, "/schedules", scheduleBody("wildcard", "devices/+/cmd", yearly))
		if resp.Status != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400: %s", resp.Status, resp.Body)
		}
		p := decodeProblem(t, resp)
		if len(p.Errors) == 0 || p.Errors[0].Pointer != "/target/topics/0" {
			t.Errorf("errors = %+v, want the first on /target/topics/0", p.Errors)
		}
	})

	t.Run("ErrInvalidName", func(t *testing.T) {
		resp := alice.Do(t, http.MethodPost, "/schedules", scheduleBody("has space", s.Topics+"f", yearly), apitest.BreaksContract())
		if resp.Status != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400: %s", resp.Status, resp.Body)
		}
		if p := decodeProblem(t, resp); len(p.Errors) == 0 || p.Errors[0].Pointer != "/name" {
			t.Errorf("errors = %+v, want the first on /name", p.Errors)
		}
	})

	t.Run("ErrReadOnlyField", func(t *testing.T) {
		body := strings.Replace(scheduleBody("read-only", s.Topics+"g", yearly), `"name"`, `"version":7,"name"`, 1)
		resp := alice.Do(t, http.MethodPost, "/schedules", body, apitest.BreaksContract())
		if resp.Status != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400: %s", resp.Status, resp.Body)
		}
		if p := decodeProblem(t, resp); len(p.Errors) == 0 || p.Errors[0].Pointer != "/version" {
			t.Errorf("errors = %+v, want the first on /version", p.Errors)
		}
	})

	t.Run("ErrBadIdempotencyKey", func(t *testing.T) {
		resp := alice.Do(t, http.MethodPost, "/schedules", scheduleBody("bad-key", s.Topics+"h", yearly),
			apitest.Header("Idempotency-Key", strings.Repeat("k", 129)), apitest.BreaksContract())
		if resp.Status != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400: %s", resp.Status, resp.Body)
		}
		decodeProblem(t, resp)
	})

	t.Run("ErrBodyTooLarge", func(t *testing.T) {
		body := fmt.Sprintf(`{"name":"large","scheduleExpression":%q,"target":{"topics":[%q],"payload":%q}}`,
			yearly, s.Topics+"i", strings.Repeat("x", 300*1024))
		resp := alice.Do(t, http.MethodPost, "/schedules", body)
		if resp.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status = %d, want 413: %s", resp.Status, resp.Body)
		}
		decodeProblem(t, resp)
	})

	t.Run("ErrUnsupportedMediaType", func(t *testing.T) {
		resp := alice.Do(t, http.MethodPost, "/schedules", scheduleBody("plain", s.Topics+"j", yearly),
			apitest.Header("Content-Type", "text/plain"), apitest.BreaksContract())
		if resp.Status != http.StatusUnsupportedMediaType {
			t.Fatalf("status = %d, want 415: %s", resp.Status, resp.Body)
		}
		decodeProblem(t, resp)
	})

	// None of the rejected requests stored a schedule.
	var list scheduleList
	alice.DoJSON(t, http.MethodGet, "/schedules", nil, &list)
	var names []string
	for _, sc := range list.Schedules {
		names = append(names, sc.Name)
	}
	if got, want := strings.Join(names, ","), "every-5-min,paused-from-start,taken"; got != want { // idempotent was deleted
		t.Errorf("alice's schedules = %s, want %s", got, want)
	}
}

func TestHandler_CreateScheduleQuota(t *testing.T) {
	t.Parallel()
	s := apitest.MustStart(t, apitest.Options{MaxSchedulesPerOwner: 2})
	alice := s.Client("alice")
	first := mustCreate(t, alice, scheduleBody("q1", s.Topics+"a", yearly))
	mustCreate(t, alice, scheduleBody("q2", s.Topics+"b", yearly))

	resp := alice.Do(t, http.MethodPost, "/schedules", scheduleBody("q3", s.Topics+"c", yearly))
	if resp.Status != http.StatusTooManyRequests {
		t.Fatalf("third create status = %d, want 429: %s", resp.Status, resp.Body)
	}
	p := decodeProblem(t, resp)
	if !strings.Contains(p.Detail, "the limit is 2") || !strings.Contains(p.Detail, "delete a schedule") {
		t.Errorf("detail = %q, want the limit and what to do", p.Detail)
	}

	// The limit is per owner, and deleting a schedule frees a place.
	mustCreate(t, s.Client("bob"), scheduleBody("q1", s.Topics+"d", yearly))
	if resp := alice.Do(t, http.MethodDelete, "/schedules/"+first.ID, ""); resp.Status != http.StatusNoContent {
		t.Fatalf("delete status = %d, want 204: %s", resp.Status, resp.Body)
	}
	mustCreate(t, alice, scheduleBody("q3", s.Topics+"c", yearly))
}

func TestHandler_CreateScheduleBrokerDown(t *testing.T) {
	t.Parallel()
	s := apitest.MustStart(t, apitest.Options{BrokerAddr: apitest.ClosedAddr(t)})
	c := s.Client("alice")

	resp := c.Do(t, http.MethodPost, "/schedules", scheduleBody("unreachable", s.Topics+"a", yearly))
	if resp.Status != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503: %s", resp.Status, resp.Body)
	}
	decodeProblem(t, resp)
	if got := resp.Header.Get("Retry-After"); got == "" {
		t.Error("503 response has no Retry-After header")
	}

	var list scheduleList
	if resp := c.DoJSON(t, http.MethodGet, "/schedules", nil, &list); resp.Status != http.StatusOK {
		t.Fatalf("list status = %d, want 200", resp.Status)
	}
	if len(list.Schedules) != 0 {
		t.Errorf("list returned %d schedules after a failed create, want 0", len(list.Schedules))
	}

	// The name is free again: a retry once the broker is back must not
	// get 409.
	body := strings.Replace(scheduleBody("unreachable", s.Topics+"a", yearly), `"name"`, `"state":"DISABLED","name"`, 1)
	if sched := mustCreate(t, c, body); sched.Name != "unreachable" {
		t.Errorf("name = %q, want unreachable", sched.Name)
	}
}

func TestHandler_GetSchedule(t *testing.T) {
	t.Parallel()
	s := apitest.MustStart(t, apitest.Options{})
	c := s.Client("alice")
	created := mustCreate(t, c, scheduleBody("get-me", s.Topics+"a", yearly))

	t.Run("OK", func(t *testing.T) {
		resp := c.Do(t, http.MethodGet, "/schedules/"+created.ID, "")
		if resp.Status != http.StatusOK {
			t.Fatalf("status = %d, want 200", resp.Status)
		}
		if got := resp.Header.Get("ETag"); got != `"1"` {
			t.Errorf("ETag = %q, want %q", got, `"1"`)
		}
		var got schedule.Schedule
		resp.Decode(t, &got)
		if got.ID != created.ID || got.Name != "get-me" || got.Target.Topics[0] != s.Topics+"a" || got.Target.QoS != 1 {
			t.Errorf("got %+v, want the created schedule", got)
		}
		checkNextFires(t, got.NextFires, 5, time.Now())
	})

	for name, id := range map[string]string{
		"ErrNotFound":  "aaaaaaaaaaaaaaaa",
		"ErrLongID":    strings.Repeat("a", 3000),
		"ErrUpperCase": "AAAAAAAAAAAAAAAA",
		"ErrUnicodeID": "%C3%A9%C3%A9",
	} {
		t.Run(name, func(t *testing.T) {
			resp := c.Do(t, http.MethodGet, "/schedules/"+id, "")
			if resp.Status != http.StatusNotFound {
				t.Fatalf("status = %d, want 404: %s", resp.Status, resp.Body)
			}
			decodeProblem(t, resp)
		})
	}
}

func TestHandler_ListSchedules(t *testing.T) {
	t.Parallel()
	s := apitest.MustStart(t, apitest.Options{})
	c := s.Client("alice")

	// 25 schedules: even ones publish under a/, odd ones under b/, and
	// every third is paused.
	const total = 25
	disabled := 0
	for i := range total {
		branch := "a/"
		if i%2 == 1 {
			branch = "b/"
		}
		body := scheduleBody(fmt.Sprintf("item-%02d", i), s.Topics+branch+strconv.Itoa(i), yearly)
		if i%3 == 0 {
			body = strings.Replace(body, `"name"`, `"state":"DISABLED","name"`, 1)
			disabled++
		}
		mustCreate(t, c, body)
	}

	t.Run("Pagination", func(t *testing.T) {
		seen := map[string]bool{}
		var names []string
		token := ""
		for page := 1; ; page++ {
			path := "/schedules?limit=7"
			if token != "" {
				path += "&nextToken=" + token
			}
			var list scheduleList
			if resp := c.DoJSON(t, http.MethodGet, path, nil, &list); resp.Status != http.StatusOK {
				t.Fatalf("page %d status = %d: %s", page, resp.Status, resp.Body)
			}
			if len(list.Schedules) > 7 {
				t.Errorf("page %d has %d schedules, want at most 7", page, len(list.Schedules))
			}
			for _, sc := range list.Schedules {
				if seen[sc.ID] {
					t.Errorf("schedule %s (%s) listed twice", sc.ID, sc.Name)
				}
				seen[sc.ID] = true
				names = append(names, sc.Name)
			}
			token = list.NextToken
			if token == "" {
				break
			}
			if page > total {
				t.Fatal("pagination does not end")
			}
		}
		if len(names) != total {
			t.Fatalf("listed %d schedules, want %d", len(names), total)
		}
		for i, name := range names {
			if want := fmt.Sprintf("item-%02d", i); name != want {
				t.Errorf("schedule %d is %s, want %s (name order, no gaps)", i, name, want)
			}
		}
	})

	filters := []struct {
		name  string
		query string
		want  int
	}{
		{"NamePrefix", "namePrefix=item-1", 10},
		{"TopicPrefix", "topicPrefix=" + s.Topics + "a/", 13},
		{"StateDisabled", "state=DISABLED", disabled},
		{"StateEnabled", "state=ENABLED", total - disabled},
		// item-11, 13, 17 and 19: odd, so under b/, and not paused like item-15.
		{"Combined", "namePrefix=item-1&topicPrefix=" + s.Topics + "b/&state=ENABLED", 4},
	}
	for _, f := range filters {
		t.Run(f.name, func(t *testing.T) {
			var all []*schedule.Schedule
			token := ""
			for {
				path := "/schedules?limit=4&" + f.query
				if token != "" {
					path += "&nextToken=" + token
				}
				var list scheduleList
				if resp := c.DoJSON(t, http.MethodGet, path, nil, &list); resp.Status != http.StatusOK {
					t.Fatalf("status = %d: %s", resp.Status, resp.Body)
				}
				all = append(all, list.Schedules...)
				if token = list.NextToken; token == "" {
					break
				}
			}
			if len(all) != f.want {
				t.Errorf("%s listed %d schedules, want %d", f.query, len(all), f.want)
			}
		})
	}

	t.Run("ErrLimitTooLarge", func(t *testing.T) {
		resp := c.Do(t, http.MethodGet, "/schedules?limit=101", "", apitest.BreaksContract())
		if resp.Status != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400", resp.Status)
		}
		if p := decodeProblem(t, resp); len(p.Errors) != 1 || p.Errors[0].Pointer != "/limit" {
			t.Errorf("errors = %+v, want one on /limit", p.Errors)
		}
	})

	t.Run("ErrInvalidState", func(t *testing.T) {
		resp := c.Do(t, http.MethodGet, "/schedules?state=PAUSED", "", apitest.BreaksContract())
		if resp.Status != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400", resp.Status)
		}
		decodeProblem(t, resp)
	})

	t.Run("ErrLongNamePrefix", func(t *testing.T) {
		resp := c.Do(t, http.MethodGet, "/schedules?namePrefix="+strings.Repeat("n", 2000), "", apitest.BreaksContract())
		if resp.Status != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400: %s", resp.Status, resp.Body)
		}
		decodeProblem(t, resp)
	})

	t.Run("ErrTamperedNextToken", func(t *testing.T) {
		var list scheduleList
		c.DoJSON(t, http.MethodGet, "/schedules?limit=3", nil, &list)
		if list.NextToken == "" {
			t.Fatal("first page has no nextToken")
		}
		for name, token := range map[string]string{
			"Flipped":   flipLastChar(list.NextToken),
			"Garbage":   "not-a-token",
			"OtherName": list.NextToken, // valid token, but for another namePrefix
		} {
			path := "/schedules?nextToken=" + token
			if name == "OtherName" {
				path += "&namePrefix=zzz"
			}
			resp := c.Do(t, http.MethodGet, path, "")
			if resp.Status != http.StatusBadRequest {
				t.Errorf("%s token: status = %d, want 400: %s", name, resp.Status, resp.Body)
				continue
			}
			if p := decodeProblem(t, resp); len(p.Errors) != 1 || p.Errors[0].Pointer != "/nextToken" {
				t.Errorf("%s token: errors = %+v, want one on /nextToken", name, p.Errors)
			}
		}
	})
}

func flipLastChar(s string) string {
	last := s[len(s)-1]
	repl := byte('A')
	if last == 'A' {
		repl = 'B'
	}
	return s[:len(s)-1] + string(repl)
}

func TestHandler_ReplaceSchedule(t *testing.T) {
	t.Parallel()
	s := apitest.MustStart(t, apitest.Options{})
	c := s.Client("alice")
	body := strings.Replace(scheduleBody("replace-me", s.Topics+"a", yearly), `"name"`, `"description":"first","name"`, 1)
	created := mustCreate(t, c, body)

	t.Run("OK", func(t *testing.T) {
		next := fmt.Sprintf(`{"name":"replaced","scheduleExpression":"rate(5 minutes)","target":{"topics":[%q,%q],"payloadBase64":"AQID","contentType":"application/octet-stream"}}`,
			s.Topics+"b", s.Topics+"c")
		resp := c.Do(t, http.MethodPut, "/schedules/"+created.ID, next, apitest.Header("If-Match", `"1"`))
		if resp.Status != http.StatusOK {
			t.Fatalf("status = %d, want 200: %s", resp.Status, resp.Body)
		}
		if got := resp.Header.Get("ETag"); got != `"2"` {
			t.Errorf("ETag = %q, want %q", got, `"2"`)
		}
		got := mustGet(t, c, created.ID)
		if got.Version != 2 || got.Name != "replaced" || got.ScheduleExpression != "rate(5 minutes)" {
			t.Errorf("stored version %d name %q expression %q, want 2 replaced rate(5 minutes)", got.Version, got.Name, got.ScheduleExpression)
		}
		if got.Description != "" {
			t.Errorf("description = %q, want none after a full replace without it", got.Description)
		}
		if len(got.Target.Topics) != 2 || got.Target.PayloadBase64 != "AQID" || len(got.Target.Payload) != 0 || got.Target.QoS != 0 {
			t.Errorf("target = %+v, want two topics, payloadBase64 only, qos 0", got.Target)
		}
		if !got.CreatedAt.Equal(created.CreatedAt) || !got.UpdatedAt.After(created.UpdatedAt) {
			t.Errorf("createdAt %s updatedAt %s, want createdAt kept and updatedAt later than %s", got.CreatedAt, got.UpdatedAt, created.UpdatedAt)
		}
		checkNextFires(t, got.NextFires, 5, time.Now())

		// The old name is free again.
		mustCreate(t, c, scheduleBody("replace-me", s.Topics+"d", yearly))
	})

	t.Run("ErrStaleETag", func(t *testing.T) {
		resp := c.Do(t, http.MethodPut, "/schedules/"+created.ID, scheduleBody("stale", s.Topics+"e", yearly), apitest.Header("If-Match", `"1"`))
		if resp.Status != http.StatusPreconditionFailed {
			t.Fatalf("status = %d, want 412: %s", resp.Status, resp.Body)
		}
		decodeProblem(t, resp)
		if got := mustGet(t, c, created.ID); got.Version != 2 || got.Name != "replaced" {
			t.Errorf("after 412: version %d name %q, want 2 replaced", got.Version, got.Name)
		}
	})

	t.Run("ErrNameTaken", func(t *testing.T) {
		resp := c.Do(t, http.MethodPut, "/schedules/"+created.ID, scheduleBody("replace-me", s.Topics+"e", yearly))
		if resp.Status != http.StatusConflict {
			t.Fatalf("status = %d, want 409: %s", resp.Status, resp.Body)
		}
		decodeProblem(t, resp)
	})

	t.Run("ErrInvalidIfMatch", func(t *testing.T) {
		resp := c.Do(t, http.MethodPut, "/schedules/"+created.ID, scheduleBody("x", s.Topics+"e", yearly), apitest.Header("If-Match", "yesterday"))
		if resp.Status != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400: %s", resp.Status, resp.Body)
		}
		decodeProblem(t, resp)
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		resp := c.Do(t, http.MethodPut, "/schedules/bbbbbbbbbbbbbbbb", scheduleBody("x", s.Topics+"e", yearly))
		if resp.Status != http.StatusNotFound {
			t.Fatalf("status = %d, want 404: %s", resp.Status, resp.Body)
		}
		decodeProblem(t, resp)
	})
}

func TestHandler_PatchSchedule(t *testing.T) {
	t.Parallel()
	s := apitest.MustStart(t, apitest.Options{})
	c := s.Client("alice")
	body := strings.Replace(scheduleBody("patch-me", s.Topics+"a", yearly), `"name"`, `"description":"to be removed","name"`, 1)
	created := mustCreate(t, c, body)
	mergePatch := apitest.Header("Content-Type", "application/merge-patch+json")

	t.Run("OK", func(t *testing.T) {
		patch := `{"description":null,"target":{"qos":0,"userProperties":{"site":"berlin"}},"scheduleExpressionTimezone":"Europe/Berlin"}`
		resp := c.Do(t, http.MethodPatch, "/schedules/"+created.ID, patch, mergePatch, apitest.Header("If-Match", `"1"`))
		if resp.Status != http.StatusOK {
			t.Fatalf("status = %d, want 200: %s", resp.Status, resp.Body)
		}
		if got := resp.Header.Get("ETag"); got != `"2"` {
			t.Errorf("ETag = %q, want %q", got, `"2"`)
		}
		got := mustGet(t, c, created.ID)
		if got.Description != "" {
			t.Errorf("description = %q, want it removed by null", got.Description)
		}
		if got.Target.QoS != 0 || got.Target.UserProperties["site"] != "berlin" {
			t.Errorf("target qos %d userProperties %v, want 0 and site=berlin", got.Target.QoS, got.Target.UserProperties)
		}
		if len(got.Target.Topics) != 1 || got.Target.Topics[0] != s.Topics+"a" || string(got.Target.Payload) == "" {
			t.Errorf("target = %+v, want topics and payload kept", got.Target)
		}
		if got.Name != "patch-me" || got.ScheduleExpression != yearly || got.ScheduleExpressionTimezone != "Europe/Berlin" {
			t.Errorf("name %q expression %q zone %q, want patch-me, %s, Europe/Berlin", got.Name, got.ScheduleExpression, got.ScheduleExpressionTimezone, yearly)
		}
		// Midnight on 1 January in Berlin is 23:00 UTC on 31 December.
		if len(got.NextFires) == 0 || got.NextFires[0].UTC().Hour() != 23 {
			t.Errorf("nextFires = %v, want 23:00 UTC fires", got.NextFires)
		}
	})

	t.Run("PlainJSON", func(t *testing.T) {
		resp := c.Do(t, http.MethodPatch, "/schedules/"+created.ID, `{"description":"again"}`)
		if resp.Status != http.StatusOK {
			t.Fatalf("status = %d, want 200: %s", resp.Status, resp.Body)
		}
		if got := mustGet(t, c, created.ID); got.Description != "again" || got.Version != 3 {
			t.Errorf("description %q version %d, want again 3", got.Description, got.Version)
		}
	})

	t.Run("NoChangeKeepsVersion", func(t *testing.T) {
		for _, patch := range []string{`{}`, `{"description":"again"}`} {
			resp := c.Do(t, http.MethodPatch, "/schedules/"+created.ID, patch, mergePatch)
			if resp.Status != http.StatusOK {
				t.Fatalf("patch %s: status = %d, want 200: %s", patch, resp.Status, resp.Body)
			}
			if got := resp.Header.Get("ETag"); got != `"3"` {
				t.Errorf("patch %s: ETag = %q, want %q (unchanged)", patch, got, `"3"`)
			}
		}
	})

	t.Run("ErrEmptyBody", func(t *testing.T) {
		resp := c.Do(t, http.MethodPatch, "/schedules/"+created.ID, "", mergePatch, apitest.BreaksContract())
		if resp.Status != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400: %s", resp.Status, resp.Body)
		}
		if p := decodeProblem(t, resp); !strings.Contains(p.Detail, "body is empty") {
			t.Errorf("detail = %q, want it to say the body is empty", p.Detail)
		}
	})

	t.Run("ErrInvalidResult", func(t *testing.T) {
		resp := c.Do(t, http.MethodPatch, "/schedules/"+created.ID, `{"target":{"topics":["a/#"]}}`, mergePatch)
		if resp.Status != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400: %s", resp.Status, resp.Body)
		}
		if p := decodeProblem(t, resp); len(p.Errors) == 0 || p.Errors[0].Pointer != "/target/topics/0" {
			t.Errorf("errors = %+v, want the first on /target/topics/0", p.Errors)
		}
	})

	t.Run("ErrNotAnObject", func(t *testing.T) {
		resp := c.Do(t, http.MethodPatch, "/schedules/"+created.ID, `[1,2]`, mergePatch, apitest.BreaksContract())
		if resp.Status != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400: %s", resp.Status, resp.Body)
		}
		decodeProblem(t, resp)
	})

	t.Run("ErrServerField", func(t *testing.T) {
		resp := c.Do(t, http.MethodPatch, "/schedules/"+created.ID, `{"owner":"mallory"}`, mergePatch, apitest.BreaksContract())
		if resp.Status != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400: %s", resp.Status, resp.Body)
		}
		decodeProblem(t, resp)
		if got := mustGet(t, c, created.ID); got.Owner != "alice" {
			t.Errorf("owner = %q after a rejected patch, want alice", got.Owner)
		}
	})

	t.Run("ErrUnsupportedMediaType", func(t *testing.T) {
		resp := c.Do(t, http.MethodPatch, "/schedules/"+created.ID, `[{"op":"remove","path":"/description"}]`,
			apitest.Header("Content-Type", "application/json-patch+json"), apitest.BreaksContract())
		if resp.Status != http.StatusUnsupportedMediaType {
			t.Fatalf("status = %d, want 415: %s", resp.Status, resp.Body)
		}
		decodeProblem(t, resp)
	})

	t.Run("ErrBodyTooLarge", func(t *testing.T) {
		patch := fmt.Sprintf(`{"target":{"payload":%q}}`, strings.Repeat("x", 300*1024))
		resp := c.Do(t, http.MethodPatch, "/schedules/"+created.ID, patch, mergePatch)
		if resp.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status = %d, want 413: %s", resp.Status, resp.Body)
		}
		decodeProblem(t, resp)
	})
}

func TestHandler_PatchScheduleConcurrent(t *testing.T) {
	t.Parallel()
	s := apitest.MustStart(t, apitest.Options{})
	c := s.Client("alice")
	created := mustCreate(t, c, scheduleBody("contended", s.Topics+"a", yearly))

	const writers = 8
	statuses := make([]int, writers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			patch := fmt.Sprintf(`{"description":"writer %d"}`, i)
			resp := c.Do(t, http.MethodPatch, "/schedules/"+created.ID, patch,
				apitest.Header("Content-Type", "application/merge-patch+json"), apitest.Header("If-Match", `"1"`))
			statuses[i] = resp.Status
		}()
	}
	close(start)
	wg.Wait()

	winner, ok, failed := -1, 0, 0
	for i, status := range statuses {
		switch status {
		case http.StatusOK:
			ok++
			winner = i
		case http.StatusPreconditionFailed:
			failed++
		default:
			t.Errorf("writer %d: status %d, want 200 or 412", i, status)
		}
	}
	if ok != 1 || failed != writers-1 {
		t.Fatalf("statuses %v: %d × 200 and %d × 412, want 1 and %d", statuses, ok, failed, writers-1)
	}
	got := mustGet(t, c, created.ID)
	if got.Version != 2 {
		t.Errorf("version = %d, want 2", got.Version)
	}
	if want := fmt.Sprintf("writer %d", winner); got.Description != want {
		t.Errorf("description = %q, want the winner's %q", got.Description, want)
	}
}

func TestHandler_DeleteSchedule(t *testing.T) {
	t.Parallel()
	s := apitest.MustStart(t, apitest.Options{})
	c := s.Client("alice")
	created := mustCreate(t, c, scheduleBody("delete-me", s.Topics+"a", yearly))

	t.Run("ErrStaleETag", func(t *testing.T) {
		resp := c.Do(t, http.MethodDelete, "/schedules/"+created.ID, "", apitest.Header("If-Match", `"5"`))
		if resp.Status != http.StatusPreconditionFailed {
			t.Fatalf("status = %d, want 412: %s", resp.Status, resp.Body)
		}
		decodeProblem(t, resp)
		mustGet(t, c, created.ID)
	})

	t.Run("OK", func(t *testing.T) {
		resp := c.Do(t, http.MethodDelete, "/schedules/"+created.ID, "", apitest.Header("If-Match", `"1"`))
		if resp.Status != http.StatusNoContent {
			t.Fatalf("status = %d, want 204: %s", resp.Status, resp.Body)
		}
		if len(resp.Body) != 0 {
			t.Errorf("204 body = %q, want empty", resp.Body)
		}
		if resp := c.Do(t, http.MethodGet, "/schedules/"+created.ID, ""); resp.Status != http.StatusNotFound {
			t.Errorf("get after delete: status = %d, want 404", resp.Status)
		}
		// The name is free again.
		mustCreate(t, c, scheduleBody("delete-me", s.Topics+"b", yearly))
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		resp := c.Do(t, http.MethodDelete, "/schedules/"+created.ID, "")
		if resp.Status != http.StatusNotFound {
			t.Fatalf("status = %d, want 404: %s", resp.Status, resp.Body)
		}
		decodeProblem(t, resp)
	})
}
