package activemq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/go-stomp/stomp/v3"
)

// Defaults applied by NewSource to zero SourceConfig fields. BatchSize and
// Window are the defaults of Lambda's Amazon MQ event source mapping, and
// MaxRedeliveries is ActiveMQ's default redelivery policy.
const (
	DefaultBatchSize       = 100
	DefaultWindow          = 500 * time.Millisecond
	DefaultHeartBeat       = 10 * time.Second
	DefaultMaxRedeliveries = 6
	DefaultMinBackoff      = 200 * time.Millisecond
	DefaultMaxBackoff      = 30 * time.Second
	DefaultEventSourceARN  = "arn:aws:mq:local:000000000000:broker:mqcron-local:b-local"
)

// SourceConfig configures a Source.
type SourceConfig struct {
	// Config holds the connection settings and the queue to consume.
	// PoolSize is not used.
	Config
	// BatchSize is the maximum number of messages in one event. The
	// broker's prefetch is twice that, so the next batch fills while the
	// handler runs one, and at most 2*BatchSize messages are unacknowledged.
	BatchSize int
	// Window is the longest wait, from the first message of a batch, for
	// the batch to fill up.
	Window time.Duration
	// EventSourceARN is copied into every event.
	EventSourceARN string
	// HeartBeat is the STOMP heart-beat period in both directions; a
	// broker that stays silent for about 1.5 periods plus 5 s is treated
	// as gone.
	HeartBeat time.Duration
	// MaxRedeliveries is how often a message may come back after failed
	// batches before it is sent to the broker's dead-letter queue. The
	// count is kept in memory, so it restarts with the process.
	MaxRedeliveries int
	// MinBackoff and MaxBackoff bound the wait before reconnecting; the
	// wait doubles after each failure and resets after a handled batch.
	MinBackoff time.Duration
	MaxBackoff time.Duration
}

// Handler processes one event. A nil error acknowledges every message of
// the event.
type Handler func(context.Context, events.ActiveMQEvent) error

// Source consumes the dispatch queue and passes batches of messages to a
// handler as the events that Lambda's Amazon MQ event source mapping
// delivers. It is the local stand-in for that mapping and, like it,
// delivers each message at least once.
type Source struct {
	cfg SourceConfig
	log *slog.Logger
	// failures counts failed batches per message id.
	failures map[string]int
}

// maxTrackedFailures bounds the failures map; messages that another
// consumer took never leave it otherwise.
const maxTrackedFailures = 10000

// NewSource returns a Source for c. It connects when Run starts.
func NewSource(c SourceConfig) *Source {
	c.Config = c.Config.withDefaults()
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	if c.EventSourceARN == "" {
		c.EventSourceARN = DefaultEventSourceARN
	}
	if c.HeartBeat <= 0 {
		c.HeartBeat = DefaultHeartBeat
	}
	if c.MaxRedeliveries <= 0 {
		c.MaxRedeliveries = DefaultMaxRedeliveries
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = max(DefaultMaxBackoff, c.MinBackoff)
	}
	return &Source{
		cfg:      c,
		log:      c.Logger.With("component", "activemq-source", "addr", c.Addr, "queue", c.Queue),
		failures: map[string]int{},
	}
}

// Run consumes the queue and calls handler with one event per batch until
// ctx is cancelled, then returns nil.
//
// When handler returns an error, Run closes the connection, so that the
// broker redelivers the unacknowledged messages with Redelivered set.
// ActiveMQ 5.17 does not redeliver after a STOMP NACK: it moves the message
// to the dead-letter queue ActiveMQ.DLQ at once, so Run sends NACK only for
// messages that failed more than MaxRedeliveries times. When the broker is
// unreachable, Run reconnects with exponential backoff. A message whose ACK
// is lost with the connection is delivered again.
func (s *Source) Run(ctx context.Context, handler Handler) error {
	backoff := s.cfg.MinBackoff
	for {
		handled, err := s.consume(ctx, handler)
		if ctx.Err() != nil {
			return nil
		}
		if handled {
			backoff = s.cfg.MinBackoff
		}
		s.log.Warn("reconnecting", "delay", backoff, "error", err)

		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, s.cfg.MaxBackoff)
	}
}

// consume runs one connection until it fails, a batch fails or ctx is
// done. It reports whether it handled at least one batch.
func (s *Source) consume(ctx context.Context, handler Handler) (handled bool, err error) {
	conn, err := s.cfg.dialStomp(ctx, s.cfg.HeartBeat)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	// A graceful DISCONNECT writes the queued ACK frames first. The
	// messages left unacknowledged go back to the queue.
	defer conn.Disconnect()

	prefetch := 2 * s.cfg.BatchSize
	sub, err := conn.Subscribe(s.cfg.queueDestination(), stomp.AckClientIndividual,
		stomp.SubscribeOpt.Header("activemq.prefetchSize", strconv.Itoa(prefetch)))
	if err != nil {
		return false, fmt.Errorf("subscribe: %w", err)
	}
	s.log.Info("consuming", "batchSize", s.cfg.BatchSize, "window", s.cfg.Window)

	// With client-individual acks, the broker keeps at most prefetch
	// messages unacknowledged, so a buffer of that size never fills. go-stomp
	// stops writing frames, ACK included, while a subscription's channel is
	// full, so sub.C must be read all the time.
	msgs := make(chan *stomp.Message, prefetch+1)
	stop := make(chan struct{})
	defer close(stop)
	go pump(sub, msgs, stop)

	// The handler runs one batch at a time in its own goroutine while this
	// loop fills the next, as Lambda runs several invocations of one event
	// source mapping at once. inflight is nil while the handler is idle.
	// Before the connection closes, the running batch finishes, so that its
	// ACK frames are written.
	var inflight chan error
	finish := func() error {
		err := <-inflight
		inflight = nil
		if err == nil {
			handled = true
		}
		return err
	}
	defer func() {
		if inflight != nil {
			_ = finish()
		}
	}()

	var batch []*stomp.Message
	window := time.NewTimer(s.cfg.Window)
	window.Stop()
	defer window.Stop()

	for {
		select {
		case <-ctx.Done():
			return handled, ctx.Err()
		case err := <-inflight:
			inflight = nil
			if err != nil {
				return handled, err
			}
			handled = true
			continue
		case m, ok := <-msgs:
			if !ok {
				return handled, errors.New("subscription closed")
			}
			if m.Err != nil {
				return handled, m.Err
			}
			batch = append(batch, m)
			if len(batch) == 1 {
				window.Reset(s.cfg.Window)
			}
			if len(batch) < s.cfg.BatchSize {
				continue
			}
		case <-window.C:
			if len(batch) == 0 {
				continue
			}
		}

		window.Stop()
		if inflight != nil {
			if err := finish(); err != nil {
				return handled, err
			}
		}
		inflight = make(chan error, 1)
		go func(batch []*stomp.Message, done chan<- error) {
			done <- s.handle(ctx, conn, batch, handler)
		}(batch, inflight)
		batch = nil
	}
}

// pump copies messages from sub to out until stop is closed, and then
// discards them until go-stomp closes sub.C with the connection.
func pump(sub *stomp.Subscription, out chan<- *stomp.Message, stop <-chan struct{}) {
	defer close(out)
	for m := range sub.C {
		select {
		case out <- m:
		case <-stop:
			for range sub.C {
			}
			return
		}
	}
}

// handle passes one batch to handler and acknowledges it.
func (s *Source) handle(
	ctx context.Context, conn *stomp.Conn, batch []*stomp.Message, handler Handler,
) error {
	ev := events.ActiveMQEvent{EventSource: EventSource, EventSourceARN: s.cfg.EventSourceARN}
	var sent []*stomp.Message
	for _, m := range batch {
		em, err := eventMessage(m.Header, m.Body)
		if err != nil {
			s.log.Error("dead-lettering malformed message", "messageId", em.MessageID, "error", err)
			if err := conn.Nack(m); err != nil {
				return fmt.Errorf("nack: %w", err)
			}
			continue
		}
		ev.Messages = append(ev.Messages, em)
		sent = append(sent, m)
	}
	if len(sent) == 0 {
		return nil
	}

	start := time.Now()
	if err := handler(ctx, ev); err != nil {
		s.log.Warn("handler failed, releasing batch for redelivery",
			"messages", len(sent), "duration", time.Since(start), "error", err)
		if nerr := s.deadLetterExhausted(conn, sent); nerr != nil {
			return nerr
		}
		return fmt.Errorf("handler: %w", err)
	}

	for _, m := range sent {
		delete(s.failures, m.Header.Get("message-id"))
		if err := conn.Ack(m); err != nil {
			return fmt.Errorf("ack: %w", err)
		}
	}
	s.log.Debug("batch handled", "messages", len(sent), "duration", time.Since(start))
	return nil
}

// deadLetterExhausted counts a failure for each message and sends NACK,
// which moves a message to ActiveMQ.DLQ, for those that reached
// MaxRedeliveries.
func (s *Source) deadLetterExhausted(conn *stomp.Conn, msgs []*stomp.Message) error {
	if len(s.failures) > maxTrackedFailures {
		clear(s.failures)
	}
	for _, m := range msgs {
		id := m.Header.Get("message-id")
		s.failures[id]++
		if s.failures[id] <= s.cfg.MaxRedeliveries {
			continue
		}
		delete(s.failures, id)
		s.log.Error("dead-lettering message after failed deliveries",
			"messageId", id, "deliveries", s.cfg.MaxRedeliveries+1)
		if err := conn.Nack(m); err != nil {
			return fmt.Errorf("nack: %w", err)
		}
	}
	return nil
}
