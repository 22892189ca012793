package activemq

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3/frame"

	"github.com/mqcron/mqcron/schedule"
)

// fakeServer is a loopback STOMP server that accepts CONNECT and passes
// every SEND to onSend, to test failures that a real broker cannot be
// made to produce on demand.
type fakeServer struct {
	ln     net.Listener
	onSend func(w *frame.Writer, f *frame.Frame) (keepOpen bool)

	mu    sync.Mutex
	sends int
}

func MustStartFakeServer(tb testing.TB, onSend func(*frame.Writer, *frame.Frame) bool) *fakeServer {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &fakeServer{ln: ln, onSend: onSend}
	go s.serve()
	tb.Cleanup(func() { ln.Close() })
	return s
}

func (s *fakeServer) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.handle(c)
	}
}

func (s *fakeServer) handle(c net.Conn) {
	defer c.Close()
	r, w := frame.NewReader(c), frame.NewWriter(c)
	for {
		f, err := r.Read()
		if err != nil {
			return
		}
		if f == nil {
			continue
		}
		switch f.Command {
		case frame.CONNECT:
			w.Write(frame.New(frame.CONNECTED, frame.Version, "1.2"))
		case frame.SEND:
			s.mu.Lock()
			s.sends++
			s.mu.Unlock()
			if !s.onSend(w, f) {
				return
			}
		}
	}
}

func (s *fakeServer) sendCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sends
}

func newTestBroker(addr string) *Broker {
	return New(Config{
		Addr:           addr,
		ReceiptTimeout: 300 * time.Millisecond,
		Logger:         slog.New(slog.DiscardHandler),
	})
}

func delayJob() *schedule.Job {
	return &schedule.Job{
		Body:  schedule.JobBody{Kind: schedule.JobRecurring, ScheduleID: "s1", Version: 1},
		Delay: time.Minute,
		TTL:   time.Hour,
	}
}

func TestBroker_ScheduleJobSendsFrame(t *testing.T) {
	var got *frame.Frame
	srv := MustStartFakeServer(t, func(w *frame.Writer, f *frame.Frame) bool {
		got = f
		w.Write(frame.New(frame.RECEIPT, frame.ReceiptId, f.Header.Get(frame.Receipt)))
		return true
	})
	b := newTestBroker(srv.ln.Addr().String())
	defer b.Close()

	j := delayJob()
	before := time.Now()
	if err := b.ScheduleJob(context.Background(), j); err != nil {
		t.Fatalf("ScheduleJob: %v", err)
	}

	checks := map[string]string{
		frame.Destination:     "/queue/" + DefaultQueue,
		frame.ContentType:     "application/json",
		"persistent":          "true",
		HeaderScheduledCron:   "",
		"AMQ_SCHEDULED_DELAY": "60000",
	}
	for k, want := range checks {
		if v := got.Header.Get(k); v != want {
			t.Errorf("header %s = %q, want %q", k, v, want)
		}
	}
	expires, err := int64Header(got.Header, "expires")
	if err != nil {
		t.Fatal(err)
	}
	if wantMin := before.Add(time.Hour).UnixMilli(); expires < wantMin || expires > wantMin+1000 {
		t.Errorf("expires = %d, want about %d", expires, wantMin)
	}
	if string(got.Body) != string(j.EncodeBody()) {
		t.Errorf("body = %s, want %s", got.Body, j.EncodeBody())
	}
}

func TestBroker_ScheduleJobConnectionClosed(t *testing.T) {
	// The broker closes the connection after reading the SEND, as ActiveMQ
	// does for a scheduling header it cannot parse.
	srv := MustStartFakeServer(t, func(*frame.Writer, *frame.Frame) bool { return false })
	b := newTestBroker(srv.ln.Addr().String())
	defer b.Close()

	err := b.ScheduleJob(context.Background(), delayJob())
	if !errors.Is(err, schedule.ErrUnavailable) {
		t.Fatalf("error = %v, want ErrUnavailable", err)
	}
	// A SEND that reached the broker is never sent again: the job may
	// have been stored.
	if n := srv.sendCount(); n != 1 {
		t.Errorf("server received %d SEND frames, want 1", n)
	}
}

func TestBroker_ScheduleJobReceiptTimeout(t *testing.T) {
	srv := MustStartFakeServer(t, func(*frame.Writer, *frame.Frame) bool { return true })
	b := newTestBroker(srv.ln.Addr().String())
	defer b.Close()

	start := time.Now()
	err := b.ScheduleJob(context.Background(), delayJob())
	if !errors.Is(err, schedule.ErrUnavailable) {
		t.Fatalf("error = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 2*time.Second {
		t.Errorf("returned after %s, want after the 300 ms receipt timeout", d)
	}
	if n := srv.sendCount(); n != 1 {
		t.Errorf("server received %d SEND frames, want 1", n)
	}
}

func TestBroker_ScheduleJobContextDeadline(t *testing.T) {
	srv := MustStartFakeServer(t, func(*frame.Writer, *frame.Frame) bool { return true })
	b := New(Config{Addr: srv.ln.Addr().String(), Logger: slog.New(slog.DiscardHandler)})
	defer b.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := b.ScheduleJob(ctx, delayJob())
	if !errors.Is(err, schedule.ErrUnavailable) {
		t.Fatalf("error = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("returned after %s, want soon after the 100 ms context deadline", d)
	}
}

func TestBroker_ScheduleJobErrorFrame(t *testing.T) {
	srv := MustStartFakeServer(t, func(w *frame.Writer, f *frame.Frame) bool {
		w.Write(frame.New(frame.ERROR, frame.Message, "The scheduled repeat value is too large"))
		return false
	})
	b := newTestBroker(srv.ln.Addr().String())
	defer b.Close()

	err := b.ScheduleJob(context.Background(), delayJob())
	if !errors.Is(err, ErrRejected) {
		t.Fatalf("error = %v, want ErrRejected", err)
	}
	if errors.Is(err, schedule.ErrUnavailable) {
		t.Errorf("error = %v also wraps ErrUnavailable", err)
	}
}

func TestBroker_ScheduleJobUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	b := newTestBroker(addr)
	defer b.Close()
	err = b.ScheduleJob(context.Background(), delayJob())
	if !errors.Is(err, schedule.ErrUnavailable) {
		t.Fatalf("error = %v, want ErrUnavailable", err)
	}
}

func TestBroker_Close(t *testing.T) {
	b := newTestBroker("127.0.0.1:1")
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := b.RemoveJob(context.Background(), "ID:1"); !errors.Is(err, ErrClosed) {
		t.Errorf("RemoveJob after Close: error = %v, want ErrClosed", err)
	}
}
