// Package activemq stores broker jobs in ActiveMQ's job scheduler over STOMP
// and consumes the dispatch queue into the events that Lambda's Amazon MQ
// event source mapping delivers.
//
// The package is written against ActiveMQ 5.17, the version that Debian
// ships, and against Amazon MQ for ActiveMQ, which runs the same code.
package activemq

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/go-stomp/stomp/v3"
)

// Defaults applied by New and NewSource to zero Config fields.
const (
	DefaultQueue          = "mqcron.dispatch"
	DefaultReceiptTimeout = 5 * time.Second
	DefaultPoolSize       = 4
	DefaultDialTimeout    = 5 * time.Second
)

// Config is the connection and destination setup of a Broker or Source.
type Config struct {
	// Addr is the STOMP endpoint as host:port, for example
	// "127.0.0.1:61613", or port 61614 of an Amazon MQ broker with TLS.
	// A comma-separated list names an active/standby pair; each connection
	// goes to the first address that accepts it. A stomp+ssl:// or
	// stomp:// prefix on an address is ignored.
	Addr string
	// TLS selects stomp+ssl, which Amazon MQ requires.
	TLS bool
	// TLSConfig overrides the TLS settings when TLS is set. Nil means the
	// system roots and the host name from Addr.
	TLSConfig *tls.Config
	// Username and Password are sent in the CONNECT frame. go-stomp
	// escapes backslashes in every header, CONNECT included, so a password
	// that contains a backslash may not match the broker's user.
	Username string
	Password string
	// Queue is the dispatch queue name without the "/queue/" prefix.
	// Empty means DefaultQueue.
	Queue string
	// ReceiptTimeout bounds the wait for a RECEIPT frame. Empty means
	// DefaultReceiptTimeout; go-stomp's own default of 30 s exceeds the
	// 29 s that API Gateway gives an integration.
	ReceiptTimeout time.Duration
	// DialTimeout bounds TCP connect, TLS handshake and the STOMP CONNECT
	// exchange. Empty means DefaultDialTimeout.
	DialTimeout time.Duration
	// PoolSize is the number of connections a Broker keeps open at most.
	// Empty means DefaultPoolSize.
	PoolSize int
	// Logger receives connection events. Nil means slog.Default().
	Logger *slog.Logger
}

// withDefaults returns c with its empty fields set to the defaults.
func (c Config) withDefaults() Config {
	if c.Queue == "" {
		c.Queue = DefaultQueue
	}
	if c.ReceiptTimeout <= 0 {
		c.ReceiptTimeout = DefaultReceiptTimeout
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.PoolSize <= 0 {
		c.PoolSize = DefaultPoolSize
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// queueDestination returns the STOMP destination of the dispatch queue.
func (c Config) queueDestination() string {
	return "/queue/" + c.Queue
}

// addrs returns the addresses listed in c.Addr. An Amazon MQ
// active/standby pair is given as "host1:61614,host2:61614"; only the
// active instance accepts connections.
func (c Config) addrs() []string {
	var out []string
	for _, a := range strings.Split(c.Addr, ",") {
		a = strings.TrimSpace(a)
		if _, rest, ok := strings.Cut(a, "://"); ok {
			a = rest // stomp+ssl://host:port, as Amazon MQ lists its endpoints
		}
		if a != "" {
			out = append(out, a)
		}
	}
	return out
}

// dialNet opens the TCP or TLS connection to the first address of c.Addr
// that accepts one.
func (c Config) dialNet(ctx context.Context) (net.Conn, error) {
	var errs []error
	for _, addr := range c.addrs() {
		conn, err := c.dialAddr(ctx, addr)
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("no broker address configured")
	}
	return nil, errors.Join(errs...)
}

func (c Config) dialAddr(ctx context.Context, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: c.DialTimeout, KeepAlive: 30 * time.Second}
	if !c.TLS {
		return d.DialContext(ctx, "tcp", addr)
	}

	tc := c.TLSConfig
	if tc == nil {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("invalid address %q: %w", addr, err)
		}
		tc = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	td := &tls.Dialer{NetDialer: d, Config: tc}
	return td.DialContext(ctx, "tcp", addr)
}

// dialStomp opens a go-stomp connection with heart-beats, for the
// subscribing side: Source and Browse.
func (c Config) dialStomp(ctx context.Context, heartBeat time.Duration) (*stomp.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.DialTimeout)
	defer cancel()

	nc, err := c.dialNet(ctx)
	if err != nil {
		return nil, err
	}
	opts := []func(*stomp.Conn) error{
		stomp.ConnOpt.AcceptVersion(stomp.V12),
		stomp.ConnOpt.HeartBeat(heartBeat, heartBeat),
		// ActiveMQ may send heart-beats late, so allow half a period more.
		stomp.ConnOpt.HeartBeatGracePeriodMultiplier(1.5),
		stomp.ConnOpt.RcvReceiptTimeout(c.ReceiptTimeout),
		stomp.ConnOpt.DisconnectReceiptTimeout(c.ReceiptTimeout),
		stomp.ConnOpt.UnsubscribeReceiptTimeout(c.ReceiptTimeout),
		stomp.ConnOpt.Logger(stompLogger{c.Logger}),
	}
	if c.Username != "" || c.Password != "" {
		opts = append(opts, stomp.ConnOpt.Login(c.Username, c.Password))
	}
	conn, err := stomp.ConnectWithContext(ctx, nc, opts...)
	if err != nil {
		nc.Close()
		return nil, err
	}
	if conn.Version() != stomp.V12 {
		conn.MustDisconnect()
		return nil, fmt.Errorf("broker speaks STOMP %s, need 1.2", conn.Version())
	}
	return conn, nil
}

// stompLogger adapts slog to go-stomp's Logger interface, one level lower
// than go-stomp's own choice because this package logs the errors that
// matter itself.
type stompLogger struct{ l *slog.Logger }

func (s stompLogger) Debugf(f string, v ...any)   { s.l.Debug(fmt.Sprintf(f, v...)) }
func (s stompLogger) Infof(f string, v ...any)    { s.l.Debug(fmt.Sprintf(f, v...)) }
func (s stompLogger) Warningf(f string, v ...any) { s.l.Info(fmt.Sprintf(f, v...)) }
func (s stompLogger) Errorf(f string, v ...any)   { s.l.Warn(fmt.Sprintf(f, v...)) }
func (s stompLogger) Debug(m string)              { s.l.Debug(m) }
func (s stompLogger) Info(m string)               { s.l.Debug(m) }
func (s stompLogger) Warning(m string)            { s.l.Info(m) }
func (s stompLogger) Error(m string)              { s.l.Warn(m) }
