package mqttpub_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqcron/mqcron/mqttpub"
	"github.com/mqcron/mqcron/schedule"
)

// MustBrokerAddr returns the MQTT broker named by MQCRON_TEST_MQTT. It
// skips the test when the variable is unset, unless MQCRON_REQUIRE_SERVERS=1.
func MustBrokerAddr(tb testing.TB) string {
	tb.Helper()
	addr := os.Getenv("MQCRON_TEST_MQTT")
	if addr == "" {
		if os.Getenv("MQCRON_REQUIRE_SERVERS") == "1" {
			tb.Fatal("MQCRON_TEST_MQTT not set and MQCRON_REQUIRE_SERVERS=1")
		}
		tb.Skip("MQCRON_TEST_MQTT not set; run make test")
	}
	return addr
}

func clientID(tb testing.TB, prefix string) string {
	tb.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return prefix + "-" + hex.EncodeToString(b)
}

// MustConnect connects a Publisher to addr and closes it at cleanup.
func MustConnect(tb testing.TB, addr string, timeout time.Duration) *mqttpub.Publisher {
	tb.Helper()
	p, err := mqttpub.Connect(context.Background(), mqttpub.Config{
		Addr: addr, ClientID: clientID(tb, "mqcron-test-pub"), Timeout: timeout,
	})
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	tb.Cleanup(p.Close)
	return p
}

// received is one message that the subscriber got.
type received struct {
	topic   string
	payload []byte
}

// MustSubscribe subscribes to filter at QoS 1 and returns the channel of
// received messages.
func MustSubscribe(tb testing.TB, addr, filter string) <-chan received {
	tb.Helper()
	ch := make(chan received, 100)
	opts := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(clientID(tb, "mqcron-test-sub"))
	c := mqtt.NewClient(opts)
	if t := c.Connect(); !t.WaitTimeout(5*time.Second) || t.Error() != nil {
		tb.Fatalf("subscriber connect: %v", t.Error())
	}
	tb.Cleanup(func() { c.Disconnect(100) })
	t := c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		ch <- received{topic: m.Topic(), payload: bytes.Clone(m.Payload())}
	})
	if !t.WaitTimeout(5*time.Second) || t.Error() != nil {
		tb.Fatalf("subscribe: %v", t.Error())
	}
	return ch
}

func TestPublisher_Publish(t *testing.T) {
	addr := MustBrokerAddr(t)
	ns := clientID(t, "mqcron-test")
	msgs := MustSubscribe(t, addr, "#")
	p := MustConnect(t, addr, 2*time.Second)

	payload := []byte("{\"cmd\":\"set\",\"target\":21.5}\x00\xff")
	topics := []string{ns + "/devices/thermostat-12/cmd", "/" + ns + "/records"}
	for _, topic := range topics {
		m := &schedule.Message{
			Topic: topic, QoS: 1, Payload: payload,
			ContentType: "application/json", UserProperties: map[string]string{"k": "v"},
		}
		if err := p.Publish(context.Background(), m); err != nil {
			t.Fatalf("publish to %s: %v", topic, err)
		}
		got := receive(t, msgs, ns)
		if got.topic != topic {
			t.Errorf("topic = %q, want %q", got.topic, topic)
		}
		if !bytes.Equal(got.payload, payload) {
			t.Errorf("payload = %q, want %q", got.payload, payload)
		}
	}
}

// receive returns the next message whose topic contains ns, skipping
// traffic of other tests on the shared broker.
func receive(tb testing.TB, msgs <-chan received, ns string) received {
	tb.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case m := <-msgs:
			if bytes.Contains([]byte(m.topic), []byte(ns)) {
				return m
			}
		case <-deadline:
			tb.Fatal("no message within 5s")
		}
	}
}

func TestPublisher_PublishInvalid(t *testing.T) {
	p := MustConnect(t, MustBrokerAddr(t), time.Second)
	for _, m := range []schedule.Message{
		{Topic: "", QoS: 1}, {Topic: "a/#", QoS: 1}, {Topic: "a/+/b", QoS: 1}, {Topic: "a", QoS: 3},
	} {
		err := p.Publish(context.Background(), &m)
		if err == nil || errors.Is(err, schedule.ErrRetryable) {
			t.Errorf("topic %q qos %d: err = %v, want a permanent error", m.Topic, m.QoS, err)
		}
	}
	// The connection survived the rejected messages.
	if err := p.Publish(context.Background(), &schedule.Message{Topic: clientID(t, "ok"), QoS: 1}); err != nil {
		t.Errorf("publish after invalid ones: %v", err)
	}
}

func TestPublisher_PublishBrokerDown(t *testing.T) {
	addr := MustBrokerAddr(t)
	proxy := MustStartProxy(t, addr)
	const timeout = 500 * time.Millisecond
	p := MustConnect(t, proxy.Addr(), timeout)
	topic := clientID(t, "mqcron-test") + "/down"
	if err := p.Publish(context.Background(), &schedule.Message{Topic: topic, QoS: 1}); err != nil {
		t.Fatalf("publish while up: %v", err)
	}

	proxy.Stop()
	start := time.Now()
	err := p.Publish(context.Background(), &schedule.Message{Topic: topic, QoS: 1, Payload: []byte("x")})
	if !errors.Is(err, schedule.ErrRetryable) {
		t.Fatalf("publish while down: err = %v, want ErrRetryable", err)
	}
	if elapsed := time.Since(start); elapsed > timeout+200*time.Millisecond {
		t.Errorf("publish while down took %v, timeout %v", elapsed, timeout)
	}

	// After the broker is back, the publisher reconnects by itself.
	proxy.Start(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := p.Publish(context.Background(), &schedule.Message{Topic: topic, QoS: 1})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reconnect within 10s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestPublisher_PublishNoAck(t *testing.T) {
	addr := MustBrokerAddr(t)
	proxy := MustStartProxy(t, addr)
	const timeout = 300 * time.Millisecond
	p := MustConnect(t, proxy.Addr(), timeout)

	// The connection stays open but nothing reaches the broker any more.
	proxy.Freeze()
	start := time.Now()
	err := p.Publish(context.Background(), &schedule.Message{Topic: clientID(t, "mqcron-test"), QoS: 1})
	if !errors.Is(err, schedule.ErrRetryable) {
		t.Fatalf("err = %v, want ErrRetryable", err)
	}
	if elapsed := time.Since(start); elapsed < timeout || elapsed > timeout+200*time.Millisecond {
		t.Errorf("publish returned after %v, want about %v", elapsed, timeout)
	}
}

func TestConnect(t *testing.T) {
	// A port with nothing listening: bind one, then close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = mqttpub.Connect(context.Background(), mqttpub.Config{Addr: addr, ClientID: "x", Timeout: time.Second})
	if err == nil {
		t.Fatal("connect to a closed port: got nil error")
	}
}

// proxy forwards TCP connections to the broker, so that a test can cut
// them without stopping the shared broker.
type proxy struct {
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
	frozen bool
}

// MustStartProxy starts a proxy to target on a free loopback port.
func MustStartProxy(tb testing.TB, target string) *proxy {
	tb.Helper()
	p := &proxy{target: target, addr: "127.0.0.1:0"}
	p.Start(tb)
	tb.Cleanup(p.Stop)
	return p
}

// Addr returns the proxy's listen address.
func (p *proxy) Addr() string { return p.addr }

// Start listens on the proxy's address (again, after Stop).
func (p *proxy) Start(tb testing.TB) {
	tb.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		tb.Fatalf("proxy listen: %v", err)
	}
	p.mu.Lock()
	p.ln, p.addr, p.frozen = ln, ln.Addr().String(), false
	p.mu.Unlock()
	go p.accept(ln)
}

func (p *proxy) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		b, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, b)
		p.mu.Unlock()
		go p.pipe(c, b)
		go p.pipe(b, c)
	}
}

// pipe copies src to dst, dropping the bytes while the proxy is frozen.
func (p *proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			frozen := p.frozen
			p.mu.Unlock()
			if !frozen {
				if _, err := dst.Write(buf[:n]); err != nil {
					return
				}
			}
		}
		if err != nil {
			dst.Close()
			return
		}
	}
}

// Freeze keeps the connections open but drops everything sent either way.
func (p *proxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frozen = true
}

// Stop closes the listener and every connection.
func (p *proxy) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
