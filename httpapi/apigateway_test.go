package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mqcron/mqcron/apitest"
	"github.com/mqcron/mqcron/httpapi"
	"github.com/mqcron/mqcron/schedule"
)

// aliceSub is the Cognito sub in the testdata events.
const aliceSub = "7d1e4f2a-5b3c-4e8f-9a6b-2c1d0e9f8a7b"

// loadEvent reads an API Gateway proxy event from testdata.
func loadEvent(tb testing.TB, name string) events.APIGatewayProxyRequest {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	var ev events.APIGatewayProxyRequest
	if err := json.Unmarshal(data, &ev); err != nil {
		tb.Fatalf("decode %s: %v", name, err)
	}
	return ev
}

// withSub returns ev with the Cognito sub claim set to sub.
func withSub(ev events.APIGatewayProxyRequest, sub string) events.APIGatewayProxyRequest {
	claims := map[string]any{}
	if old, ok := ev.RequestContext.Authorizer["claims"].(map[string]any); ok {
		for k, v := range old {
			claims[k] = v
		}
	}
	claims["sub"] = sub
	ev.RequestContext.Authorizer = map[string]any{"claims": claims}
	return ev
}

// withID returns ev addressed to schedule id, with the path suffix.
func withID(ev events.APIGatewayProxyRequest, id, suffix string) events.APIGatewayProxyRequest {
	ev.Path = "/schedules/" + id + suffix
	ev.PathParameters = map[string]string{"id": id}
	return ev
}

// serveEvent runs ev through ServeAPIGateway and checks the exchange
// against the OpenAPI document. breaksContract marks an event whose
// request violates the document on purpose, as apitest.BreaksContract
// does.
func serveEvent(tb testing.TB, s *apitest.Stack, ev events.APIGatewayProxyRequest, ownerSource string, breaksContract ...bool) *apitest.Response {
	tb.Helper()
	out, err := s.Handler.ServeAPIGateway(context.Background(), ev, ownerSource)
	if err != nil {
		tb.Fatalf("ServeAPIGateway %s %s: %v", ev.HTTPMethod, ev.Path, err)
	}
	resp := &apitest.Response{Status: out.StatusCode, Header: http.Header{}, Body: []byte(out.Body)}
	for k, vs := range out.MultiValueHeaders {
		resp.Header[http.CanonicalHeaderKey(k)] = vs
	}
	for k, v := range out.Headers {
		resp.Header.Set(k, v)
	}

	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			body = []byte(ev.Body)
		}
	}
	query := url.Values{}
	for k, vs := range ev.MultiValueQueryStringParameters {
		query[k] = vs
	}
	for k, v := range ev.QueryStringParameters {
		query.Set(k, v)
	}
	req, err := http.NewRequest(ev.HTTPMethod, (&url.URL{Path: ev.Path, RawQuery: query.Encode()}).String(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	for k, vs := range ev.MultiValueHeaders {
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	s.Contract.Check(tb, req, body, resp, len(breaksContract) > 0 && breaksContract[0])
	return resp
}

func TestHandler_ServeAPIGateway(t *testing.T) {
	t.Parallel()
	s := apitest.MustStart(t, apitest.Options{Owner: httpapi.ContextOwner})
	const bobSub = "0b0b0b0b-1c1c-4d4d-8e8e-9f9f9f9f9f9f"
	cognito := httpapi.OwnerFromCognito

	// The create event carries X-Mqcron-Dev-Owner: mallory, which the
	// adapter must ignore.
	resp := serveEvent(t, s, loadEvent(t, "apigw-create.json"), cognito)
	if resp.Status != http.StatusCreated {
		t.Fatalf("create status = %d, want 201: %s", resp.Status, resp.Body)
	}
	var created schedule.Schedule
	resp.Decode(t, &created)

	t.Run("OwnerFromClaims", func(t *testing.T) {
		if want := "cognito:" + aliceSub; created.Owner != want {
			t.Errorf("owner = %q, want %q (the dev header must be ignored)", created.Owner, want)
		}
		if got := resp.Header.Get("Location"); got != "/schedules/"+created.ID {
			t.Errorf("Location = %q, want /schedules/%s", got, created.ID)
		}
		if got := resp.Header.Get("ETag"); got != `"1"` {
			t.Errorf("ETag = %q, want %q", got, `"1"`)
		}
	})

	t.Run("Base64Body", func(t *testing.T) {
		resp := serveEvent(t, s, loadEvent(t, "apigw-create-base64.json"), cognito)
		if resp.Status != http.StatusCreated {
			t.Fatalf("status = %d, want 201: %s", resp.Status, resp.Body)
		}
		var sched schedule.Schedule
		resp.Decode(t, &sched)
		if sched.Name != "lambda-base64" || sched.Target.PayloadBase64 != "AQIDBA==" || sched.Owner != "cognito:"+aliceSub {
			t.Errorf("created name %q payloadBase64 %q owner %q, want lambda-base64, AQIDBA==, alice", sched.Name, sched.Target.PayloadBase64, sched.Owner)
		}
	})

	t.Run("ErrInvalidBase64", func(t *testing.T) {
		ev := loadEvent(t, "apigw-create-base64.json")
		ev.Body = "%%% not base64 %%%"
		resp := serveEvent(t, s, ev, cognito, true)
		if resp.Status != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400: %s", resp.Status, resp.Body)
		}
		decodeProblem(t, resp)
	})

	t.Run("GetSameSub", func(t *testing.T) {
		resp := serveEvent(t, s, withID(loadEvent(t, "apigw-get.json"), created.ID, ""), cognito)
		if resp.Status != http.StatusOK {
			t.Fatalf("status = %d, want 200: %s", resp.Status, resp.Body)
		}
		var got schedule.Schedule
		resp.Decode(t, &got)
		if got.ID != created.ID || got.Name != "lambda-create" {
			t.Errorf("got id %s name %q, want %s lambda-create", got.ID, got.Name, created.ID)
		}
	})

	t.Run("GetOtherSub", func(t *testing.T) {
		resp := serveEvent(t, s, withSub(withID(loadEvent(t, "apigw-get.json"), created.ID, ""), bobSub), cognito)
		if resp.Status != http.StatusNotFound {
			t.Fatalf("status = %d, want 404: %s", resp.Status, resp.Body)
		}
		decodeProblem(t, resp)
	})

	t.Run("TriggerOtherSub", func(t *testing.T) {
		ev := withSub(withID(loadEvent(t, "apigw-get.json"), created.ID, "/trigger"), bobSub)
		ev.HTTPMethod, ev.Resource = http.MethodPost, "/schedules/{id}/trigger"
		resp := serveEvent(t, s, ev, cognito)
		if resp.Status != http.StatusNotFound {
			t.Fatalf("status = %d, want 404: %s", resp.Status, resp.Body)
		}
		decodeProblem(t, resp)
	})

	t.Run("ListSameSub", func(t *testing.T) {
		resp := serveEvent(t, s, loadEvent(t, "apigw-list.json"), cognito)
		var list scheduleList
		resp.Decode(t, &list)
		if resp.Status != http.StatusOK || len(list.Schedules) != 2 {
			t.Errorf("status %d, %d schedules, want 200 and 2", resp.Status, len(list.Schedules))
		}
	})

	t.Run("ListOtherSub", func(t *testing.T) {
		resp := serveEvent(t, s, withSub(loadEvent(t, "apigw-list.json"), bobSub), cognito)
		var list scheduleList
		resp.Decode(t, &list)
		if resp.Status != http.StatusOK || len(list.Schedules) != 0 {
			t.Errorf("status %d, %d schedules, want 200 and none", resp.Status, len(list.Schedules))
		}
	})

	t.Run("ErrNoIdentity", func(t *testing.T) {
		// The event carries X-Mqcron-Dev-Owner, which must not stand in
		// for the authorizer.
		resp := serveEvent(t, s, loadEvent(t, "apigw-no-identity.json"), cognito)
		if resp.Status != http.StatusUnauthorized {
			t.Fatalf("status = %d, want 401: %s", resp.Status, resp.Body)
		}
		if p := decodeProblem(t, resp); !strings.Contains(p.Detail, "authorizer identity") {
			t.Errorf("detail = %q, want it to name the missing authorizer identity", p.Detail)
		}
	})

	t.Run("ErrNoIdentityCreate", func(t *testing.T) {
		ev := loadEvent(t, "apigw-create.json")
		ev.RequestContext.Authorizer = nil
		resp := serveEvent(t, s, ev, cognito)
		if resp.Status != http.StatusUnauthorized {
			t.Fatalf("status = %d, want 401: %s", resp.Status, resp.Body)
		}
		decodeProblem(t, resp)
	})

	t.Run("IAM", func(t *testing.T) {
		resp := serveEvent(t, s, loadEvent(t, "apigw-iam.json"), httpapi.OwnerFromIAM)
		var list scheduleList
		resp.Decode(t, &list)
		if resp.Status != http.StatusOK || len(list.Schedules) != 0 {
			t.Errorf("status %d, %d schedules, want 200 and none for another principal", resp.Status, len(list.Schedules))
		}
		resp = serveEvent(t, s, loadEvent(t, "apigw-list.json"), httpapi.OwnerFromIAM)
		if resp.Status != http.StatusUnauthorized {
			t.Errorf("Cognito event in IAM mode: status = %d, want 401", resp.Status)
		}
	})
}
