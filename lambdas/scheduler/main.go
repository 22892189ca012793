// Command scheduler is the Lambda function behind API Gateway that serves
// mqcron's REST API.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/mqcron/mqcron/canary"
	"github.com/mqcron/mqcron/httpapi"
	"github.com/mqcron/mqcron/internal/wire"
	"github.com/mqcron/mqcron/scheduler"
)

func main() {
	log := wire.Logger()
	ctx := context.Background()
	common, err := wire.Build(ctx, log)
	if err != nil {
		wire.Exit(log, "start scheduler", err)
	}
	maxRepeat, err := wire.Int("MAX_SCHEDULER_REPEAT", scheduler.DefaultMaxRepeat)
	if err != nil {
		wire.Exit(log, "start scheduler", err)
	}
	maxSchedules, err := wire.Int("MAX_SCHEDULES_PER_OWNER", 10000)
	if err != nil {
		wire.Exit(log, "start scheduler", err)
	}
	svc := scheduler.New(scheduler.Config{
		Store:                common.Store,
		Broker:               common.Broker,
		MaxRepeat:            maxRepeat,
		MaxSchedulesPerOwner: maxSchedules,
		Logger:               log,
	})
	// The canary schedule is created on the first cold start; later
	// starts find it. A failure leaves the API working and the canary
	// alarm firing, which points at the broker.
	if err := canary.Ensure(ctx, svc); err != nil {
		log.Error("create the canary schedule", "error", err)
	}
	h := httpapi.New(httpapi.Config{
		Service:     svc,
		Owner:       httpapi.ContextOwner,
		CORSOrigins: wire.List("CORS_ORIGINS"),
		Logger:      log,
	})
	ownerSource := os.Getenv("OWNER_SOURCE")
	if ownerSource == "" {
		ownerSource = httpapi.OwnerFromCognito
	}
	lambda.Start(func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		return h.ServeAPIGateway(ctx, req, ownerSource)
	})
}
