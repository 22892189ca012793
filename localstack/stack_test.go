package localstack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/go-stomp/stomp/v3"
)

// These tests start the real servers. They fail, not skip, when a server's
// program is missing, with Start's error naming the program and the fix:
// run scripts/install-deps.sh.

func TestStack_Start(t *testing.T) {
	s, elapsed := MustStart(t, Config{})
	t.Logf("cold start of all three servers: %s", elapsed.Round(time.Millisecond))
	e := s.Endpoints()

	t.Run("STOMPScheduledDelay", func(t *testing.T) {
		conn := MustDialSTOMP(t, e.STOMPAddr)
		sub, err := conn.Subscribe("/queue/localstack.test", stomp.AckAuto)
		if err != nil {
			t.Fatalf("subscribe: %v", err)
		}

		sent := time.Now()
		err = conn.Send("/queue/localstack.test", "text/plain", []byte("hello"),
			stomp.SendOpt.Receipt,
			stomp.SendOpt.Header("persistent", "true"),
			stomp.SendOpt.Header("AMQ_SCHEDULED_DELAY", "1000"))
		if err != nil {
			t.Fatalf("send with receipt: %v", err)
		}

		msg := MustReceive(t, sub, 15*time.Second)
		if got := string(msg.Body); got != "hello" {
			t.Errorf("body = %q, want %q", got, "hello")
		}
		if got := msg.Header.Get("scheduledJobId"); got == "" {
			t.Error("fired message has no scheduledJobId header")
		}
		// The broker rounds delays to 500 ms steps.
		if got := time.Since(sent); got < 500*time.Millisecond {
			t.Errorf("message arrived %s after the send, want at least the 1 s delay", got)
		}
	})

	t.Run("DynamoDBEnsureTable", func(t *testing.T) {
		ctx := context.Background()
		if err := EnsureTable(ctx, e.DynamoDBURL, "mqcron"); err != nil {
			t.Fatalf("EnsureTable: %v", err)
		}
		// A second call finds the table and changes nothing.
		if err := EnsureTable(ctx, e.DynamoDBURL, "mqcron"); err != nil {
			t.Fatalf("EnsureTable on an existing table: %v", err)
		}

		out, err := NewDynamoDBClient(e.DynamoDBURL).DescribeTable(ctx,
			&dynamodb.DescribeTableInput{TableName: aws.String("mqcron")})
		if err != nil {
			t.Fatalf("DescribeTable: %v", err)
		}
		if got := out.Table.TableStatus; got != types.TableStatusActive {
			t.Errorf("table status = %s, want ACTIVE", got)
		}
		if !hasKeys(out.Table.KeySchema, "pk", "sk") {
			t.Errorf("key schema = %+v, want pk (HASH), sk (RANGE)", out.Table.KeySchema)
		}
		if got := len(out.Table.GlobalSecondaryIndexes); got != 1 {
			t.Fatalf("table has %d global secondary indexes, want 1", got)
		}
		gsi := out.Table.GlobalSecondaryIndexes[0]
		if got := aws.ToString(gsi.IndexName); got != OwnerIndex {
			t.Errorf("index name = %q, want %q", got, OwnerIndex)
		}
		if got := gsi.Projection.ProjectionType; got != types.ProjectionTypeAll {
			t.Errorf("index projection = %s, want ALL", got)
		}
		if got := out.Table.BillingModeSummary; got == nil ||
			got.BillingMode != types.BillingModePayPerRequest {
			t.Errorf("billing mode summary = %+v, want PAY_PER_REQUEST", got)
		}
	})

	t.Run("MQTTPublishSubscribe", func(t *testing.T) {
		client := MustConnectMQTT(t, e.MQTTAddr, "localstack-test")
		received := make(chan mqtt.Message, 1)
		token := client.Subscribe("devices/+/cmd", 1, func(_ mqtt.Client, m mqtt.Message) {
			received <- m
		})
		if !token.WaitTimeout(5*time.Second) || token.Error() != nil {
			t.Fatalf("subscribe: %v", token.Error())
		}

		token = client.Publish("devices/thermostat-12/cmd", 1, false, `{"setpoint":21}`)
		if !token.WaitTimeout(5*time.Second) || token.Error() != nil {
			t.Fatalf("publish: %v", token.Error())
		}

		select {
		case m := <-received:
			if got := m.Topic(); got != "devices/thermostat-12/cmd" {
				t.Errorf("topic = %q, want devices/thermostat-12/cmd", got)
			}
			if got := string(m.Payload()); got != `{"setpoint":21}` {
				t.Errorf("payload = %q, want %q", got, `{"setpoint":21}`)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no MQTT message within 5 s")
		}
	})

	t.Run("BrokerMemory", func(t *testing.T) {
		pid := javaPID(t, s)
		status, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
		if err != nil {
			t.Fatalf("read broker status: %v", err)
		}
		for _, line := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(line, "VmRSS:") {
				t.Logf("broker JVM (pid %d) %s", pid, strings.Join(strings.Fields(line), " "))
			}
		}
	})

	// Stop must leave no process of any part behind, and a second Stop
	// does nothing.
	groups := make(map[string]int)
	for _, name := range s.order {
		groups[name] = s.parts[name].pid()
		if groups[name] == 0 {
			t.Fatalf("%s has no process before Stop", name)
		}
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	for name, pgid := range groups {
		if groupAlive(pgid) {
			t.Errorf("%s: process group %d still has processes after Stop", name, pgid)
		}
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestStart_PortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port

	cfg := testConfig(t)
	cfg.STOMPPort = port
	s, err := Start(context.Background(), cfg)
	if err == nil {
		s.Stop()
		t.Fatal("Start succeeded with the STOMP port taken")
	}
	want := fmt.Sprintf("port %d (ActiveMQ STOMP) is in use on 127.0.0.1; "+
		"stop the process using it or set --stomp-port", port)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error = %q, want it to contain %q", err, want)
	}
	entries, _ := os.ReadDir(cfg.Dir)
	for _, e := range entries {
		if e.Name() != lockName {
			t.Errorf("data folder has %s, want only %s: nothing may start", e.Name(), lockName)
		}
	}
}

func TestStart_FolderInUse(t *testing.T) {
	s, _ := MustStart(t, Config{})
	second := testConfig(t)
	second.Dir = s.Dir()
	if _, err := Start(context.Background(), second); err == nil {
		t.Fatal("a second Start in the same data folder succeeded")
	} else {
		want := fmt.Sprintf("data folder %s is in use by another mqcron process (pid %d)", s.Dir(), os.Getpid())
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error = %q, want it to contain %q", err, want)
		}
	}

	// The running stack's servers are untouched.
	for _, name := range []string{ActiveMQ, Dynalite, Mosquitto} {
		p, err := s.part(name)
		if err != nil {
			t.Fatal(err)
		}
		if pid := p.pid(); pid == 0 || syscall.Kill(pid, 0) != nil {
			t.Errorf("%s: process %d is gone after the refused Start", name, pid)
		}
	}
	conn, err := net.DialTimeout("tcp", s.Endpoints().STOMPAddr, 2*time.Second)
	if err != nil {
		t.Fatalf("STOMP port after the refused Start: %v", err)
	}
	conn.Close()
}

func TestStart_MissingDynalite(t *testing.T) {
	cfg := testConfig(t)
	cfg.ToolsDir = t.TempDir()
	s, err := Start(context.Background(), cfg)
	if err == nil {
		s.Stop()
		t.Fatal("Start succeeded without dynalite")
	}
	if !strings.Contains(err.Error(), "dynalite not found") {
		t.Errorf("error = %q, want it to name dynalite", err)
	}
	if !strings.Contains(err.Error(), "run scripts/install-deps.sh") {
		t.Errorf("error = %q, want it to say to run scripts/install-deps.sh", err)
	}
}

func TestStack_KillPart(t *testing.T) {
	s, _ := MustStart(t, Config{})
	e := s.Endpoints()
	ctx := context.Background()

	// Store a job that fires every 4 s, starting 4 s from now, then crash
	// the broker right after the receipt.
	conn := MustDialSTOMP(t, e.STOMPAddr)
	err := conn.Send("/queue/localstack.kill", "text/plain", []byte("survivor"),
		stomp.SendOpt.Receipt,
		stomp.SendOpt.Header("persistent", "true"),
		stomp.SendOpt.Header("AMQ_SCHEDULED_DELAY", "4000"),
		stomp.SendOpt.Header("AMQ_SCHEDULED_PERIOD", "4000"),
		stomp.SendOpt.Header("AMQ_SCHEDULED_REPEAT", "9"))
	if err != nil {
		t.Fatalf("send with receipt: %v", err)
	}
	_ = conn.MustDisconnect()
	if err := EnsureTable(ctx, e.DynamoDBURL, "mqcron"); err != nil {
		t.Fatalf("EnsureTable: %v", err)
	}

	for _, name := range []string{ActiveMQ, Dynalite, Mosquitto} {
		pgid := s.parts[name].pid()
		if err := s.KillPart(name); err != nil {
			t.Fatalf("KillPart(%s): %v", name, err)
		}
		if groupAlive(pgid) {
			t.Fatalf("%s: process group %d still runs after KillPart", name, pgid)
		}
		restarted := time.Now()
		if err := s.StartPart(ctx, name); err != nil {
			t.Fatalf("StartPart(%s): %v", name, err)
		}
		t.Logf("%s restarted in %s", name, time.Since(restarted).Round(time.Millisecond))
	}

	// The job is still in the scheduler store after the crash.
	conn = MustDialSTOMP(t, e.STOMPAddr)
	jobs := browseJobs(t, conn)
	if len(jobs) != 1 {
		t.Fatalf("BROWSE returned %d jobs after the restart, want 1", len(jobs))
	}
	if got := string(jobs[0].Body); got != "survivor" {
		t.Errorf("browsed job body = %q, want %q", got, "survivor")
	}
	jobID := jobs[0].Header.Get("scheduledJobId")

	// It keeps firing.
	sub, err := conn.Subscribe("/queue/localstack.kill", stomp.AckAuto)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	msg := MustReceive(t, sub, 30*time.Second)
	if got := string(msg.Body); got != "survivor" {
		t.Errorf("fired body = %q, want %q", got, "survivor")
	}
	if got := msg.Header.Get("scheduledJobId"); got != jobID {
		t.Errorf("fired scheduledJobId = %q, want the browsed job %q", got, jobID)
	}

	// dynalite kept its table in LevelDB.
	out, err := NewDynamoDBClient(e.DynamoDBURL).DescribeTable(ctx,
		&dynamodb.DescribeTableInput{TableName: aws.String("mqcron")})
	if err != nil {
		t.Fatalf("DescribeTable after the dynalite restart: %v", err)
	}
	if got := out.Table.TableStatus; got != types.TableStatusActive {
		t.Errorf("table status after restart = %s, want ACTIVE", got)
	}

	// mosquitto accepts clients again.
	MustConnectMQTT(t, e.MQTTAddr, "localstack-after-kill")
}

func TestStack_StopPart(t *testing.T) {
	s, _ := MustStart(t, Config{})
	pgid := s.parts[Mosquitto].pid()

	if err := s.StopPart(Mosquitto); err != nil {
		t.Fatalf("StopPart: %v", err)
	}
	if groupAlive(pgid) {
		t.Fatalf("mosquitto process group %d still runs after StopPart", pgid)
	}
	if err := probeMQTT(context.Background(), s.Endpoints().MQTTAddr); err == nil {
		t.Fatal("MQTT CONNECT succeeded after StopPart")
	}
	if err := s.StopPart("rabbitmq"); err == nil {
		t.Error("StopPart of an unknown part returned no error")
	}

	if err := s.StartPart(context.Background(), Mosquitto); err != nil {
		t.Fatalf("StartPart: %v", err)
	}
	if err := s.StartPart(context.Background(), Mosquitto); err == nil {
		t.Error("StartPart of a running part returned no error")
	}
}

// TestStart_CronInUTC runs the broker under a process time zone of
// UTC+05:45 and checks that a cron job for the next UTC minute fires at
// that minute, so the broker evaluates cron in UTC as Amazon MQ does.
func TestStart_CronInUTC(t *testing.T) {
	if testing.Short() {
		t.Skip("waits up to two minutes for a cron fire; run without -short")
	}
	t.Setenv("TZ", "Asia/Kathmandu")
	s, _ := MustStart(t, Config{})

	// Leave at least 10 s between the send and the fire.
	due := time.Now().UTC().Truncate(time.Minute).Add(time.Minute)
	if time.Until(due) < 10*time.Second {
		due = due.Add(time.Minute)
	}
	cron := fmt.Sprintf("%d %d * * *", due.Minute(), due.Hour())

	conn := MustDialSTOMP(t, s.Endpoints().STOMPAddr)
	sub, err := conn.Subscribe("/queue/localstack.cron", stomp.AckAuto)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	err = conn.Send("/queue/localstack.cron", "text/plain", []byte("tick"),
		stomp.SendOpt.Receipt,
		stomp.SendOpt.Header("persistent", "true"),
		stomp.SendOpt.Header("AMQ_SCHEDULED_CRON", cron))
	if err != nil {
		t.Fatalf("send cron %q: %v", cron, err)
	}

	MustReceive(t, sub, time.Until(due)+15*time.Second)
	fired := time.Now().UTC()
	if d := fired.Sub(due); d < 0 || d > 5*time.Second {
		t.Errorf("cron %q fired at %s, want within 5 s after %s",
			cron, fired.Format(time.RFC3339Nano), due.Format(time.RFC3339))
	}
}

// MustStart starts a stack on free ports in a temporary folder and stops it
// when the test ends. Fields set in c override the test defaults. It
// returns the time Start took.
func MustStart(tb testing.TB, c Config) (*Stack, time.Duration) {
	tb.Helper()
	cfg := testConfig(tb)
	if c.MaxSchedulerRepeat != 0 {
		cfg.MaxSchedulerRepeat = c.MaxSchedulerRepeat
	}
	started := time.Now()
	s, err := Start(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("Start: %v", err)
	}
	elapsed := time.Since(started)
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Errorf("Stop: %v", err)
		}
	})
	return s, elapsed
}

func testConfig(tb testing.TB) Config {
	tb.Helper()
	return Config{
		Dir:        tb.TempDir(),
		STOMPPort:  freePort(tb),
		DynamoPort: freePort(tb),
		MQTTPort:   freePort(tb),
		ToolsDir:   filepath.Join("..", "tools"),
		Logger:     slog.New(slog.NewTextHandler(testWriter{tb}, nil)),
	}
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// testWriter sends log output to the test log.
type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// MustDialSTOMP connects to the broker and disconnects when the test ends.
func MustDialSTOMP(tb testing.TB, addr string) *stomp.Conn {
	tb.Helper()
	conn, err := stomp.Dial("tcp", addr,
		stomp.ConnOpt.Host("localhost"),
		stomp.ConnOpt.RcvReceiptTimeout(10*time.Second),
		stomp.ConnOpt.DisconnectReceiptTimeout(2*time.Second))
	if err != nil {
		tb.Fatalf("STOMP connect to %s: %v", addr, err)
	}
	tb.Cleanup(func() { _ = conn.Disconnect() })
	return conn
}

// MustReceive returns the next message of sub or fails the test after
// timeout.
func MustReceive(tb testing.TB, sub *stomp.Subscription, timeout time.Duration) *stomp.Message {
	tb.Helper()
	select {
	case msg, ok := <-sub.C:
		if !ok {
			tb.Fatal("subscription closed")
		}
		if msg.Err != nil {
			tb.Fatalf("receive: %v", msg.Err)
		}
		return msg
	case <-time.After(timeout):
		tb.Fatalf("no message within %s", timeout)
	}
	return nil
}

// MustConnectMQTT connects an MQTT client and disconnects it when the test
// ends.
func MustConnectMQTT(tb testing.TB, addr, clientID string) mqtt.Client {
	tb.Helper()
	opts := mqtt.NewClientOptions().
		AddBroker("tcp://" + addr).
		SetClientID(clientID).
		SetConnectTimeout(5 * time.Second).
		SetAutoReconnect(false)
	client := mqtt.NewClient(opts)
	token := client.Connect()
	if !token.WaitTimeout(5*time.Second) || token.Error() != nil {
		tb.Fatalf("MQTT connect to %s: %v", addr, token.Error())
	}
	tb.Cleanup(func() { client.Disconnect(100) })
	return client
}

// browseJobs requests every stored job from the job scheduler. The broker sends
// one message per job to the reply-to queue and nothing to mark the end,
// so browseJobs stops after a second of silence.
func browseJobs(tb testing.TB, conn *stomp.Conn) []*stomp.Message {
	tb.Helper()
	reply := "/queue/localstack.browse." + strconv.FormatInt(time.Now().UnixNano(), 36)
	sub, err := conn.Subscribe(reply, stomp.AckAuto)
	if err != nil {
		tb.Fatalf("subscribe to %s: %v", reply, err)
	}
	defer func() { _ = sub.Unsubscribe() }()

	err = conn.Send("/topic/ActiveMQ.Scheduler.Management", "", nil,
		stomp.SendOpt.Receipt,
		stomp.SendOpt.Header("AMQ_SCHEDULER_ACTION", "BROWSE"),
		stomp.SendOpt.Header("reply-to", reply))
	if err != nil {
		tb.Fatalf("send BROWSE: %v", err)
	}

	var jobs []*stomp.Message
	for {
		select {
		case msg := <-sub.C:
			if msg.Err != nil {
				tb.Fatalf("receive BROWSE reply: %v", msg.Err)
			}
			jobs = append(jobs, msg)
		case <-time.After(time.Second):
			return jobs
		}
	}
}

// javaPID returns the pid of the broker's JVM, the child of the activemq
// script in the part's process group.
func javaPID(tb testing.TB, s *Stack) int {
	tb.Helper()
	members, err := groupMembers(s.parts[ActiveMQ].pid())
	if err != nil {
		tb.Fatalf("list broker processes: %v", err)
	}
	for _, pid := range members {
		comm, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
		if err == nil && strings.TrimSpace(string(comm)) == "java" {
			return pid
		}
	}
	tb.Fatal(errors.New("no java process in the broker's process group"))
	return 0
}

// TestStart_LeftoverAfterParentKill kills a process that runs a stack
// without letting it call Stop, then starts a new stack on the same data
// folder and ports: Start must remove what the dead parent left behind.
func TestStart_LeftoverAfterParentKill(t *testing.T) {
	cfg := testConfig(t)
	helper := exec.Command(os.Args[0], "-test.run=^TestHelperStack$", "-test.v")
	helper.Env = append(os.Environ(),
		"LOCALSTACK_HELPER_DIR="+cfg.Dir,
		fmt.Sprintf("LOCALSTACK_HELPER_PORTS=%d,%d,%d", cfg.STOMPPort, cfg.DynamoPort, cfg.MQTTPort))
	stdout, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatalf("start helper: %v", err)
	}
	ready := make(chan bool, 1)
	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			if scanner.Text() == "stack ready" {
				ready <- true
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("helper exited before its stack was ready")
		}
	case <-time.After(2 * time.Minute):
		helper.Process.Kill()
		t.Fatal("helper's stack not ready within 2 minutes")
	}

	groups := make(map[string]int)
	for _, name := range []string{ActiveMQ, Dynalite, Mosquitto} {
		b, err := os.ReadFile(filepath.Join(cfg.Dir, name, name+".pgid"))
		if err != nil {
			t.Fatalf("read %s group id: %v", name, err)
		}
		groups[name], _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	if err := helper.Process.Kill(); err != nil {
		t.Fatalf("kill helper: %v", err)
	}
	_ = helper.Wait()

	// Pdeathsig ends dynalite with its parent. The broker's JVM and a
	// mosquitto that dropped root privileges outlive it.
	if !waitGroupGone(groups[Dynalite], 5*time.Second) {
		t.Errorf("dynalite: process group %d still runs 5 s after its parent died",
			groups[Dynalite])
	}

	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Start after the parent died: %v", err)
	}
	defer s.Stop()
	for name, pgid := range groups {
		if groupAlive(pgid) {
			t.Errorf("%s: leftover process group %d still runs after Start", name, pgid)
		}
	}
}

// TestHelperStack starts a stack and blocks until it is killed. It does
// nothing unless TestStart_LeftoverAfterParentKill runs it as a child
// process.
func TestHelperStack(t *testing.T) {
	dir := os.Getenv("LOCALSTACK_HELPER_DIR")
	if dir == "" {
		return
	}
	var cfg Config
	_, err := fmt.Sscanf(os.Getenv("LOCALSTACK_HELPER_PORTS"), "%d,%d,%d",
		&cfg.STOMPPort, &cfg.DynamoPort, &cfg.MQTTPort)
	if err != nil {
		t.Fatalf("parse LOCALSTACK_HELPER_PORTS: %v", err)
	}
	cfg.Dir = dir
	cfg.ToolsDir = filepath.Join("..", "tools")
	if _, err := Start(context.Background(), cfg); err != nil {
		t.Fatalf("Start: %v", err)
	}
	fmt.Println("stack ready")
	select {}
}
