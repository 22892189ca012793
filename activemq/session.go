package activemq

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-stomp/stomp/v3/frame"
)

// aliveCheckAfter is the idle time after which a session checks, before a
// SEND, whether the broker has closed the connection meanwhile (a broker
// restart, or a Lambda sandbox frozen between invocations).
const aliveCheckAfter = time.Second

// aliveCheckWait is how long that check waits for pending input.
const aliveCheckWait = time.Millisecond

// errNotSent marks a request that failed before any byte of its frame
// reached the connection, so that the broker cannot have acted on it.
var errNotSent = errors.New("frame not sent")

// errRejected marks an ERROR frame that the broker returned for a request.
var errRejected = errors.New("rejected by broker")

// session is a synchronous STOMP 1.2 connection for request and receipt
// exchanges. It reads only while it waits for a receipt, so that input
// pending between requests can be checked before the next one. A session
// is not safe for concurrent use.
type session struct {
	nc       net.Conn
	counter  *countingWriter
	br       *bufio.Reader
	reader   *frame.Reader
	writer   *frame.Writer
	lastUsed time.Time
	// broken is set when a cancellation may have moved the deadline of
	// the connection after a request ended.
	broken bool
}

// countingWriter counts the bytes that the connection accepted.
type countingWriter struct {
	w net.Conn
	n atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

var receiptSeq atomic.Uint64

// dialSession connects to the broker and completes the CONNECT exchange
// with heart-beats off, so the broker sends nothing between requests.
func dialSession(ctx context.Context, c Config) (*session, error) {
	ctx, cancel := context.WithTimeout(ctx, c.DialTimeout)
	defer cancel()

	nc, err := c.dialNet(ctx)
	if err != nil {
		return nil, err
	}
	s := newSession(nc)

	f := frame.New(frame.CONNECT,
		frame.AcceptVersion, "1.2",
		frame.HeartBeat, "0,0",
		frame.Host, hostOf(c.Addr))
	if c.Username != "" || c.Password != "" {
		f.Header.Set(frame.Login, c.Username)
		f.Header.Set(frame.Passcode, c.Password)
	}
	resp, err := s.roundTrip(ctx, f, "")
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("connect: %w", err)
	}
	if v := resp.Header.Get(frame.Version); v != "1.2" {
		nc.Close()
		return nil, fmt.Errorf("connect: broker speaks STOMP %q, need 1.2", v)
	}
	return s, nil
}

func newSession(nc net.Conn) *session {
	cw := &countingWriter{w: nc}
	// frame.NewReader reuses br because br is a *bufio.Reader of at least
	// its own buffer size, so Peek in alive returns what Read would read.
	br := bufio.NewReaderSize(nc, 4096)
	return &session{
		nc:       nc,
		counter:  cw,
		br:       br,
		reader:   frame.NewReader(br),
		writer:   frame.NewWriter(cw),
		lastUsed: time.Now(),
	}
}

// send writes a SEND frame with a receipt request and waits for the
// RECEIPT. Errors wrap errNotSent when no byte of the frame was written,
// and errRejected when the broker returned an ERROR frame.
func (s *session) send(
	ctx context.Context, dest, contentType string, body []byte, hs []header,
) error {
	f := frame.New(frame.SEND, frame.Destination, dest)
	if contentType != "" {
		f.Header.Set(frame.ContentType, contentType)
	}
	// content-length makes ActiveMQ store a bytes message.
	f.Header.Set(frame.ContentLength, strconv.Itoa(len(body)))
	for _, h := range hs {
		f.Header.Add(h.key, h.value)
	}
	f.Body = body

	id := "mqcron-" + strconv.FormatUint(receiptSeq.Add(1), 10)
	f.Header.Set(frame.Receipt, id)
	_, err := s.roundTrip(ctx, f, id)
	return err
}

// roundTrip writes f and reads frames until the RECEIPT for receiptID, or
// the CONNECTED frame when receiptID is empty, or until ctx is done.
func (s *session) roundTrip(
	ctx context.Context, f *frame.Frame, receiptID string,
) (*frame.Frame, error) {
	deadline, _ := ctx.Deadline()
	if err := s.nc.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("%w: %w", errNotSent, err)
	}
	stop := context.AfterFunc(ctx, func() { s.nc.SetDeadline(time.Now()) })
	defer func() {
		if !stop() {
			s.broken = true
		}
	}()

	before := s.counter.n.Load()
	if err := s.writer.Write(f); err != nil {
		if s.counter.n.Load() == before {
			return nil, fmt.Errorf("write %s: %w: %w", f.Command, errNotSent, err)
		}
		return nil, fmt.Errorf("write %s: %w", f.Command, err)
	}
	s.lastUsed = time.Now()

	for {
		resp, err := s.reader.Read()
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, fmt.Errorf("wait for %s response: %w", f.Command, ctx.Err())
		case errors.Is(err, os.ErrDeadlineExceeded):
			return nil, fmt.Errorf("wait for %s response: timed out", f.Command)
		case err != nil:
			return nil, fmt.Errorf("wait for %s response: connection closed: %w", f.Command, err)
		case resp == nil:
			continue // heart-beat
		case resp.Command == frame.ERROR:
			return nil, fmt.Errorf("%w: %s", errRejected, errorText(resp))
		case receiptID == "" && resp.Command == frame.CONNECTED:
			return resp, nil
		case resp.Command == frame.RECEIPT && resp.Header.Get(frame.ReceiptId) == receiptID:
			return resp, nil
		}
	}
}

// alive reports whether the connection can take a request. After an idle
// period it looks for pending input: a closed connection has EOF pending,
// while a healthy one has nothing to read, because heart-beats are off.
func (s *session) alive() bool {
	if s.broken || !s.skipEOLs() {
		return false
	}
	if time.Since(s.lastUsed) < aliveCheckAfter {
		return true
	}
	if err := s.nc.SetReadDeadline(time.Now().Add(aliveCheckWait)); err != nil {
		return false
	}
	_, err := s.br.Peek(1)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	return err == nil && s.skipEOLs()
}

// skipEOLs discards the buffered end-of-line bytes that ActiveMQ sends
// after each frame, and reports whether nothing else is buffered. Anything
// else is a frame that no request asked for, such as an ERROR.
func (s *session) skipEOLs() bool {
	for s.br.Buffered() > 0 {
		b, _ := s.br.Peek(1)
		if b[0] != '\n' && b[0] != '\r' {
			return false
		}
		s.br.Discard(1)
	}
	return true
}

// close sends DISCONNECT without waiting for its receipt and closes the
// connection.
func (s *session) close() error {
	s.nc.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	s.writer.Write(frame.New(frame.DISCONNECT))
	return s.nc.Close()
}

// errorText returns the message of an ERROR frame.
func errorText(f *frame.Frame) string {
	msg := f.Header.Get(frame.Message)
	if len(f.Body) > 0 {
		msg += ": " + string(f.Body)
	}
	return msg
}

// hostOf returns the host part of addr, or addr when it has no port.
func hostOf(addr string) string {
	if addrs := (Config{Addr: addr}).addrs(); len(addrs) > 0 {
		addr = addrs[0]
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}
