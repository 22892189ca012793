package iotcore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/mqcron/mqcron/iotcore"
	"github.com/mqcron/mqcron/schedule"
)

const (
	testRegion = "eu-west-1"
	testKeyID  = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

var testCreds = credentials.NewStaticCredentialsProvider(testKeyID, testSecret, "")

// received is one request as the server saw it.
type received struct {
	Method     string
	RequestURI string
	Host       string
	Header     http.Header
	Body       []byte
	Request    *http.Request
}

// fakeIoT is an HTTPS server that records requests and responds with a
// fixed status and body.
type fakeIoT struct {
	*httptest.Server
	mu       sync.Mutex
	requests []received
	status   int
	errType  string
	body     string
	delay    time.Duration
}

// MustStartIoT starts a fakeIoT that responds 200 until changed.
func MustStartIoT(tb testing.TB) *fakeIoT {
	tb.Helper()
	f := &fakeIoT{status: http.StatusOK, body: `{"message":"OK"}`}
	f.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.requests = append(f.requests, received{
			Method: r.Method, RequestURI: r.RequestURI, Host: r.Host,
			Header: r.Header.Clone(), Body: body, Request: r,
		})
		status, errType, respBody, delay := f.status, f.errType, f.body, f.delay
		f.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		if errType != "" {
			w.Header().Set("x-amzn-ErrorType", errType)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, respBody)
	}))
	tb.Cleanup(f.Close)
	return f
}

func (f *fakeIoT) publisher(timeout time.Duration) *iotcore.Publisher {
	return iotcore.New(iotcore.Config{
		Endpoint:    f.URL,
		Region:      testRegion,
		Credentials: testCreds,
		HTTPClient:  f.Client(),
		Timeout:     timeout,
	})
}

func (f *fakeIoT) last(tb testing.TB) received {
	tb.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		tb.Fatal("server received no request")
	}
	return f.requests[len(f.requests)-1]
}

func TestPublisher_Publish(t *testing.T) {
	cases := []struct {
		name    string
		msg     schedule.Message
		wantURI string
	}{
		{
			name:    "TopicWithSlashes",
			msg:     schedule.Message{Topic: "devices/thermostat-12/cmd", QoS: 1, Payload: []byte(`{"cmd":"reboot"}`)},
			wantURI: "/topics/devices%2Fthermostat-12%2Fcmd?qos=1",
		},
		{
			name:    "LeadingSlash",
			msg:     schedule.Message{Topic: "/records", QoS: 0, Payload: []byte("x")},
			wantURI: "/topics/%2Frecords?qos=0",
		},
		{
			name:    "NoLeadingSlash",
			msg:     schedule.Message{Topic: "records", QoS: 0, Payload: []byte("x")},
			wantURI: "/topics/records?qos=0",
		},
		{
			name:    "SpaceAndReserved",
			msg:     schedule.Message{Topic: "a b/c?d=e&f%g", QoS: 1, Payload: []byte("x")},
			wantURI: "/topics/a%20b%2Fc%3Fd%3De%26f%25g?qos=1",
		},
		{
			name:    "Unicode",
			msg:     schedule.Message{Topic: "capteurs/température", QoS: 1, Payload: []byte("22.5")},
			wantURI: "/topics/capteurs%2Ftemp%C3%A9rature?qos=1",
		},
		{
			name: "RetainAndContentType",
			msg: schedule.Message{
				Topic: "devices/d1", QoS: 1, Retain: true,
				ContentType: "application/cbor; v=1", Payload: []byte{0x00, 0xff, 0x10},
			},
			wantURI: "/topics/devices%2Fd1?contentType=application%2Fcbor%3B%20v%3D1&qos=1&retain=true",
		},
		{
			name: "UserProperties",
			msg: schedule.Message{
				Topic: "devices/d1", QoS: 1, Payload: []byte("{}"),
				UserProperties: map[string]string{"deviceName": "alpha", "deviceCnt": "45"},
			},
			wantURI: "/topics/devices%2Fd1?qos=1",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := MustStartIoT(t)
			if err := f.publisher(0).Publish(context.Background(), &c.msg); err != nil {
				t.Fatalf("publish: %v", err)
			}
			got := f.last(t)
			if got.Method != http.MethodPost {
				t.Errorf("method = %s, want POST", got.Method)
			}
			if got.RequestURI != c.wantURI {
				t.Errorf("request URI = %s, want %s", got.RequestURI, c.wantURI)
			}
			if !bytes.Equal(got.Body, c.msg.Payload) {
				t.Errorf("body = %q, want %q", got.Body, c.msg.Payload)
			}
			if ct := got.Header.Get("Content-Type"); ct != "application/octet-stream" {
				t.Errorf("Content-Type = %q", ct)
			}
			wantProps := c.msg.UserProperties != nil
			if hasProps := got.Header.Get("x-amz-mqtt5-user-properties") != ""; hasProps != wantProps {
				t.Errorf("user properties header present = %v, want %v", hasProps, wantProps)
			}
			checkSignature(t, got)
		})
	}
}

func TestPublisher_PublishUserProperties(t *testing.T) {
	f := MustStartIoT(t)
	msg := &schedule.Message{
		Topic: "devices/d1", QoS: 1, Payload: []byte("{}"),
		UserProperties: map[string]string{"deviceName": "alpha", "deviceCnt": "45"},
	}
	if err := f.publisher(0).Publish(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	header := f.last(t).Header.Get("x-amz-mqtt5-user-properties")
	raw, err := base64.StdEncoding.DecodeString(header)
	if err != nil {
		t.Fatalf("header is not base64: %v", err)
	}
	if want := `[{"deviceCnt":"45"},{"deviceName":"alpha"}]`; string(raw) != want {
		t.Errorf("user properties = %s, want %s", raw, want)
	}
	var list []map[string]string
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatalf("user properties are not a JSON array of objects: %v", err)
	}
}

// checkSignature recomputes the SigV4 signature of the received request
// with the SDK signer, as IoT Core would, and compares it with the one the
// request carries.
func checkSignature(tb testing.TB, got received) {
	tb.Helper()
	auth := got.Header.Get("Authorization")
	amzDate := got.Header.Get("X-Amz-Date")
	when, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil {
		tb.Fatalf("X-Amz-Date %q: %v", amzDate, err)
	}
	wantPrefix := "AWS4-HMAC-SHA256 Credential=" + testKeyID + "/" + when.Format("20060102") +
		"/" + testRegion + "/iotdata/aws4_request, SignedHeaders="
	if !strings.HasPrefix(auth, wantPrefix) {
		tb.Fatalf("Authorization = %q, want prefix %q", auth, wantPrefix)
	}
	signed := strings.Split(strings.TrimPrefix(strings.Split(auth, ", ")[1], "SignedHeaders="), ";")
	for _, h := range []string{"host", "x-amz-date"} {
		if !containsString(signed, h) {
			tb.Errorf("signed headers %v lack %s", signed, h)
		}
	}
	if got.Header.Get("x-amz-mqtt5-user-properties") != "" && !containsString(signed, "x-amz-mqtt5-user-properties") {
		tb.Errorf("signed headers %v lack x-amz-mqtt5-user-properties", signed)
	}

	recomputed := resign(tb, got, signed, when, false)
	if recomputed != auth {
		tb.Errorf("signature does not verify:\n got  %s\n want %s", auth, recomputed)
	}
	// The check is sensitive to the canonical URI: signing the path without
	// the second escaping gives another signature whenever the path
	// contains an escape.
	if strings.Contains(strings.SplitN(got.RequestURI, "?", 2)[0], "%") {
		if single := resign(tb, got, signed, when, true); single == auth {
			tb.Error("signature matches a singly escaped canonical URI")
		}
	}
}

// resign signs a copy of the received request built from its request URI
// and signed headers.
func resign(tb testing.TB, got received, signed []string, when time.Time, disableEscaping bool) string {
	tb.Helper()
	req, err := http.NewRequest(got.Method, "https://"+got.Host+got.RequestURI, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.ContentLength = int64(len(got.Body))
	for _, h := range signed {
		if h != "host" && h != "content-length" {
			req.Header.Set(h, got.Header.Get(h))
		}
	}
	sum := sha256.Sum256(got.Body)
	creds, _ := testCreds.Retrieve(context.Background())
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = disableEscaping })
	err = signer.SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "iotdata", testRegion, when)
	if err != nil {
		tb.Fatal(err)
	}
	return req.Header.Get("Authorization")
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestPublisher_PublishErrors(t *testing.T) {
	cases := []struct {
		status        int
		errType, body string
		wantRetryable bool
		wantInMessage string
	}{
		{429, "ThrottlingException", `{"message":"Rate exceeded"}`, true, "Rate exceeded"},
		{500, "InternalFailureException", `{"message":"internal"}`, true, "internal"},
		{503, "ServiceUnavailableException", `{"message":"try later"}`, true, "try later"},
		{400, "InvalidRequestException", `{"message":"Invalid topic name"}`, false, "Invalid topic name"},
		{403, "ForbiddenException", `{"message":"not authorized"}`, false, "not authorized"},
		{413, "RequestEntityTooLargeException", `{"message":"PAYLOAD_LIMIT_EXCEEDED"}`, false, "PAYLOAD_LIMIT_EXCEEDED"},
	}
	for _, c := range cases {
		t.Run(http.StatusText(c.status), func(t *testing.T) {
			f := MustStartIoT(t)
			f.status, f.errType, f.body = c.status, c.errType+":http://internal.amazon.com/coral/", c.body
			err := f.publisher(0).Publish(context.Background(), &schedule.Message{Topic: "a/b", QoS: 1})
			if err == nil {
				t.Fatal("got nil error")
			}
			if got := errors.Is(err, schedule.ErrRetryable); got != c.wantRetryable {
				t.Errorf("retryable = %v, want %v (err %v)", got, c.wantRetryable, err)
			}
			var pe *iotcore.Error
			if !errors.As(err, &pe) {
				t.Fatalf("err %T is not *iotcore.Error", err)
			}
			if pe.StatusCode != c.status || pe.Type != c.errType || pe.Message != c.wantInMessage {
				t.Errorf("error = %+v", pe)
			}
			if !strings.Contains(err.Error(), c.wantInMessage) {
				t.Errorf("message %q lacks %q", err.Error(), c.wantInMessage)
			}
		})
	}
}

func TestPublisher_PublishTimeout(t *testing.T) {
	f := MustStartIoT(t)
	f.delay = 2 * time.Second
	start := time.Now()
	err := f.publisher(200*time.Millisecond).Publish(context.Background(), &schedule.Message{Topic: "a", QoS: 1})
	if !errors.Is(err, schedule.ErrRetryable) {
		t.Fatalf("err = %v, want ErrRetryable", err)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("publish took %v with a 200ms timeout", elapsed)
	}
}

func TestPublisher_PublishConnectionRefused(t *testing.T) {
	f := MustStartIoT(t)
	p := f.publisher(time.Second)
	f.Close()
	err := p.Publish(context.Background(), &schedule.Message{Topic: "a", QoS: 1})
	if !errors.Is(err, schedule.ErrRetryable) {
		t.Fatalf("err = %v, want ErrRetryable", err)
	}
}

func TestPublisher_PublishInvalid(t *testing.T) {
	f := MustStartIoT(t)
	p := f.publisher(0)
	for _, m := range []schedule.Message{{Topic: "", QoS: 1}, {Topic: "a", QoS: 2}} {
		err := p.Publish(context.Background(), &m)
		if err == nil || errors.Is(err, schedule.ErrRetryable) {
			t.Errorf("topic %q qos %d: err = %v, want a permanent error", m.Topic, m.QoS, err)
		}
	}
	noCreds := iotcore.New(iotcore.Config{Endpoint: f.URL, Region: testRegion, HTTPClient: f.Client()})
	if err := noCreds.Publish(context.Background(), &schedule.Message{Topic: "a"}); err == nil {
		t.Error("publish without credentials: got nil error")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) != 0 {
		t.Errorf("server received %d requests, want 0", len(f.requests))
	}
}

func TestPublisher_PublishSessionToken(t *testing.T) {
	f := MustStartIoT(t)
	p := iotcore.New(iotcore.Config{
		Endpoint:    f.URL,
		Region:      testRegion,
		Credentials: credentials.NewStaticCredentialsProvider(testKeyID, testSecret, "session-token"),
		HTTPClient:  f.Client(),
	})
	if err := p.Publish(context.Background(), &schedule.Message{Topic: "a", QoS: 1}); err != nil {
		t.Fatal(err)
	}
	if got := f.last(t).Header.Get("X-Amz-Security-Token"); got != "session-token" {
		t.Errorf("X-Amz-Security-Token = %q", got)
	}
}
