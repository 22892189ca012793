package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/mqcron/mqcron/activemq"
	"github.com/mqcron/mqcron/canary"
	"github.com/mqcron/mqcron/dispatch"
	"github.com/mqcron/mqcron/dynamo"
	"github.com/mqcron/mqcron/httpapi"
	"github.com/mqcron/mqcron/internal/wire"
	"github.com/mqcron/mqcron/localstack"
	"github.com/mqcron/mqcron/mqttpub"
	"github.com/mqcron/mqcron/scheduler"
)

// localFlags are the settings of 'mqcron local'.
type localFlags struct {
	host                            string
	apiPort                         int
	stompPort, dynamoPort, mqttPort int
	dataDir, toolsDir, table        string
	external                        bool
	maxEventAge                     time.Duration
	debug                           bool
	canary                          bool
	corsOrigins                     string
}

func parseLocalFlags(args []string) (*localFlags, error) {
	f := &localFlags{}
	fs := flag.NewFlagSet("local", flag.ContinueOnError)
	fs.StringVar(&f.host, "host", "127.0.0.1", "address that the API and every server listen on")
	fs.IntVar(&f.apiPort, "api-port", 8080, "port of the REST API")
	fs.IntVar(&f.stompPort, "stomp-port", 61613, "port of ActiveMQ's STOMP connector")
	fs.IntVar(&f.dynamoPort, "dynamo-port", 8000, "port of the DynamoDB-compatible server (dynalite)")
	fs.IntVar(&f.mqttPort, "mqtt-port", 1883, "port of the MQTT broker (mosquitto)")
	fs.StringVar(&f.dataDir, "data-dir", ".local/run", "folder for the servers' data and logs")
	fs.StringVar(&f.toolsDir, "tools-dir", "tools", "folder whose node_modules contains dynalite")
	fs.StringVar(&f.table, "table", "mqcron", "DynamoDB table name")
	fs.BoolVar(&f.external, "external", false, "use servers that already run on the given ports instead of starting them")
	fs.DurationVar(&f.maxEventAge, "max-event-age", dispatch.DefaultMaxEventAge, "how long a fire may wait before it expires")
	fs.BoolVar(&f.debug, "debug", false, "log every wake-up and publish")
	fs.StringVar(&f.corsOrigins, "cors-origins", "", "comma-separated origins whose browser pages may call the API, "+
		"such as http://localhost:5173; none by default, because any web page could otherwise change schedules")
	fs.BoolVar(&f.canary, "canary", true, "keep a liveness canary schedule that fires every minute to mqcron/health/canary")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return f, nil
}

// runLocal starts the local servers unless they run already, serves the API
// and runs the dispatcher until ctx is cancelled.
func runLocal(ctx context.Context, args []string) error {
	f, err := parseLocalFlags(args)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if f.debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	apiAddr := net.JoinHostPort(f.host, strconv.Itoa(f.apiPort))
	if err := checkPortFree(apiAddr); err != nil {
		return err
	}

	ep := localstack.Endpoints{
		STOMPAddr:   net.JoinHostPort(f.host, strconv.Itoa(f.stompPort)),
		DynamoDBURL: "http://" + net.JoinHostPort(f.host, strconv.Itoa(f.dynamoPort)),
		MQTTAddr:    net.JoinHostPort(f.host, strconv.Itoa(f.mqttPort)),
	}
	if !f.external {
		dir, err := filepath.Abs(f.dataDir)
		if err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "starting ActiveMQ, dynalite and mosquitto...")
		stack, err := localstack.Start(ctx, localstack.Config{
			Dir: dir, Host: f.host, STOMPPort: f.stompPort, DynamoPort: f.dynamoPort,
			MQTTPort: f.mqttPort, ToolsDir: f.toolsDir, Logger: log,
		})
		if err != nil {
			return err
		}
		defer func() {
			fmt.Fprintln(os.Stderr, "stopping the local servers...")
			if err := stack.Stop(); err != nil {
				log.Error("stop local servers", "error", err)
			}
		}()
		ep = stack.Endpoints()
	}
	return serveLocal(ctx, f, ep, apiAddr, log)
}

// serveLocal wires the handlers to the servers at ep and serves until ctx
// is cancelled.
func serveLocal(ctx context.Context, f *localFlags, ep localstack.Endpoints, apiAddr string, log *slog.Logger) error {
	if err := localstack.EnsureTable(ctx, ep.DynamoDBURL, f.table); err != nil {
		return fmt.Errorf("create table %s: %w", f.table, err)
	}
	store := dynamo.New(localstack.NewDynamoDBClient(ep.DynamoDBURL), f.table)
	broker := activemq.New(activemq.Config{Addr: ep.STOMPAddr, Logger: log})
	defer broker.Close()
	publisher, err := mqttpub.Connect(ctx, mqttpub.Config{Addr: ep.MQTTAddr, ClientID: "mqcron-dispatcher"})
	if err != nil {
		return fmt.Errorf("connect to MQTT broker at %s: %w", ep.MQTTAddr, err)
	}
	defer publisher.Close()

	svc := scheduler.New(scheduler.Config{Store: store, Broker: broker, MaxEventAge: f.maxEventAge, Logger: log})
	d := dispatch.New(dispatch.Config{
		Store: store, Broker: broker, Publisher: publisher, Jobs: svc, MaxEventAge: f.maxEventAge, Logger: log,
	})
	api := httpapi.New(httpapi.Config{
		Service:     svc,
		Owner:       httpapi.DevOwner,
		CORSOrigins: wire.SplitList(f.corsOrigins),
		Extra: map[string]http.Handler{
			"GET /metrics":       d.Metrics().Handler(),
			"GET /health/canary": canaryHandler(store),
		},
		Logger: log,
	})
	srv := &http.Server{Addr: apiAddr, Handler: api, ReadHeaderTimeout: 10 * time.Second}
	if f.canary {
		if err := canary.Ensure(ctx, svc); err != nil {
			return fmt.Errorf("create the canary schedule: %w", err)
		}
		go watchCanary(ctx, store, log)
	}

	source := activemq.NewSource(activemq.SourceConfig{Config: activemq.Config{Addr: ep.STOMPAddr, Logger: log}})
	errc := make(chan error, 2)
	go func() { errc <- source.Run(ctx, d.Handle) }()
	go func() { errc <- srv.ListenAndServe() }()

	printReady(apiAddr, ep)
	select {
	case <-ctx.Done():
	case err = <-errc:
		if errors.Is(err, http.ErrServerClosed) || errors.Is(err, context.Canceled) {
			err = nil
		}
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	return err
}

func checkPortFree(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("the API address %s is in use; stop the process using it or pass --api-port (make run ARGS='--api-port 9090')", addr)
	}
	return l.Close()
}

func printReady(apiAddr string, ep localstack.Endpoints) {
	fmt.Fprintf(os.Stderr, `
mqcron is running locally:
  REST API        http://%s   (try: curl http://%s/schedules)
  ActiveMQ STOMP  %s
  DynamoDB API    %s
  MQTT broker     %s   (watch: mosquitto_sub -h %s -p %s -t 'devices/#' -v)
  metrics         http://%s/metrics
  canary health   http://%s/health/canary
Press Ctrl-C to stop every process this command started.
`, apiAddr, apiAddr, ep.STOMPAddr, ep.DynamoDBURL, ep.MQTTAddr, hostOf(ep.MQTTAddr), portOf(ep.MQTTAddr), apiAddr, apiAddr)
}

func hostOf(addr string) string { h, _, _ := net.SplitHostPort(addr); return h }
func portOf(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }
