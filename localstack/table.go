package localstack

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mqcron/mqcron/dynamo"
)

// OwnerIndex is the name of the table's global secondary index on
// gsi1pk/gsi1sk, which lists the schedules of one owner.
const OwnerIndex = dynamo.OwnerIndex

// NewDynamoDBClient returns a DynamoDB client for a local
// DynamoDB-compatible endpoint such as dynalite. It signs requests with
// static dummy credentials in us-east-1, because dynalite rejects unsigned
// requests but checks no signature, and it reads no AWS configuration.
func NewDynamoDBClient(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		BaseEndpoint: aws.String(endpoint),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}

// EnsureTable creates the mqcron table on the DynamoDB-compatible endpoint
// if it is missing and waits until the table and its index are ACTIVE. The
// table has the partition key pk (S), the sort key sk (S), on-demand
// billing, and the global secondary index OwnerIndex on gsi1pk (S) and
// gsi1sk (S) that projects all attributes. A table that exists with
// another key schema or without the index is an error.
func EnsureTable(ctx context.Context, endpoint, table string) error {
	client := NewDynamoDBClient(endpoint)

	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	var notFound *types.ResourceNotFoundException
	switch {
	case errors.As(err, &notFound):
		return dynamo.CreateTable(ctx, client, table)
	case err != nil:
		return fmt.Errorf("dynamodb: describe table %s: %w", table, err)
	default:
		if err := checkSchema(out.Table); err != nil {
			return fmt.Errorf("dynamodb: table %s exists with another schema: %w; "+
				"delete the table or the local data folder", table, err)
		}
	}
	return dynamo.WaitActive(ctx, client, table)
}

// checkSchema returns an error when t lacks the keys or the index that
// EnsureTable creates.
func checkSchema(t *types.TableDescription) error {
	if !hasKeys(t.KeySchema, "pk", "sk") {
		return errors.New("key schema is not pk (HASH), sk (RANGE)")
	}
	for _, gsi := range t.GlobalSecondaryIndexes {
		if aws.ToString(gsi.IndexName) == OwnerIndex {
			if !hasKeys(gsi.KeySchema, "gsi1pk", "gsi1sk") {
				return fmt.Errorf("index %s is not on gsi1pk (HASH), gsi1sk (RANGE)", OwnerIndex)
			}
			return nil
		}
	}
	return fmt.Errorf("index %s is missing", OwnerIndex)
}

func hasKeys(schema []types.KeySchemaElement, hash, rangeKey string) bool {
	var gotHash, gotRange bool
	for _, k := range schema {
		switch {
		case k.KeyType == types.KeyTypeHash && aws.ToString(k.AttributeName) == hash:
			gotHash = true
		case k.KeyType == types.KeyTypeRange && aws.ToString(k.AttributeName) == rangeKey:
			gotRange = true
		}
	}
	return gotHash && gotRange && len(schema) == 2
}
