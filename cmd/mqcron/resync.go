package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/mqcron/mqcron/activemq"
	"github.com/mqcron/mqcron/dynamo"
	"github.com/mqcron/mqcron/internal/wire"
	"github.com/mqcron/mqcron/localstack"
	"github.com/mqcron/mqcron/resync"
	"github.com/mqcron/mqcron/scheduler"
)

const resyncUsage = `usage: mqcron resync [flags]

Makes the broker's jobs match the schedules in DynamoDB: removes jobs that
no current schedule version needs and adds the missing jobs of enabled
schedules. Correct jobs are left alone, so a second run changes nothing.

Local mode: give --stomp and --dynamo-endpoint.
AWS mode (no --stomp): reads TABLE_NAME, BROKER_ENDPOINT (host:port of the
broker's stomp+ssl endpoint), BROKER_SECRET_ARN (a Secrets Manager secret
with username and password) and optionally DISPATCH_QUEUE, as the Lambda
functions do, and the usual AWS credentials and region.

Flags:
`

// runResync runs 'mqcron resync'.
func runResync(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("resync", flag.ContinueOnError)
	stompAddr := fs.String("stomp", "", "STOMP address host:port of a local broker (local mode)")
	dynamoURL := fs.String("dynamo-endpoint", "", "URL of a local DynamoDB-compatible server, such as http://127.0.0.1:8000 (local mode)")
	table := fs.String("table", "mqcron", "DynamoDB table name in local mode")
	queue := fs.String("queue", activemq.DefaultQueue, "dispatch queue name in local mode")
	dryRun := fs.Bool("dry-run", false, "print the changes and make none")
	maxEventAge := fs.Duration("max-event-age", scheduler.DefaultMaxEventAge, "time to live of each added job's wake-ups; use the value the API runs with")
	maxRepeat := fs.Int("max-repeat", scheduler.DefaultMaxRepeat, "the broker's maxSchedulerRepeatAllowed")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), resyncUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	var (
		store  *dynamo.Store
		broker *activemq.Broker
		err    error
	)
	switch {
	case *stompAddr != "" && *dynamoURL != "":
		store = dynamo.New(localstack.NewDynamoDBClient(*dynamoURL), *table)
		broker = activemq.New(activemq.Config{Addr: *stompAddr, Queue: *queue, Logger: log})
	case *stompAddr != "" || *dynamoURL != "":
		return errors.New("local mode needs both --stomp and --dynamo-endpoint")
	default:
		store, broker, err = awsResyncAdapters(ctx, log)
		if err != nil {
			return err
		}
	}
	defer broker.Close()

	svc := scheduler.New(scheduler.Config{
		Store: nil, Broker: broker, MaxEventAge: *maxEventAge, MaxRepeat: *maxRepeat, Logger: log,
	})
	start := time.Now()
	sum, err := resync.Run(ctx, resync.Config{
		Broker: broker, Store: store, Jobs: svc, DryRun: *dryRun, Progress: os.Stdout, Logger: log,
	})
	prefix := "summary"
	if *dryRun {
		prefix = "summary (dry run, nothing changed)"
	}
	fmt.Printf("%s: %s in %s\n", prefix, sum, time.Since(start).Round(time.Millisecond))
	return err
}

// awsResyncAdapters builds the store and the broker client from the
// environment variables that the Lambda functions read.
func awsResyncAdapters(ctx context.Context, log *slog.Logger) (*dynamo.Store, *activemq.Broker, error) {
	if os.Getenv("TABLE_NAME") == "" || os.Getenv("BROKER_ENDPOINT") == "" || os.Getenv("BROKER_SECRET_ARN") == "" {
		return nil, nil, errors.New("give --stomp and --dynamo-endpoint for local mode, or set " +
			"TABLE_NAME, BROKER_ENDPOINT and BROKER_SECRET_ARN for AWS mode")
	}
	common, err := wire.Build(ctx, log)
	if err != nil {
		return nil, nil, err
	}
	return common.Store, common.Broker, nil
}
