package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/mqcron/mqcron/client"
	"github.com/mqcron/mqcron/schedule"
)

// recorded is what the test server saw of one request.
type recorded struct {
	method, path, query string
	header              http.Header
	body                string
}

// MustServe starts a server that records each request and responds with
// status, contentType and body. It returns the client and the records.
func MustServe(tb testing.TB, cfg client.Config, status int, contentType, body string) (*client.Client, *[]recorded) {
	tb.Helper()
	var got []recorded
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		got = append(got, recorded{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Clone(), string(data)})
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	tb.Cleanup(srv.Close)
	cfg.BaseURL = srv.URL + cfg.BaseURL
	c, err := client.New(cfg)
	if err != nil {
		tb.Fatalf("new client: %v", err)
	}
	return c, &got
}

const scheduleJSON = `{"id":"s1","name":"n","version":3,"state":"ENABLED",` +
	`"scheduleExpression":"rate(1 minute)","target":{"topics":["a/b"],"qos":1}}`

func TestClient_Endpoints(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name        string
		status      int
		respBody    string
		call        func(c *client.Client) error
		method      string
		path        string
		query       string
		contentType string
		ifMatch     string
		idemKey     string
		body        string
	}{
		{
			name: "Create", status: 201, respBody: scheduleJSON,
			call: func(c *client.Client) error {
				_, err := c.CreateScheduleJSON(ctx, []byte(`{"name":"n"}`), "file.yaml:0")
				return err
			},
			method: "POST", path: "/schedules", contentType: "application/json",
			idemKey: "file.yaml:0", body: `{"name":"n"}`,
		},
		{
			name: "List", status: 200, respBody: `{"schedules":[],"nextToken":"t2"}`,
			call: func(c *client.Client) error {
				page, err := c.ListSchedules(ctx, client.ListOptions{
					NamePrefix: "a b", TopicPrefix: "x/", State: schedule.StateDisabled, Limit: 7, NextToken: "t1",
				})
				if err == nil && page.NextToken != "t2" {
					return errors.New("next token " + page.NextToken)
				}
				return err
			},
			method: "GET", path: "/schedules",
			query: "limit=7&namePrefix=a+b&nextToken=t1&state=DISABLED&topicPrefix=x%2F",
		},
		{
			name: "Get", status: 200, respBody: scheduleJSON,
			call: func(c *client.Client) error {
				s, err := c.GetSchedule(ctx, "s 1/x")
				if err == nil && (s.ID != "s1" || s.Version != 3) {
					return errors.New("decoded schedule differs")
				}
				return err
			},
			method: "GET", path: "/schedules/s%201%2Fx",
		},
		{
			name: "Replace", status: 200, respBody: scheduleJSON,
			call: func(c *client.Client) error {
				_, err := c.ReplaceScheduleJSON(ctx, "s1", []byte(`{"name":"m"}`), 3)
				return err
			},
			method: "PUT", path: "/schedules/s1", contentType: "application/json",
			ifMatch: `"3"`, body: `{"name":"m"}`,
		},
		{
			name: "Patch", status: 200, respBody: scheduleJSON,
			call: func(c *client.Client) error {
				_, err := c.PatchSchedule(ctx, "s1", []byte(`{"description":null}`), 0)
				return err
			},
			method: "PATCH", path: "/schedules/s1", contentType: "application/merge-patch+json",
			body: `{"description":null}`,
		},
		{
			name: "Delete", status: 204,
			call: func(c *client.Client) error {
				return c.DeleteSchedule(ctx, "s1", 12)
			},
			method: "DELETE", path: "/schedules/s1", ifMatch: `"12"`,
		},
		{
			name: "PauseWithNote", status: 200, respBody: scheduleJSON,
			call: func(c *client.Client) error {
				_, err := c.PauseSchedule(ctx, "s1", "maintenance \"window\"", 0)
				return err
			},
			method: "POST", path: "/schedules/s1/pause", contentType: "application/json",
			body: `{"note":"maintenance \"window\""}`,
		},
		{
			name: "ResumeWithoutNote", status: 200, respBody: scheduleJSON,
			call: func(c *client.Client) error {
				_, err := c.ResumeSchedule(ctx, "s1", "", 4)
				return err
			},
			method: "POST", path: "/schedules/s1/resume", ifMatch: `"4"`,
		},
		{
			name: "Trigger", status: 202, respBody: `{"fireAt":"2026-03-29T01:00:00Z","fireId":"s1@x"}`,
			call: func(c *client.Client) error {
				tr, err := c.TriggerSchedule(ctx, "s1")
				if err == nil && (tr.FireID != "s1@x" || !tr.FireAt.Equal(time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC))) {
					return errors.New("decoded trigger differs")
				}
				return err
			},
			method: "POST", path: "/schedules/s1/trigger",
		},
		{
			name: "Runs", status: 200, respBody: `{"runs":[{"fireId":"f","outcome":"DELIVERED","topicCount":2}]}`,
			call: func(c *client.Client) error {
				runs, err := c.ListRuns(ctx, "s1", 5)
				if err == nil && (len(runs) != 1 || runs[0].Topics != 2) {
					return errors.New("decoded runs differ")
				}
				return err
			},
			method: "GET", path: "/schedules/s1/runs", query: "limit=5",
		},
		{
			name: "Preview", status: 200, respBody: `{"fires":["2026-03-29T03:00:00+02:00"]}`,
			call: func(c *client.Client) error {
				fires, err := c.Preview(ctx, client.PreviewRequest{ScheduleExpression: "cron(0 3 * * ? *)", Count: 1})
				if err == nil && (len(fires) != 1 || fires[0] != "2026-03-29T03:00:00+02:00") {
					return errors.New("decoded fires differ")
				}
				return err
			},
			method: "POST", path: "/preview", contentType: "application/json",
			body: `{"scheduleExpression":"cron(0 3 * * ? *)","count":1}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, got := MustServe(t, client.Config{DevOwner: "alice"}, tt.status, "application/json", tt.respBody)
			if err := tt.call(c); err != nil {
				t.Fatalf("call: %v", err)
			}
			if len(*got) != 1 {
				t.Fatalf("server saw %d requests, want 1", len(*got))
			}
			r := (*got)[0]
			if r.method != tt.method {
				t.Errorf("method = %s, want %s", r.method, tt.method)
			}
			if r.path != tt.path {
				t.Errorf("path = %s, want %s", r.path, tt.path)
			}
			if r.query != tt.query {
				t.Errorf("query = %q, want %q", r.query, tt.query)
			}
			if ct := r.header.Get("Content-Type"); ct != tt.contentType {
				t.Errorf("Content-Type = %q, want %q", ct, tt.contentType)
			}
			if im := r.header.Get("If-Match"); im != tt.ifMatch {
				t.Errorf("If-Match = %q, want %q", im, tt.ifMatch)
			}
			if key := r.header.Get("Idempotency-Key"); key != tt.idemKey {
				t.Errorf("Idempotency-Key = %q, want %q", key, tt.idemKey)
			}
			if owner := r.header.Get(client.DevOwnerHeader); owner != "alice" {
				t.Errorf("%s = %q, want alice", client.DevOwnerHeader, owner)
			}
			if r.body != tt.body {
				t.Errorf("body = %q, want %q", r.body, tt.body)
			}
		})
	}
}

func TestClient_BasePath(t *testing.T) {
	c, got := MustServe(t, client.Config{BaseURL: "/prod/"}, 200, "application/json", scheduleJSON)
	if _, err := c.GetSchedule(context.Background(), "s1"); err != nil {
		t.Fatalf("get: %v", err)
	}
	if path := (*got)[0].path; path != "/prod/schedules/s1" {
		t.Errorf("path = %s, want /prod/schedules/s1", path)
	}
}

func TestClient_CreateScheduleTyped(t *testing.T) {
	c, got := MustServe(t, client.Config{}, 201, "application/json", scheduleJSON)
	in := &schedule.Schedule{Name: "n", ScheduleExpression: "rate(1 minute)", Target: schedule.Target{Topics: []string{"a/b"}}}
	out, err := c.CreateSchedule(context.Background(), in, "")
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if out.ID != "s1" {
		t.Errorf("id = %q, want s1", out.ID)
	}
	r := (*got)[0]
	if !strings.Contains(r.body, `"name":"n"`) || !strings.Contains(r.body, `"topics":["a/b"]`) {
		t.Errorf("body = %s, want the name and topics of the schedule", r.body)
	}
	if _, ok := r.header["Idempotency-Key"]; ok {
		t.Errorf("Idempotency-Key sent for an empty key")
	}
	if _, ok := r.header[client.DevOwnerHeader]; ok {
		t.Errorf("%s sent without a DevOwner", client.DevOwnerHeader)
	}
}

func TestClient_AllSchedulesFollowsNextToken(t *testing.T) {
	var tokens []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.URL.Query().Get("nextToken")
		tokens = append(tokens, token)
		w.Header().Set("Content-Type", "application/json")
		switch token {
		case "":
			_, _ = io.WriteString(w, `{"schedules":[{"id":"a"},{"id":"b"}],"nextToken":"p2"}`)
		case "p2":
			_, _ = io.WriteString(w, `{"schedules":[{"id":"c"}]}`)
		default:
			w.WriteHeader(400)
		}
	}))
	defer srv.Close()
	c, err := client.New(client.Config{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for s, err := range c.AllSchedules(context.Background(), client.ListOptions{}) {
		if err != nil {
			t.Fatalf("iterate: %v", err)
		}
		ids = append(ids, s.ID)
	}
	if strings.Join(ids, ",") != "a,b,c" {
		t.Errorf("ids = %v, want a,b,c", ids)
	}
	if strings.Join(tokens, ",") != ",p2" {
		t.Errorf("tokens sent = %q, want \"\" then p2", tokens)
	}
}

func TestAPIError_Problem(t *testing.T) {
	body := `{"type":"about:blank","title":"Invalid request","status":400,` +
		`"detail":"/name must not be empty","errors":[{"pointer":"/name","detail":"must not be empty"},` +
		`{"pointer":"/target/qos","detail":"must be 0 or 1"}]}`
	c, _ := MustServe(t, client.Config{}, 400, "application/problem+json", body)
	_, err := c.CreateScheduleJSON(context.Background(), []byte(`{}`), "")
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error = %v (%T), want *client.APIError", err, err)
	}
	if apiErr.StatusCode != 400 {
		t.Errorf("status = %d, want 400", apiErr.StatusCode)
	}
	if apiErr.Problem.Title != "Invalid request" {
		t.Errorf("title = %q, want Invalid request", apiErr.Problem.Title)
	}
	if apiErr.Problem.Detail != "/name must not be empty" {
		t.Errorf("detail = %q", apiErr.Problem.Detail)
	}
	want := []schedule.FieldError{{Pointer: "/name", Message: "must not be empty"}, {Pointer: "/target/qos", Message: "must be 0 or 1"}}
	if len(apiErr.Problem.Errors) != len(want) {
		t.Fatalf("field errors = %+v, want %+v", apiErr.Problem.Errors, want)
	}
	for i := range want {
		if apiErr.Problem.Errors[i] != want[i] {
			t.Errorf("field error %d = %+v, want %+v", i, apiErr.Problem.Errors[i], want[i])
		}
	}
	if got := apiErr.Error(); got != "POST /schedules: 400 Invalid request: /name must not be empty" {
		t.Errorf("Error() = %q", got)
	}
}

func TestAPIError_RetryAfter(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(503)
		_, _ = io.WriteString(w, `{"title":"Broker or store unavailable","status":503}`)
	}))
	defer srv.Close()
	c, _ := client.New(client.Config{BaseURL: srv.URL})
	err := c.DeleteSchedule(context.Background(), "s1", 0)
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error = %v, want *client.APIError", err)
	}
	if apiErr.RetryAfter != 5*time.Second {
		t.Errorf("RetryAfter = %v, want 5s", apiErr.RetryAfter)
	}
}

func TestAPIError_GatewayMessage(t *testing.T) {
	c, _ := MustServe(t, client.Config{}, 403, "application/json", `{"message":"Missing Authentication Token"}`)
	_, err := c.GetSchedule(context.Background(), "s1")
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error = %v, want *client.APIError", err)
	}
	if apiErr.Problem.Title != "Forbidden" || apiErr.Problem.Detail != "Missing Authentication Token" {
		t.Errorf("problem = %+v, want Forbidden with the gateway message", apiErr.Problem)
	}
}

func TestAPIError_PlainText(t *testing.T) {
	c, _ := MustServe(t, client.Config{}, 502, "text/plain", "bad gateway\n")
	_, err := c.GetSchedule(context.Background(), "s1")
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error = %v, want *client.APIError", err)
	}
	if apiErr.Problem.Title != "Bad Gateway" || apiErr.Problem.Detail != "bad gateway" {
		t.Errorf("problem = %+v, want Bad Gateway with the body text", apiErr.Problem)
	}
}

func TestBearerToken_Authorize(t *testing.T) {
	for _, token := range []string{"eyJ.abc.def", "Bearer eyJ.abc.def"} {
		c, got := MustServe(t, client.Config{Auth: client.BearerToken(token)}, 200, "application/json", scheduleJSON)
		if _, err := c.GetSchedule(context.Background(), "s1"); err != nil {
			t.Fatalf("get: %v", err)
		}
		if h := (*got)[0].header.Get("Authorization"); h != "Bearer eyJ.abc.def" {
			t.Errorf("token %q: Authorization = %q, want Bearer eyJ.abc.def", token, h)
		}
	}
}

func TestSigV4_Authorize(t *testing.T) {
	signedAt := time.Date(2026, 3, 29, 1, 2, 3, 0, time.UTC)
	auth := client.NewSigV4(credentials.NewStaticCredentialsProvider("AKID", "SECRET", "SESSION"), "eu-west-1")
	auth.Now = func() time.Time { return signedAt }
	c, got := MustServe(t, client.Config{BaseURL: "/prod", Auth: auth}, 201, "application/json", scheduleJSON)
	if _, err := c.CreateScheduleJSON(context.Background(), []byte(`{"name":"n"}`), "k1"); err != nil {
		t.Fatalf("create: %v", err)
	}
	r := (*got)[0]
	authz := r.header.Get("Authorization")
	format := regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=AKID/20260329/eu-west-1/execute-api/aws4_request, ` +
		`SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$`)
	m := format.FindStringSubmatch(authz)
	if m == nil {
		t.Fatalf("Authorization = %q, want AWS4-HMAC-SHA256 Credential=AKID/20260329/eu-west-1/execute-api/aws4_request, ...", authz)
	}
	for _, h := range []string{"host", "content-type", "idempotency-key", "x-amz-date", "x-amz-security-token"} {
		if !strings.Contains(";"+m[1]+";", ";"+h+";") {
			t.Errorf("SignedHeaders = %s, want it to include %s", m[1], h)
		}
	}
	if d := r.header.Get("X-Amz-Date"); d != "20260329T010203Z" {
		t.Errorf("X-Amz-Date = %q, want 20260329T010203Z", d)
	}
	if tok := r.header.Get("X-Amz-Security-Token"); tok != "SESSION" {
		t.Errorf("X-Amz-Security-Token = %q, want SESSION", tok)
	}
}

func TestSigV4_SignatureVerifies(t *testing.T) {
	// The server signs the received request again with the same keys and
	// time. The signatures match only when the client signed the path,
	// query, headers and body that arrived.
	signedAt := time.Date(2026, 3, 29, 1, 2, 3, 0, time.UTC)
	creds := credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")
	var gotAuth, wantAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		gotAuth = r.Header.Get("Authorization")
		check, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), strings.NewReader(string(body)))
		for _, h := range []string{"Accept", "Content-Type", "If-Match"} {
			if v := r.Header.Get(h); v != "" {
				check.Header.Set(h, v)
			}
		}
		verifier := client.NewSigV4(creds, "eu-west-1")
		verifier.Now = func() time.Time { return signedAt }
		_ = verifier.Authorize(r.Context(), check, body)
		wantAuth = check.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, scheduleJSON)
	}))
	defer srv.Close()
	auth := client.NewSigV4(creds, "eu-west-1")
	auth.Now = func() time.Time { return signedAt }
	c, _ := client.New(client.Config{BaseURL: srv.URL, Auth: auth})
	if _, err := c.PatchSchedule(context.Background(), "s1", []byte(`{"description":"x"}`), 2); err != nil {
		t.Fatalf("patch: %v", err)
	}
	if gotAuth == "" || gotAuth != wantAuth {
		t.Errorf("Authorization = %q, want %q", gotAuth, wantAuth)
	}
}

func TestSigV4_RequiresRegion(t *testing.T) {
	auth := client.NewSigV4(credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), "")
	c, got := MustServe(t, client.Config{Auth: auth}, 200, "application/json", scheduleJSON)
	if _, err := c.GetSchedule(context.Background(), "s1"); err == nil || !strings.Contains(err.Error(), "region") {
		t.Errorf("error = %v, want one that names the region", err)
	}
	if len(*got) != 0 {
		t.Errorf("server saw %d requests, want 0", len(*got))
	}
}

func TestRegionFromHost(t *testing.T) {
	tests := map[string]string{
		"abc123.execute-api.eu-west-1.amazonaws.com": "eu-west-1",
		"ABC.execute-api.us-east-2.amazonaws.com":    "us-east-2",
		"127.0.0.1:8080":  "",
		"api.example.com": "",
	}
	for host, want := range tests {
		if got := client.RegionFromHost(host); got != want {
			t.Errorf("RegionFromHost(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestNew_RejectsRelativeURL(t *testing.T) {
	for _, u := range []string{"", "localhost:8080", "ftp://x", "/schedules"} {
		if _, err := client.New(client.Config{BaseURL: u}); err == nil {
			t.Errorf("New(%q) succeeded, want an error", u)
		}
	}
}
