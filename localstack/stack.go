// Package localstack starts the servers of mqcron's local mode as child
// processes and stops them. The servers are an ActiveMQ broker with the job
// scheduler (the stand-in for Amazon MQ), dynalite (a DynamoDB-compatible
// API on LevelDB) and mosquitto (the stand-in for IoT Core's MQTT broker).
//
// Every server keeps its files in a private data folder, listens on the
// configured loopback address and runs in its own process group, so that
// Stop ends the server and every process it started. A parent that handles
// SIGINT or SIGTERM must call Stop itself, because the terminal's Ctrl-C
// reaches only the parent's process group.
package localstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Names of the parts, as StopPart, StartPart and KillPart accept them.
const (
	ActiveMQ  = "activemq"
	Dynalite  = "dynalite"
	Mosquitto = "mosquitto"
)

// Config is the configuration of a local stack. Zero values take the
// defaults given on each field.
type Config struct {
	// Dir is the data folder; each server gets a subfolder. Its absolute
	// path must contain no whitespace, because Debian's activemq script
	// does not quote it. Required.
	Dir string
	// Host is the address every server listens on. Default 127.0.0.1.
	Host string
	// STOMPPort is ActiveMQ's STOMP port. Default 61613.
	STOMPPort int
	// DynamoPort is dynalite's HTTP port. Default 8000.
	DynamoPort int
	// MQTTPort is mosquitto's MQTT port. Default 1883.
	MQTTPort int
	// ToolsDir is the folder whose node_modules contains dynalite.
	// Default "tools", relative to the working directory.
	ToolsDir string
	// MaxSchedulerRepeat is the broker's maxSchedulerRepeatAllowed, the
	// largest AMQ_SCHEDULED_REPEAT it accepts. Default 1000000000.
	MaxSchedulerRepeat int
	// Logger receives start, stop and exit events. Default slog.Default().
	Logger *slog.Logger
}

// Endpoints contains the addresses of the running servers.
type Endpoints struct {
	// STOMPAddr is ActiveMQ's STOMP address as host:port.
	STOMPAddr string
	// DynamoDBURL is dynalite's base URL, such as http://127.0.0.1:8000.
	DynamoDBURL string
	// MQTTAddr is mosquitto's address as host:port; MQTT clients such as
	// paho take it as "tcp://" + MQTTAddr.
	MQTTAddr string
}

// Stack is a running set of local servers. Its methods are safe for
// concurrent use.
type Stack struct {
	cfg   Config
	log   *slog.Logger
	parts map[string]*part
	order []string

	mu      sync.Mutex
	stopped bool
	lock    *os.File // the data folder's lock, released by Stop
}

// Start checks that the servers' programs exist and their ports are free,
// starts ActiveMQ, dynalite and mosquitto in parallel and returns once each
// of them accepts connections. ActiveMQ is ready when a STOMP CONNECT gets
// CONNECTED, dynalite when it returns an HTTP response and mosquitto when an
// MQTT CONNECT gets CONNACK. If any part fails, Start stops the others and
// returns an error that names the part and what to do.
func Start(ctx context.Context, c Config) (*Stack, error) {
	started := time.Now()
	c, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	s := newStack(c)

	// The lock comes first, because the checks below kill the servers of an
	// earlier run in the folder as leftovers, even if that run is still alive.
	if s.lock, err = lockDir(c.Dir); err != nil {
		return nil, err
	}

	// Check everything before starting anything, so that a missing program
	// or a taken port leaves no process behind.
	var problems []error
	for _, name := range s.order {
		problems = append(problems, s.parts[name].check(0))
	}
	if err := errors.Join(problems...); err != nil {
		s.lock.Close()
		return nil, err
	}

	// Start the parts in parallel: ActiveMQ takes the longest, and the
	// others are ready while it starts.
	errs := make([]error, len(s.order))
	var wg sync.WaitGroup
	for i, name := range s.order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.parts[name].start(ctx)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		if stopErr := s.Stop(); stopErr != nil {
			s.log.Error("stop after failed start", "error", stopErr)
		}
		return nil, err
	}

	e := s.Endpoints()
	s.log.Info("local stack ready",
		"stomp", e.STOMPAddr, "dynamodb", e.DynamoDBURL, "mqtt", e.MQTTAddr,
		"dir", c.Dir, "elapsed", time.Since(started).Round(time.Millisecond))
	return s, nil
}

func (c Config) withDefaults() (Config, error) {
	if c.Dir == "" {
		return c, errors.New("localstack: Config.Dir is empty; set the data folder")
	}
	dir, err := filepath.Abs(c.Dir)
	if err != nil {
		return c, fmt.Errorf("localstack: data folder %q: %w", c.Dir, err)
	}
	if strings.ContainsFunc(dir, isSpace) {
		return c, fmt.Errorf("localstack: data folder %q contains whitespace, "+
			"which Debian's activemq script cannot handle; choose another folder", dir)
	}
	c.Dir = dir

	if c.Host == "" {
		c.Host = "127.0.0.1"
	}
	if c.STOMPPort == 0 {
		c.STOMPPort = 61613
	}
	if c.DynamoPort == 0 {
		c.DynamoPort = 8000
	}
	if c.MQTTPort == 0 {
		c.MQTTPort = 1883
	}

	if c.ToolsDir == "" {
		c.ToolsDir = "tools"
	}
	if c.ToolsDir, err = filepath.Abs(c.ToolsDir); err != nil {
		return c, fmt.Errorf("localstack: tools folder: %w", err)
	}

	if c.MaxSchedulerRepeat == 0 {
		c.MaxSchedulerRepeat = 1000000000
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r'
}

func newStack(c Config) *Stack {
	s := &Stack{
		cfg:   c,
		log:   c.Logger.With("component", "localstack"),
		parts: make(map[string]*part),
		order: []string{ActiveMQ, Dynalite, Mosquitto},
	}
	s.parts[ActiveMQ] = newActiveMQ(c, s.log)
	s.parts[Dynalite] = newDynalite(c, s.log)
	s.parts[Mosquitto] = newMosquitto(c, s.log)
	return s
}

// Endpoints returns the addresses of the servers.
func (s *Stack) Endpoints() Endpoints {
	host := s.cfg.Host
	return Endpoints{
		STOMPAddr:   net.JoinHostPort(host, strconv.Itoa(s.cfg.STOMPPort)),
		DynamoDBURL: "http://" + net.JoinHostPort(host, strconv.Itoa(s.cfg.DynamoPort)),
		MQTTAddr:    net.JoinHostPort(host, strconv.Itoa(s.cfg.MQTTPort)),
	}
}

// Dir returns the absolute path of the data folder.
func (s *Stack) Dir() string {
	return s.cfg.Dir
}

// Stop stops every server: SIGTERM to its process group, then SIGKILL if
// the group is still there after the part's grace period (20 s for
// ActiveMQ, 5 s for the others). Stop returns once no process of any group
// is left. Calling it again does nothing.
func (s *Stack) Stop() error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return nil
	}
	s.stopped = true
	s.mu.Unlock()

	errs := make([]error, len(s.order))
	var wg sync.WaitGroup
	for i, name := range s.order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.parts[name].stop(false)
		}()
	}
	wg.Wait()
	if s.lock != nil {
		s.lock.Close()
	}
	s.log.Info("local stack stopped", "dir", s.cfg.Dir)
	return errors.Join(errs...)
}

// StopPart stops one server the way Stop does. The name is ActiveMQ,
// Dynalite or Mosquitto.
func (s *Stack) StopPart(name string) error {
	p, err := s.part(name)
	if err != nil {
		return err
	}
	return p.stop(false)
}

// KillPart sends SIGKILL to one server's process group, as a crash would,
// and returns once the processes are gone. The data folder stays as it is;
// StartPart starts the server again on it.
func (s *Stack) KillPart(name string) error {
	p, err := s.part(name)
	if err != nil {
		return err
	}
	return p.stop(true)
}

// StartPart starts one stopped or killed server again on the same data
// folder and port and returns once it accepts connections.
func (s *Stack) StartPart(ctx context.Context, name string) error {
	p, err := s.part(name)
	if err != nil {
		return err
	}
	s.mu.Lock()
	stopped := s.stopped
	s.mu.Unlock()
	if stopped {
		return fmt.Errorf("localstack: start %s: the stack is stopped", name)
	}
	if pid := p.pid(); pid != 0 {
		return fmt.Errorf("localstack: start %s: already running (pid %d)", name, pid)
	}
	if err := p.check(10 * time.Second); err != nil {
		return err
	}
	return p.start(ctx)
}

func (s *Stack) part(name string) (*part, error) {
	p, ok := s.parts[name]
	if !ok {
		return nil, fmt.Errorf("localstack: unknown part %q; use %q, %q or %q",
			name, ActiveMQ, Dynalite, Mosquitto)
	}
	return p, nil
}
