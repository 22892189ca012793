package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mqcron/mqcron/apitest"
)

// The requests in this file are outside the OpenAPI document: browsers
// send CORS preflight requests on their own, and unknown routes are by
// definition not operations. They go to the server directly.

// send sends a request without a body and returns the response.
func send(tb testing.TB, s *apitest.Stack, method, path string, header http.Header) *http.Response {
	tb.Helper()
	req, err := http.NewRequest(method, s.Server.URL+path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header = header
	resp, err := s.Server.Client().Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	resp.Body.Close()
	return resp
}

func TestHandler_CORS(t *testing.T) {
	t.Parallel()
	const origin = "https://console.example.com"
	s := apitest.MustStart(t, apitest.Options{CORSOrigins: []string{origin}})

	t.Run("Preflight", func(t *testing.T) {
		for _, tt := range []struct{ method, path string }{
			{http.MethodPatch, "/schedules/aaaaaaaaaaaaaaaa"},
			{http.MethodPost, "/schedules"},
			{http.MethodDelete, "/schedules/aaaaaaaaaaaaaaaa"},
		} {
			if !s.Contract.HasOperation(tt.method, tt.path) {
				t.Fatalf("the OpenAPI document has no operation %s %s", tt.method, tt.path)
			}
			resp := send(t, s, http.MethodOptions, tt.path, http.Header{
				"Origin":                         {origin},
				"Access-Control-Request-Method":  {tt.method},
				"Access-Control-Request-Headers": {"content-type, if-match, idempotency-key"},
			})
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("%s preflight status = %d, want 204", tt.path, resp.StatusCode)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != origin {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, origin)
			}
			if got := resp.Header.Get("Access-Control-Allow-Methods"); !strings.Contains(got, tt.method) {
				t.Errorf("Access-Control-Allow-Methods = %q, want it to contain %s", got, tt.method)
			}
			allowHeaders := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
			for _, h := range []string{"content-type", "if-match", "idempotency-key"} {
				if !strings.Contains(allowHeaders, h) {
					t.Errorf("Access-Control-Allow-Headers = %q, want it to contain %s", allowHeaders, h)
				}
			}
		}
	})

	t.Run("ExposedHeaders", func(t *testing.T) {
		resp := send(t, s, http.MethodGet, "/schedules", http.Header{"Origin": {origin}})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status = %d, want 200", resp.StatusCode)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != origin {
			t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, origin)
		}
		exposed := resp.Header.Get("Access-Control-Expose-Headers")
		for _, h := range []string{"ETag", "Location", "Retry-After"} {
			if !strings.Contains(exposed, h) {
				t.Errorf("Access-Control-Expose-Headers = %q, want it to contain %s", exposed, h)
			}
		}
	})

	t.Run("OtherOrigin", func(t *testing.T) {
		resp := send(t, s, http.MethodOptions, "/schedules", http.Header{
			"Origin":                        {"https://evil.example.com"},
			"Access-Control-Request-Method": {http.MethodPost},
		})
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("Access-Control-Allow-Origin = %q for an origin that is not configured, want none", got)
		}
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("status = %d, want 405", resp.StatusCode)
		}
	})
}

func TestHandler_NoRoute(t *testing.T) {
	t.Parallel()
	s := apitest.MustStart(t, apitest.Options{})
	tests := []struct {
		name, method, path string
		wantStatus         int
		wantAllow          string
	}{
		{"UnknownPath", http.MethodGet, "/nothing/here", http.StatusNotFound, ""},
		{"WrongMethod", http.MethodPost, "/openapi.json", http.StatusMethodNotAllowed, "GET"},
		{"WrongMethodOnPreview", http.MethodGet, "/preview", http.StatusMethodNotAllowed, "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s.Contract.HasOperation(tt.method, tt.path) {
				t.Fatalf("the OpenAPI document has an operation %s %s", tt.method, tt.path)
			}
			resp := send(t, s, tt.method, tt.path, http.Header{})
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if got := resp.Header.Get("Content-Type"); got != "application/problem+json" {
				t.Errorf("Content-Type = %q, want application/problem+json", got)
			}
			if got := resp.Header.Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow = %q, want %q", got, tt.wantAllow)
			}
		})
	}
}
