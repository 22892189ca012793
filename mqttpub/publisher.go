// Package mqttpub publishes messages to an MQTT broker (mosquitto in local
// mode) over MQTT 3.1.1, standing in for IoT Core.
package mqttpub

import (
	"context"
	"fmt"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqcron/mqcron/schedule"
)

// DefaultTimeout bounds connecting and each Publish when Config.Timeout is
// zero.
const DefaultTimeout = 5 * time.Second

// maxReconnectInterval caps the pause between reconnect attempts.
const maxReconnectInterval = 2 * time.Second

// Config configures a Publisher.
type Config struct {
	// Addr is the broker's host:port, or a URL such as tcp://host:port.
	Addr string
	// ClientID identifies the connection to the broker. Two connections
	// with the same id displace each other.
	ClientID string
	// Timeout bounds connecting and the wait for each PUBACK. Zero means
	// DefaultTimeout.
	Timeout time.Duration
}

// Publisher implements schedule.Publisher on one MQTT 3.1.1 connection that
// reconnects by itself after a loss.
//
// MQTT 3.1.1 has no user properties and no content type, so Publish drops
// Message.UserProperties and Message.ContentType. Only IoT Core (MQTT 5)
// delivers them.
type Publisher struct {
	client  mqtt.Client
	timeout time.Duration
}

var _ schedule.Publisher = (*Publisher)(nil)

// Connect opens a connection to the broker at c.Addr and returns once the
// broker accepted it, or fails after c.Timeout or when ctx ends.
func Connect(ctx context.Context, c Config) (*Publisher, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	addr := c.Addr
	if !strings.Contains(addr, "://") {
		addr = "tcp://" + addr
	}
	opts := mqtt.NewClientOptions().
		AddBroker(addr).
		SetClientID(c.ClientID).
		SetCleanSession(true).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(maxReconnectInterval).
		SetConnectTimeout(timeout).
		SetWriteTimeout(timeout).
		SetOrderMatters(false)
	client := mqtt.NewClient(opts)

	token := client.Connect()
	if err := wait(ctx, token, timeout); err != nil {
		client.Disconnect(0)
		return nil, fmt.Errorf("mqtt: connect to %s: %w", c.Addr, err)
	}
	return &Publisher{client: client, timeout: timeout}, nil
}

// Publish sends m and, at QoS 1, waits for the broker's PUBACK. It returns
// an error wrapping schedule.ErrRetryable when the connection is down or
// the PUBACK does not arrive within the timeout.
//
// NOTE: paho keeps a QoS 1 message that timed out and sends it again after
// a reconnect, so a message reported as failed may still arrive once.
func (p *Publisher) Publish(ctx context.Context, m *schedule.Message) error {
	if m.QoS < 0 || m.QoS > 2 {
		return fmt.Errorf("mqtt: publish to %q: qos %d is not 0, 1 or 2", m.Topic, m.QoS)
	}
	// A broker closes the connection of a client that publishes to such a
	// topic, which would look like a retryable failure.
	if m.Topic == "" || strings.ContainsAny(m.Topic, "+#\x00") {
		return fmt.Errorf("mqtt: publish to %q: invalid topic: empty or contains +, # or NUL", m.Topic)
	}
	if !p.client.IsConnectionOpen() {
		return fmt.Errorf("mqtt: publish to %q: not connected: %w", m.Topic, schedule.ErrRetryable)
	}
	token := p.client.Publish(m.Topic, byte(m.QoS), m.Retain, m.Payload)
	if err := wait(ctx, token, p.timeout); err != nil {
		return fmt.Errorf("mqtt: publish to %q: %w: %w", m.Topic, schedule.ErrRetryable, err)
	}
	return nil
}

// Close disconnects from the broker, waiting up to 250 ms for work in
// flight.
func (p *Publisher) Close() {
	p.client.Disconnect(250)
}

// wait returns the token's error once it completes, or an error when the
// timeout passes or ctx ends first.
func wait(ctx context.Context, token mqtt.Token, timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-token.Done():
		return token.Error()
	case <-timer.C:
		return fmt.Errorf("no PUBACK from the broker within %v", timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}
