// Package wire builds the adapters that the Lambda functions and
// `mqcron resync` use in AWS from their environment variables.
package wire

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/mqcron/mqcron/activemq"
	"github.com/mqcron/mqcron/dynamo"
)

// Logger returns a JSON logger that adds the Lambda request id and honours
// AWS_LAMBDA_LOG_LEVEL.
func Logger() *slog.Logger {
	return slog.New(lambdacontext.NewLogHandler())
}

// Exit logs err as the reason the function could not start and exits with
// status 1, which the Lambda runtime reports as an init error.
func Exit(log *slog.Logger, msg string, err error) {
	log.Error(msg, "error", err)
	os.Exit(1)
}

// Require returns the value of the environment variable name, or an error
// naming it when it is empty.
func Require(name string) (string, error) {
	v := os.Getenv(name)
	if v == "" {
		return "", fmt.Errorf("environment variable %s is not set", name)
	}
	return v, nil
}

// Int returns the environment variable name as an integer, or def when it
// is empty.
func Int(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("environment variable %s is %q, not an integer", name, v)
	}
	return n, nil
}

// List returns the comma-separated environment variable name.
func List(name string) []string {
	return SplitList(os.Getenv(name))
}

// SplitList returns the non-empty, trimmed items of a comma-separated list.
func SplitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// Common holds the adapters both functions share.
type Common struct {
	AWS    aws.Config
	Store  *dynamo.Store
	Broker *activemq.Broker
}

// Build loads the AWS configuration, reads the broker credentials from
// Secrets Manager once, and builds the store and the broker client.
func Build(ctx context.Context, log *slog.Logger) (*Common, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	table, err := Require("TABLE_NAME")
	if err != nil {
		return nil, err
	}
	endpoint, err := Require("BROKER_ENDPOINT")
	if err != nil {
		return nil, err
	}
	secretARN, err := Require("BROKER_SECRET_ARN")
	if err != nil {
		return nil, err
	}
	user, password, err := brokerCredentials(ctx, cfg, secretARN)
	if err != nil {
		return nil, err
	}
	queue := os.Getenv("DISPATCH_QUEUE")
	broker := activemq.New(activemq.Config{
		Addr:     endpoint,
		TLS:      true,
		Username: user,
		Password: password,
		Queue:    queue,
		Logger:   log,
	})
	return &Common{
		AWS:    cfg,
		Store:  dynamo.New(dynamodb.NewFromConfig(cfg), table),
		Broker: broker,
	}, nil
}

// brokerCredentials reads the {"username","password"} secret.
func brokerCredentials(ctx context.Context, cfg aws.Config, arn string) (string, string, error) {
	out, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &arn})
	if err != nil {
		return "", "", fmt.Errorf("read broker secret: %w", err)
	}
	var secret struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if out.SecretString == nil || json.Unmarshal([]byte(*out.SecretString), &secret) != nil ||
		secret.Username == "" || secret.Password == "" {
		return "", "", fmt.Errorf("broker secret %s is not a JSON object with username and password", arn)
	}
	return secret.Username, secret.Password, nil
}
