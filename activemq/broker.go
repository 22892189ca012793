package activemq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/mqcron/mqcron/schedule"
)

// ErrRejected is wrapped by errors for requests that the broker rejected
// with an ERROR frame, such as a repeat above maxSchedulerRepeatAllowed,
// which fails again when sent again. ActiveMQ 5.17 also returns ERROR
// frames for internal faults: a REMOVE failed now and then with a
// NullPointerException in the scheduler store's B-tree index.
var ErrRejected = errRejected

// ErrClosed is returned by Broker methods called after Close.
var ErrClosed = errors.New("activemq: broker client closed")

// Broker stores and removes broker jobs over STOMP. It implements
// schedule.Broker and is safe for concurrent use: each request takes one
// of at most Config.PoolSize connections, which are opened on first use
// and reopened after a failure.
type Broker struct {
	cfg Config
	log *slog.Logger

	// tokens limits the connections in use to PoolSize, and idle holds
	// the open connections not in use, most recently used last.
	tokens chan struct{}
	mu     sync.Mutex
	idle   []*session
	done   chan struct{}
	once   sync.Once
}

var _ schedule.Broker = (*Broker)(nil)

// New returns a Broker for c. It does not connect until the first request.
func New(c Config) *Broker {
	c = c.withDefaults()
	b := &Broker{
		cfg:    c,
		log:    c.Logger.With("component", "activemq", "addr", c.Addr),
		tokens: make(chan struct{}, c.PoolSize),
		done:   make(chan struct{}),
	}
	return b
}

// ScheduleJob sends j as one persistent message to the dispatch queue and
// returns once the broker confirmed it with a RECEIPT. It rejects a job
// that j.Validate rejects without sending anything.
//
// Errors wrap schedule.ErrUnavailable when the broker could not be reached,
// closed the connection or sent no RECEIPT within Config.ReceiptTimeout;
// ActiveMQ closes the connection without an ERROR frame when it cannot
// parse a scheduling header. They wrap ErrRejected for an ERROR frame.
// In both cases the caller must treat the job as not stored. Only one
// outcome is ambiguous: when the connection fails after the SEND was
// written, the broker may have stored the job despite the error.
func (b *Broker) ScheduleJob(ctx context.Context, j *schedule.Job) error {
	hs, err := jobHeaders(j, time.Now())
	if err != nil {
		return fmt.Errorf("activemq: invalid job: %w", err)
	}
	err = b.send(ctx, b.cfg.queueDestination(), "application/json", j.EncodeBody(), hs)
	if err != nil {
		return fmt.Errorf("activemq: schedule job for %s: %w", j.Body.ScheduleID, err)
	}
	return nil
}

// RemoveJob sends a REMOVE request for the job with the given
// scheduledJobId to the job scheduler and waits for the RECEIPT. ActiveMQ
// confirms a REMOVE for an unknown id the same way, so a nil error means
// the job no longer exists. Errors wrap schedule.ErrUnavailable or ErrRejected as in
// ScheduleJob, and a REMOVE can be sent again safely.
func (b *Broker) RemoveJob(ctx context.Context, jobID string) error {
	hs, err := removeHeaders(jobID)
	if err != nil {
		return fmt.Errorf("activemq: remove job %q: %w", jobID, err)
	}
	if err := b.send(ctx, managementTopic, "", nil, hs); err != nil {
		return fmt.Errorf("activemq: remove job %s: %w", jobID, err)
	}
	return nil
}

// send sends one frame with a receipt request on a pooled connection.
//
// A cached connection may have died while idle. send checks for that
// before it writes, and retries once on a new connection only when the
// first attempt failed before any byte of the frame reached the socket.
// Once a byte is written the broker may have stored the job, so a second
// SEND could create a duplicate; the error is returned instead.
func (b *Broker) send(
	ctx context.Context, dest, contentType string, body []byte, hs []header,
) error {
	s, err := b.acquire(ctx)
	if err != nil {
		return err
	}
	reused := s != nil

	for attempt := 1; ; attempt++ {
		if s == nil {
			s, err = b.dial(ctx)
			if err != nil {
				b.release(nil)
				return err
			}
		}

		err = b.sendOnce(ctx, s, dest, contentType, body, hs)
		if err == nil {
			b.release(s)
			return nil
		}
		s.close()
		s = nil

		if attempt == 1 && reused && errors.Is(err, errNotSent) {
			b.log.Info("retrying on a new connection", "error", err)
			continue
		}
		b.release(nil)
		if errors.Is(err, errRejected) {
			return err
		}
		return fmt.Errorf("%w: %w", schedule.ErrUnavailable, err)
	}
}

// sendOnce sends one frame and waits at most ReceiptTimeout for the
// receipt, and logs why a connection is dropped.
func (b *Broker) sendOnce(
	ctx context.Context, s *session, dest, contentType string, body []byte, hs []header,
) error {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.ReceiptTimeout)
	defer cancel()

	err := s.send(ctx, dest, contentType, body, hs)
	if err != nil {
		b.log.Warn("dropping connection", "destination", dest, "error", err)
	}
	return err
}

// acquire takes a pool position and returns the most recently used idle
// connection if it is still usable, or nil when the caller must dial.
func (b *Broker) acquire(ctx context.Context) (*session, error) {
	select {
	case <-b.done:
		return nil, ErrClosed
	default:
	}

	select {
	case b.tokens <- struct{}{}:
	case <-b.done:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: wait for a connection: %w", schedule.ErrUnavailable, ctx.Err())
	}

	b.mu.Lock()
	var s *session
	if n := len(b.idle); n > 0 {
		s = b.idle[n-1]
		b.idle = b.idle[:n-1]
	}
	b.mu.Unlock()

	if s != nil && !s.alive() {
		b.log.Info("connection closed while idle, reconnecting")
		s.close()
		s = nil
	}
	return s, nil
}

// release returns a pool position, with s open or nil.
func (b *Broker) release(s *session) {
	if s != nil {
		b.mu.Lock()
		b.idle = append(b.idle, s)
		b.mu.Unlock()
	}
	<-b.tokens
}

// dial opens a connection and logs it. Errors wrap schedule.ErrUnavailable.
func (b *Broker) dial(ctx context.Context) (*session, error) {
	start := time.Now()
	s, err := dialSession(ctx, b.cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", schedule.ErrUnavailable, err)
	}
	b.log.Info("connected", "tls", b.cfg.TLS, "username", b.cfg.Username,
		"duration", time.Since(start))
	return s, nil
}

// Close closes the pooled connections. It waits for requests in progress,
// which each end within Config.ReceiptTimeout. Later calls return
// ErrClosed.
func (b *Broker) Close() error {
	b.once.Do(func() {
		close(b.done)
		for range b.cfg.PoolSize {
			b.tokens <- struct{}{}
		}
		for _, s := range b.idle {
			s.close()
		}
		b.idle = nil
	})
	return nil
}
