// Package e2e_test runs the whole flow against real local servers: the
// REST API stores a schedule, ActiveMQ's job scheduler wakes the
// dispatcher through the local event source, and mosquitto receives the
// payload.
package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqcron/mqcron/activemq"
	"github.com/mqcron/mqcron/apitest"
	"github.com/mqcron/mqcron/dispatch"
	"github.com/mqcron/mqcron/dynamo"
	"github.com/mqcron/mqcron/httpapi"
	"github.com/mqcron/mqcron/localstack"
	"github.com/mqcron/mqcron/mqttpub"
	"github.com/mqcron/mqcron/scheduler"
)

// stack is one test's private wiring: its own table, dispatch queue and
// topic prefix on the shared servers.
type stack struct {
	api        *httptest.Server
	store      *dynamo.Store
	broker     *activemq.Broker
	dispatcher *dispatch.Dispatcher
	queue      string
	topics     string // topic prefix, such as "e2e/ab12cd/"
	received   chan message
}

type message struct {
	topic   string
	payload string
	at      time.Time
}

// MustStartStack wires the API, dispatcher and event source to the local
// servers and subscribes to the test's topic prefix.
func MustStartStack(tb testing.TB) *stack {
	tb.Helper()
	stompAddr, dynamoURL, mqttAddr := apitest.Servers(tb)
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)

	table, queue := apitest.RandomName("e2e-"), apitest.RandomName("e2e.dispatch.")
	if err := localstack.EnsureTable(ctx, dynamoURL, table); err != nil {
		tb.Fatalf("create table: %v", err)
	}
	store := dynamo.New(localstack.NewDynamoDBClient(dynamoURL), table)
	broker := activemq.New(activemq.Config{Addr: stompAddr, Queue: queue})
	tb.Cleanup(func() { broker.Close() })
	publisher, err := mqttpub.Connect(ctx, mqttpub.Config{Addr: mqttAddr, ClientID: apitest.RandomName("e2e-pub-")})
	if err != nil {
		tb.Fatalf("connect publisher: %v", err)
	}
	tb.Cleanup(publisher.Close)

	s := &stack{store: store, broker: broker, queue: queue, topics: apitest.RandomName("e2e/") + "/", received: make(chan message, 1000)}
	svc := scheduler.New(scheduler.Config{Store: store, Broker: broker})
	s.dispatcher = dispatch.New(dispatch.Config{Store: store, Broker: broker, Publisher: publisher, Jobs: svc})
	s.api = httptest.NewServer(httpapi.New(httpapi.Config{Service: svc, Owner: httpapi.DevOwner}))
	tb.Cleanup(s.api.Close)

	source := activemq.NewSource(activemq.SourceConfig{
		Config: activemq.Config{Addr: stompAddr, Queue: queue},
		Window: 100 * time.Millisecond,
	})
	done := make(chan struct{})
	go func() { defer close(done); _ = source.Run(ctx, s.dispatcher.Handle) }()
	tb.Cleanup(func() { cancel(); <-done })

	s.subscribe(tb, mqttAddr)
	return s
}

func (s *stack) subscribe(tb testing.TB, addr string) {
	tb.Helper()
	opts := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(apitest.RandomName("e2e-sub-"))
	client := mqtt.NewClient(opts)
	if tok := client.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		tb.Fatalf("connect subscriber: %v", tok.Error())
	}
	tb.Cleanup(func() { client.Disconnect(100) })
	var mu sync.Mutex
	tok := client.Subscribe(s.topics+"#", 1, func(_ mqtt.Client, m mqtt.Message) {
		mu.Lock()
		defer mu.Unlock()
		s.received <- message{topic: m.Topic(), payload: string(m.Payload()), at: time.Now()}
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		tb.Fatalf("subscribe: %v", tok.Error())
	}
}

// do sends a request to the API and decodes a JSON response into out
// when out is not nil. It returns the status.
func (s *stack) do(tb testing.TB, method, path, body string, out any) int {
	tb.Helper()
	req, err := http.NewRequest(method, s.api.URL+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			tb.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

// waitMessages returns the messages that arrive within d, stopping early
// once n have arrived.
func (s *stack) waitMessages(n int, d time.Duration) []message {
	var got []message
	deadline := time.After(d)
	for len(got) < n {
		select {
		case m := <-s.received:
			got = append(got, m)
		case <-deadline:
			return got
		}
	}
	return got
}

// jobsFor returns the broker jobs on the test's queue whose body names
// scheduleID.
func (s *stack) jobsFor(tb testing.TB, scheduleID string) []activemq.BrowsedJob {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	jobs, err := s.broker.Browse(ctx)
	if err != nil {
		tb.Fatalf("browse broker jobs: %v", err)
	}
	var mine []activemq.BrowsedJob
	for _, j := range jobs {
		if bytes.Contains(j.Body, []byte(`"scheduleId":"`+scheduleID+`"`)) {
			mine = append(mine, j)
		}
	}
	return mine
}
