package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mqcron/mqcron/schedule"
)

// ScanSchedules calls fn with every schedule of the table, of every owner
// and state, in no particular order. It reads the whole table with
// strongly consistent Scan pages and stops at the first error of fn, which
// it returns unchanged.
func (s *Store) ScanSchedules(ctx context.Context, fn func(*schedule.Schedule) error) error {
	in := &dynamodb.ScanInput{
		TableName:        &s.table,
		ConsistentRead:   aws.Bool(true),
		FilterExpression: aws.String("sk = :sk AND begins_with(pk, :prefix)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":sk":     str("S"),
			":prefix": str("S#"),
		},
	}
	for {
		out, err := s.client.Scan(ctx, in)
		if err != nil {
			return wrap("scan schedules", err)
		}
		for _, item := range out.Items {
			sc, err := decodeSchedule(item)
			if err != nil {
				return fmt.Errorf("dynamodb: scan schedules: %w", err)
			}
			if err := fn(sc); err != nil {
				return err
			}
		}
		if out.LastEvaluatedKey == nil {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
