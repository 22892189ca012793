package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/mqcron/mqcron/apitest"
	"github.com/mqcron/mqcron/httpapi"
)

func TestHandler_Preview(t *testing.T) {
	t.Parallel()
	s := apitest.MustStart(t, apitest.Options{})
	c := s.Client("")

	t.Run("OK", func(t *testing.T) {
		body := `{"scheduleExpression":"30 8 * * 1-5","scheduleExpressionTimezone":"Europe/Berlin","after":"2026-03-27T00:00:00Z","count":3}`
		var out struct {
			Fires []string `json:"fires"`
		}
		resp := c.DoJSON(t, http.MethodPost, "/preview", json.RawMessage(body), &out)
		if resp.Status != http.StatusOK {
			t.Fatalf("status = %d, want 200: %s", resp.Status, resp.Body)
		}
		// Friday, then Monday and Tuesday after the switch to summer time
		// on 29 March 2026.
		want := []string{"2026-03-27T08:30:00+01:00", "2026-03-30T08:30:00+02:00", "2026-03-31T08:30:00+02:00"}
		if strings.Join(out.Fires, " ") != strings.Join(want, " ") {
			t.Errorf("fires = %v, want %v", out.Fires, want)
		}
	})

	t.Run("ErrInvalidExpression", func(t *testing.T) {
		resp := c.Do(t, http.MethodPost, "/preview", `{"scheduleExpression":"0 0 * * 8"}`)
		if resp.Status != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400: %s", resp.Status, resp.Body)
		}
		if p := decodeProblem(t, resp); len(p.Errors) == 0 || p.Errors[0].Pointer != "/scheduleExpression" {
			t.Errorf("errors = %+v, want the first on /scheduleExpression", p.Errors)
		}
	})

	t.Run("ErrCountTooLarge", func(t *testing.T) {
		resp := c.Do(t, http.MethodPost, "/preview", `{"scheduleExpression":"rate(1 minute)","count":101}`, apitest.BreaksContract())
		if resp.Status != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400: %s", resp.Status, resp.Body)
		}
		if p := decodeProblem(t, resp); len(p.Errors) != 1 || p.Errors[0].Pointer != "/count" {
			t.Errorf("errors = %+v, want one on /count", p.Errors)
		}
	})

	t.Run("ErrUnsupportedMediaType", func(t *testing.T) {
		resp := c.Do(t, http.MethodPost, "/preview", `scheduleExpression=x`,
			apitest.Header("Content-Type", "application/x-www-form-urlencoded"), apitest.BreaksContract())
		if resp.Status != http.StatusUnsupportedMediaType {
			t.Fatalf("status = %d, want 415: %s", resp.Status, resp.Body)
		}
		decodeProblem(t, resp)
	})

	t.Run("ErrBodyTooLarge", func(t *testing.T) {
		body := `{"scheduleExpression":"` + strings.Repeat("x", 300*1024) + `"}`
		resp := c.Do(t, http.MethodPost, "/preview", body)
		if resp.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status = %d, want 413: %s", resp.Status, resp.Body)
		}
		decodeProblem(t, resp)
	})
}

func TestHandler_OpenAPI(t *testing.T) {
	t.Parallel()
	s := apitest.MustStart(t, apitest.Options{})
	resp := s.Client("").Do(t, http.MethodGet, "/openapi.json", "")
	if resp.Status != http.StatusOK {
		t.Fatalf("status = %d, want 200", resp.Status)
	}
	if !bytes.Equal(resp.Body, httpapi.OpenAPI()) {
		t.Error("GET /openapi.json differs from httpapi.OpenAPI")
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
	}
	resp.Decode(t, &doc)
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
}

func TestHandler_Healthz(t *testing.T) {
	t.Parallel()
	s := apitest.MustStart(t, apitest.Options{})
	var out struct {
		Status string `json:"status"`
	}
	resp := s.Client("").DoJSON(t, http.MethodGet, "/healthz", nil, &out)
	if resp.Status != http.StatusOK || out.Status != "ok" {
		t.Errorf("status %d body %s, want 200 and status ok", resp.Status, resp.Body)
	}
}
