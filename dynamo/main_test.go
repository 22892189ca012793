package dynamo_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/mqcron/mqcron/dynamo"
	"github.com/mqcron/mqcron/schedule"
)

// MustClient returns a DynamoDB client for the server named by
// MQCRON_TEST_DYNAMO. It skips the test when the variable is unset, unless
// MQCRON_REQUIRE_SERVERS=1.
func MustClient(tb testing.TB) *dynamodb.Client {
	tb.Helper()
	endpoint := os.Getenv("MQCRON_TEST_DYNAMO")
	if endpoint == "" {
		if os.Getenv("MQCRON_REQUIRE_SERVERS") == "1" {
			tb.Fatal("MQCRON_TEST_DYNAMO not set and MQCRON_REQUIRE_SERVERS=1")
		}
		tb.Skip("MQCRON_TEST_DYNAMO not set; run make test")
	}
	return dynamodb.New(dynamodb.Options{
		BaseEndpoint: aws.String(endpoint),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local-secret", ""),
	})
}

// MustCreateTable creates a uniquely named table, waits until it is
// ACTIVE and deletes it when the test ends.
func MustCreateTable(tb testing.TB) (*dynamodb.Client, string) {
	tb.Helper()
	client := MustClient(tb)
	table := "mqcron-test-" + randomHex(tb, 6)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := dynamo.CreateTable(ctx, client, table); err != nil {
		tb.Fatalf("create table: %v", err)
	}
	tb.Cleanup(func() {
		_, err := client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &table})
		if err != nil {
			tb.Errorf("delete table %s: %v", table, err)
		}
	})
	return client, table
}

// MustOpenStore returns a Store on a fresh table.
func MustOpenStore(tb testing.TB) *dynamo.Store {
	tb.Helper()
	client, table := MustCreateTable(tb)
	return dynamo.New(client, table)
}

func randomHex(tb testing.TB, n int) string {
	tb.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// newSchedule returns a valid schedule of owner with the given name.
func newSchedule(tb testing.TB, owner, name string, topics ...string) *schedule.Schedule {
	tb.Helper()
	if len(topics) == 0 {
		topics = []string{"devices/thermostat-12/cmd"}
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	return &schedule.Schedule{
		ID:    "sch-" + randomHex(tb, 8),
		Owner: owner,
		Name:  name,
		Target: schedule.Target{
			Topics:  topics,
			QoS:     1,
			Payload: json.RawMessage(`{"cmd":"reboot"}`),
		},
		ScheduleExpression:         "rate(5 seconds)",
		ScheduleExpressionTimezone: "UTC",
		State:                      schedule.StateEnabled,
		CreatedAt:                  now,
		UpdatedAt:                  now,
	}
}

// MustCreate stores sc and fails the test on error.
func MustCreate(tb testing.TB, s *dynamo.Store, sc *schedule.Schedule) {
	tb.Helper()
	if err := s.CreateSchedule(context.Background(), sc); err != nil {
		tb.Fatalf("create schedule %s: %v", sc.Name, err)
	}
}
