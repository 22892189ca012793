// Command dispatcher is the Lambda function that the Amazon MQ event
// source mapping invokes with batches of wake-ups from the dispatch queue.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/mqcron/mqcron/dispatch"
	"github.com/mqcron/mqcron/internal/wire"
	"github.com/mqcron/mqcron/iotcore"
	"github.com/mqcron/mqcron/scheduler"
)

func main() {
	log := wire.Logger()
	ctx := context.Background()
	common, err := wire.Build(ctx, log)
	if err != nil {
		wire.Exit(log, "start dispatcher", err)
	}
	endpoint, err := wire.Require("IOT_ENDPOINT")
	if err != nil {
		wire.Exit(log, "start dispatcher", err)
	}
	concurrency, err := wire.Int("PUBLISH_CONCURRENCY", dispatch.DefaultConcurrency)
	if err != nil {
		wire.Exit(log, "start dispatcher", err)
	}
	maxRepeat, err := wire.Int("MAX_SCHEDULER_REPEAT", scheduler.DefaultMaxRepeat)
	if err != nil {
		wire.Exit(log, "start dispatcher", err)
	}
	jobs := scheduler.New(scheduler.Config{Store: common.Store, Broker: common.Broker, MaxRepeat: maxRepeat, Logger: log})
	d := dispatch.New(dispatch.Config{
		Store:  common.Store,
		Broker: common.Broker,
		Jobs:   jobs,
		Publisher: iotcore.New(iotcore.Config{
			Endpoint:    endpoint,
			Region:      common.AWS.Region,
			Credentials: common.AWS.Credentials,
		}),
		Concurrency: concurrency,
		Logger:      log,
	})
	lambda.Start(func(ctx context.Context, ev events.ActiveMQEvent) error {
		err := d.Handle(ctx, ev)
		if werr := d.Metrics().WriteEMF(os.Stdout, "mqcron", time.Now()); werr != nil {
			log.Warn("write metrics", "error", werr)
		}
		return err
	})
}
