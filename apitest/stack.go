package apitest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mqcron/mqcron/activemq"
	"github.com/mqcron/mqcron/dispatch"
	"github.com/mqcron/mqcron/dynamo"
	"github.com/mqcron/mqcron/httpapi"
	"github.com/mqcron/mqcron/localstack"
	"github.com/mqcron/mqcron/mqttpub"
	"github.com/mqcron/mqcron/scheduler"
)

// Servers returns the addresses of the local servers from
// MQCRON_TEST_STOMP, MQCRON_TEST_DYNAMO and MQCRON_TEST_MQTT, which
// `make test` sets. It skips the test when they are not set, unless
// MQCRON_REQUIRE_SERVERS=1 makes that a failure.
func Servers(tb testing.TB) (stompAddr, dynamoURL, mqttAddr string) {
	tb.Helper()
	stompAddr, dynamoURL, mqttAddr = os.Getenv("MQCRON_TEST_STOMP"), os.Getenv("MQCRON_TEST_DYNAMO"), os.Getenv("MQCRON_TEST_MQTT")
	if stompAddr != "" && dynamoURL != "" && mqttAddr != "" {
		return stompAddr, dynamoURL, mqttAddr
	}
	if ServersRequired() {
		tb.Fatal("MQCRON_TEST_STOMP, MQCRON_TEST_DYNAMO or MQCRON_TEST_MQTT not set but MQCRON_REQUIRE_SERVERS=1")
	}
	tb.Skip("MQCRON_TEST_STOMP, MQCRON_TEST_DYNAMO and MQCRON_TEST_MQTT not set; run make test")
	return "", "", ""
}

// ServersAvailable reports whether the server addresses are set.
func ServersAvailable() bool {
	return os.Getenv("MQCRON_TEST_STOMP") != "" && os.Getenv("MQCRON_TEST_DYNAMO") != "" &&
		os.Getenv("MQCRON_TEST_MQTT") != ""
}

// ServersRequired reports whether MQCRON_REQUIRE_SERVERS=1 is set.
func ServersRequired() bool {
	return os.Getenv("MQCRON_REQUIRE_SERVERS") == "1"
}

// RandomName returns prefix followed by 12 random hex digits.
func RandomName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// Options change the wiring of a Stack.
type Options struct {
	// MaxSchedulesPerOwner is passed to the scheduler; 0 means no limit.
	MaxSchedulesPerOwner int
	// CORSOrigins is passed to the handler.
	CORSOrigins []string
	// BrokerAddr replaces the STOMP address of the API's broker client,
	// such as a closed port to test an unreachable broker. The stack then
	// runs no dispatcher.
	BrokerAddr string
	// Owner replaces httpapi.DevOwner as the handler's owner source.
	Owner httpapi.OwnerFunc
}

// Stack is one test's API on the local servers, with its own DynamoDB
// table, dispatch queue and topic prefix, and a dispatcher that delivers
// its fires to the MQTT broker.
type Stack struct {
	Handler  *httpapi.Handler
	Server   *httptest.Server
	Store    *dynamo.Store
	Broker   *activemq.Broker
	Contract *Contract
	// Topics is a topic prefix of this stack, such as "apitest/ab12cd/".
	Topics string
}

// MustStart wires the API to the local servers and starts the
// dispatcher. Everything stops when the test ends.
func MustStart(tb testing.TB, o Options) *Stack {
	tb.Helper()
	stompAddr, dynamoURL, mqttAddr := Servers(tb)
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)

	table, queue := RandomName("apitest-"), RandomName("apitest.dispatch.")
	if err := localstack.EnsureTable(ctx, dynamoURL, table); err != nil {
		tb.Fatalf("create table %s: %v", table, err)
	}
	s := &Stack{
		Store:    dynamo.New(localstack.NewDynamoDBClient(dynamoURL), table),
		Contract: SharedContract(tb),
		Topics:   RandomName("apitest/") + "/",
	}
	apiBroker := stompAddr
	if o.BrokerAddr != "" {
		apiBroker = o.BrokerAddr
	}
	log := testLogger()
	s.Broker = activemq.New(activemq.Config{Addr: apiBroker, Queue: queue, DialTimeout: 2 * time.Second, Logger: log})
	tb.Cleanup(func() { s.Broker.Close() })

	svc := scheduler.New(scheduler.Config{
		Store: s.Store, Broker: s.Broker, MaxSchedulesPerOwner: o.MaxSchedulesPerOwner, Logger: log,
	})
	owner := o.Owner
	if owner == nil {
		owner = httpapi.DevOwner
	}
	s.Handler = httpapi.New(httpapi.Config{Service: svc, Owner: owner, CORSOrigins: o.CORSOrigins, Logger: log})
	s.Server = httptest.NewServer(s.Handler)
	tb.Cleanup(s.Server.Close)

	if o.BrokerAddr == "" {
		s.startDispatcher(ctx, cancel, tb, stompAddr, mqttAddr, queue)
	}
	return s
}

// startDispatcher runs a dispatcher on queue until the test ends. Its
// cleanup cancels ctx itself, because cleanups run in reverse order and
// the wait for the source must not come before the cancel.
func (s *Stack) startDispatcher(ctx context.Context, cancel context.CancelFunc, tb testing.TB, stompAddr, mqttAddr, queue string) {
	tb.Helper()
	publisher, err := mqttpub.Connect(ctx, mqttpub.Config{Addr: mqttAddr, ClientID: RandomName("apitest-pub-")})
	if err != nil {
		tb.Fatalf("connect MQTT publisher to %s: %v", mqttAddr, err)
	}
	tb.Cleanup(publisher.Close)
	log := testLogger()
	d := dispatch.New(dispatch.Config{Store: s.Store, Broker: s.Broker, Publisher: publisher, Logger: log})
	source := activemq.NewSource(activemq.SourceConfig{
		Config: activemq.Config{Addr: stompAddr, Queue: queue, Logger: log},
		Window: 100 * time.Millisecond,
	})
	done := make(chan struct{})
	go func() { defer close(done); _ = source.Run(ctx, d.Handle) }()
	tb.Cleanup(func() { cancel(); <-done })
}

// testLogger returns a logger that writes warnings and errors to stderr,
// so that test output keeps failures but not every fire.
func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// ClosedAddr returns a loopback address on which nothing listens: the
// address of a listener that was closed again.
func ClosedAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		tb.Fatal(err)
	}
	return addr
}

// Client sends requests to a Stack as one owner and checks each exchange
// against the contract.
type Client struct {
	stack *Stack
	owner string
}

// Client returns a client that sends X-Mqcron-Dev-Owner: owner, or no
// such header when owner is empty.
func (s *Stack) Client(owner string) *Client {
	return &Client{stack: s, owner: owner}
}

// RequestOption changes one request.
type RequestOption func(*requestSettings)

type requestSettings struct {
	header         http.Header
	breaksContract bool
}

// Header sets a request header.
func Header(key, value string) RequestOption {
	return func(r *requestSettings) { r.header.Set(key, value) }
}

// BreaksContract marks a request that violates the OpenAPI document on
// purpose. The exchange is still checked: the document must reject the
// request, and the response must match the document.
func BreaksContract() RequestOption {
	return func(r *requestSettings) { r.breaksContract = true }
}

// Do sends method path with body (Content-Type application/json unless an
// option sets another, and none when body is empty) and returns the
// response once the contract checked the exchange.
func (c *Client) Do(tb testing.TB, method, path, body string, opts ...RequestOption) *Response {
	tb.Helper()
	settings := requestSettings{header: http.Header{}}
	if body != "" {
		settings.header.Set("Content-Type", "application/json")
	}
	if c.owner != "" {
		settings.header.Set(httpapi.DevOwnerHeader, c.owner)
	}
	for _, o := range opts {
		o(&settings)
	}
	req, err := http.NewRequest(method, c.stack.Server.URL+path, strings.NewReader(body))
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	for k, vs := range settings.header {
		req.Header[k] = vs
	}

	httpResp, err := c.stack.Server.Client().Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer httpResp.Body.Close()
	data, err := io.ReadAll(httpResp.Body)
	if err != nil {
		tb.Fatalf("%s %s: read response: %v", method, path, err)
	}
	resp := &Response{Status: httpResp.StatusCode, Header: httpResp.Header, Body: data}
	c.stack.Contract.Check(tb, req, []byte(body), resp, settings.breaksContract)
	return resp
}

// DoJSON is Do with a body encoded from in (no body when in is nil) and,
// when out is not nil, the response body decoded into out.
func (c *Client) DoJSON(tb testing.TB, method, path string, in, out any, opts ...RequestOption) *Response {
	tb.Helper()
	body := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			tb.Fatalf("encode request: %v", err)
		}
		body = string(b)
	}
	resp := c.Do(tb, method, path, body, opts...)
	if out != nil {
		resp.Decode(tb, out)
	}
	return resp
}

// Decode decodes the response body into out and fails the test if it is
// not valid JSON for out.
func (r *Response) Decode(tb testing.TB, out any) {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	if err := dec.Decode(out); err != nil {
		tb.Fatalf("decode response %d %q: %v", r.Status, truncate(r.Body), err)
	}
}
