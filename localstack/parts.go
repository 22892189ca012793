package localstack

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/go-stomp/stomp/v3"

	"github.com/mqcron/mqcron/assets/local"
)

const installHint = "run scripts/install-deps.sh"

// xstreamClasspath puts XStream on the broker's classpath, which the job
// scheduler's BROWSE action needs. Debian's activemq 5.17.2 does not ship
// it, and without it the broker throws NoClassDefFoundError and drops the
// STOMP connection. The jars come from the package libxstream-java.
const xstreamClasspath = "/usr/share/java/xstream.jar:/usr/share/java/xpp3.jar:" +
	"/usr/share/java/jettison.jar"

// activemqJVMOptions are passed in ACTIVEMQ_DEBUG_OPTS, because Debian's
// /usr/share/activemq/activemq-options resets ACTIVEMQ_OPTS (to a fixed
// 512 MB heap) while the start script appends ACTIVEMQ_DEBUG_OPTS after it,
// so these values win. user.timezone=UTC makes the broker evaluate cron
// expressions in UTC, as Amazon MQ brokers do.
const activemqJVMOptions = "-Xms64m -Xmx512m -Duser.timezone=UTC"

func newActiveMQ(c Config, log *slog.Logger) *part {
	folder := filepath.Join(c.Dir, ActiveMQ)
	conf := filepath.Join(folder, "conf")
	data := filepath.Join(folder, "data")
	tmp := filepath.Join(folder, "tmp")
	pidFile := filepath.Join(folder, "activemq.pid")
	addr := net.JoinHostPort(c.Host, strconv.Itoa(c.STOMPPort))

	p := &part{
		name:         ActiveMQ,
		log:          log,
		host:         c.Host,
		port:         c.STOMPPort,
		label:        "ActiveMQ STOMP",
		portFlag:     "--stomp-port",
		grace:        20 * time.Second,
		readyTimeout: 90 * time.Second,
		pollInterval: 200 * time.Millisecond,
		folder:       folder,
		outputPath:   filepath.Join(folder, "console.log"),
		logHint:      filepath.Join(data, "activemq.log"),
	}
	p.findPrograms = func() error {
		var errs []error
		if _, err := exec.LookPath("activemq"); err != nil {
			errs = append(errs, errors.New("activemq not found: "+installHint))
		}
		if _, err := exec.LookPath("java"); err != nil {
			errs = append(errs, errors.New("java not found (ActiveMQ needs it): "+installHint))
		}
		if _, err := os.Stat("/usr/share/java/xstream.jar"); err != nil {
			errs = append(errs, errors.New("/usr/share/java/xstream.jar not found "+
				"(package libxstream-java): "+installHint))
		}
		return errors.Join(errs...)
	}
	p.prepare = func() error {
		for _, d := range []string{conf, data, tmp} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return err
			}
		}
		// The script rejects a start while the pid file names a running java
		// process. After a kill the file is stale and its pid may belong to
		// another program by now.
		if err := os.Remove(pidFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		vars := map[string]any{
			"DataDir":            xmlEscape(data),
			"Host":               xmlEscape(c.Host),
			"STOMPPort":          c.STOMPPort,
			"MaxSchedulerRepeat": c.MaxSchedulerRepeat,
		}
		if err := renderAsset("activemq.xml.tmpl", filepath.Join(conf, "activemq.xml"), vars); err != nil {
			return err
		}
		return copyAsset("log4j.properties", filepath.Join(conf, "log4j.properties"))
	}
	p.command = func() *exec.Cmd {
		cmd := exec.Command("activemq", "console", "xbean:file:"+filepath.Join(conf, "activemq.xml"))
		cmd.Dir = folder
		cmd.Env = append(os.Environ(),
			"ACTIVEMQ_BASE="+folder,
			"ACTIVEMQ_CONF="+conf,
			"ACTIVEMQ_DATA="+data,
			"ACTIVEMQ_TMP="+tmp,
			"ACTIVEMQ_PIDFILE="+pidFile,
			"ACTIVEMQ_USER="+currentUser(),
			"ACTIVEMQ_USER_CLASSPATH="+xstreamClasspath,
			"ACTIVEMQ_DEBUG_OPTS="+activemqJVMOptions,
			"TZ=UTC",
			// INSTANCE selects /etc/activemq/instances-enabled/$INSTANCE/options
			// in place of the package defaults.
			"INSTANCE=",
		)
		return cmd
	}
	p.probe = func(ctx context.Context) error {
		return probeSTOMP(ctx, addr)
	}
	return p
}

// probeSTOMP succeeds when a STOMP CONNECT to addr gets CONNECTED. ActiveMQ
// opens its port before the broker can serve, so a TCP connect alone is not
// enough.
func probeSTOMP(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	c, err := stomp.ConnectWithContext(ctx, conn,
		stomp.ConnOpt.Host("localhost"),
		stomp.ConnOpt.HeartBeat(0, 0),
		stomp.ConnOpt.DisconnectReceiptTimeout(2*time.Second))
	if err != nil {
		conn.Close()
		return err
	}
	return c.Disconnect()
}

func newDynalite(c Config, log *slog.Logger) *part {
	folder := filepath.Join(c.Dir, Dynalite)
	cli := filepath.Join(c.ToolsDir, "node_modules", "dynalite", "cli.js")
	url := "http://" + net.JoinHostPort(c.Host, strconv.Itoa(c.DynamoPort)) + "/"

	p := &part{
		name:         Dynalite,
		log:          log,
		host:         c.Host,
		port:         c.DynamoPort,
		label:        "dynalite DynamoDB API",
		portFlag:     "--dynamo-port",
		grace:        5 * time.Second,
		readyTimeout: 30 * time.Second,
		pollInterval: 100 * time.Millisecond,
		folder:       folder,
		outputPath:   filepath.Join(folder, "dynalite.log"),
	}
	p.findPrograms = func() error {
		if _, err := exec.LookPath("node"); err != nil {
			return errors.New("node not found (dynalite needs Node.js 20 or later): " +
				"install Node.js, then " + installHint)
		}
		if _, err := os.Stat(cli); err != nil {
			return fmt.Errorf("dynalite not found at %s: %s", cli, installHint)
		}
		return nil
	}
	launcher := filepath.Join(folder, "dynalite-launcher.js")
	p.prepare = func() error {
		if err := os.MkdirAll(folder, 0o755); err != nil {
			return err
		}
		script, err := local.Files.ReadFile("dynalite-launcher.js")
		if err != nil {
			return err
		}
		return os.WriteFile(launcher, script, 0o644)
	}
	p.command = func() *exec.Cmd {
		// The launcher keeps dynalite alive when a client aborts a request.
		// --path keeps the tables in LevelDB, so they survive a restart.
		cmd := exec.Command("node", launcher,
			"--host", c.Host,
			"--port", strconv.Itoa(c.DynamoPort),
			"--path", filepath.Join(folder, "db"))
		cmd.Dir = folder
		cmd.Env = append(os.Environ(), "DYNALITE_CLI="+absPath(cli))
		return cmd
	}
	p.probe = func(ctx context.Context) error {
		return probeHTTP(ctx, url)
	}
	return p
}

// probeHTTP succeeds when url returns any HTTP response. dynalite returns
// 400 MissingAuthenticationToken for an unsigned request, which proves that
// it serves the DynamoDB API.
func probeHTTP(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader("{}"))
	if err != nil {
		return err
	}
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

func newMosquitto(c Config, log *slog.Logger) *part {
	folder := filepath.Join(c.Dir, Mosquitto)
	confPath := filepath.Join(folder, "mosquitto.conf")
	addr := net.JoinHostPort(c.Host, strconv.Itoa(c.MQTTPort))

	p := &part{
		name:         Mosquitto,
		log:          log,
		host:         c.Host,
		port:         c.MQTTPort,
		label:        "mosquitto MQTT",
		portFlag:     "--mqtt-port",
		grace:        5 * time.Second,
		readyTimeout: 30 * time.Second,
		pollInterval: 100 * time.Millisecond,
		folder:       folder,
		outputPath:   filepath.Join(folder, "mosquitto.log"),
	}
	p.findPrograms = func() error {
		if mosquittoPath() == "" {
			return errors.New("mosquitto not found: " + installHint)
		}
		return nil
	}
	p.prepare = func() error {
		if err := os.MkdirAll(folder, 0o755); err != nil {
			return err
		}
		vars := map[string]any{"Host": c.Host, "MQTTPort": c.MQTTPort}
		return renderAsset("mosquitto.conf.tmpl", confPath, vars)
	}
	p.command = func() *exec.Cmd {
		cmd := exec.Command(mosquittoPath(), "-c", confPath)
		cmd.Dir = folder
		return cmd
	}
	p.probe = func(ctx context.Context) error {
		return probeMQTT(ctx, addr)
	}
	return p
}

// mosquittoPath returns the mosquitto binary's path, or "" if it is
// missing. Debian installs it in /usr/sbin, which is not on every user's
// PATH.
func mosquittoPath() string {
	if path, err := exec.LookPath("mosquitto"); err == nil {
		return path
	}
	if _, err := os.Stat("/usr/sbin/mosquitto"); err == nil {
		return "/usr/sbin/mosquitto"
	}
	return ""
}

// probeMQTT succeeds when an MQTT CONNECT to addr gets CONNACK.
func probeMQTT(ctx context.Context, addr string) error {
	timeout := 2 * time.Second
	if deadline, ok := ctx.Deadline(); ok {
		timeout = time.Until(deadline)
	}
	opts := mqtt.NewClientOptions().
		AddBroker("tcp://" + addr).
		SetClientID("localstack-probe").
		SetConnectTimeout(timeout).
		SetAutoReconnect(false).
		SetConnectRetry(false)
	client := mqtt.NewClient(opts)
	token := client.Connect()
	if !token.WaitTimeout(timeout) {
		return errors.New("mqtt connect timed out")
	}
	if err := token.Error(); err != nil {
		return err
	}
	client.Disconnect(0)
	return nil
}

func renderAsset(name, dst string, vars map[string]any) error {
	tmpl, err := template.ParseFS(local.Files, name)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := tmpl.Option("missingkey=error").Execute(&buf, vars); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	return os.WriteFile(dst, buf.Bytes(), 0o644)
}

func copyAsset(name, dst string) error {
	b, err := local.Files.ReadFile(name)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

func xmlEscape(s string) string {
	var buf bytes.Buffer
	_ = xml.EscapeText(&buf, []byte(s))
	return buf.String()
}

// currentUser returns the name that the activemq script compares with
// whoami; when ACTIVEMQ_USER differs, the script switches user with su.
func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}

// absPath returns path made absolute, or path itself when that fails.
func absPath(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	return abs
}
