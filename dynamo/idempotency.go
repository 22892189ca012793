package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mqcron/mqcron/schedule"
)

// attrFingerprint is the idempotency record's hash of the request body.
const attrFingerprint = "fingerprint"

func idempotencyKey(owner, key string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: str("I#" + owner + "#" + key),
		attrSK: str("I"),
	}
}

// PutIdempotency records that owner's request with idempotency key key
// and body fingerprint fingerprint created schedule scheduleID, for ttl. It
// returns "" when it stored the record, and the schedule id of the first
// request when a live record for the key exists. When that record has
// another fingerprint it returns schedule.ErrKeyReused instead. A record
// past its expiresAt counts as absent, because DynamoDB's TTL removes items
// only eventually (and dynalite never).
func (s *Store) PutIdempotency(ctx context.Context, owner, key, scheduleID, fingerprint string, ttl time.Duration) (string, error) {
	now := s.Now()
	item := idempotencyKey(owner, key)
	item[attrScheduleID] = str(scheduleID)
	item[attrFingerprint] = str(fingerprint)
	item[attrExpiresAt] = num(now.Add(ttl).Unix())
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 &s.table,
		Item:                      item,
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR expiresAt < :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.Unix())},
	})
	if err == nil {
		return "", nil
	}
	if !isConditionFailed(err) {
		return "", wrap("put idempotency record", err)
	}

	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            idempotencyKey(owner, key),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return "", wrap("get idempotency record", err)
	}
	existing := getS(out.Item, attrScheduleID)
	if existing == "" {
		// Deleted between the put and the read: the caller may retry.
		return "", fmt.Errorf("dynamodb: put idempotency record: record changed concurrently, retry the request")
	}
	if stored := getS(out.Item, attrFingerprint); stored != fingerprint {
		return "", fmt.Errorf("%w: key %q was first used with another request body", schedule.ErrKeyReused, key)
	}
	return existing, nil
}

// DeleteIdempotency removes owner's record for key if it still names
// scheduleID, so that a request whose create failed can be sent again with
// the same key.
func (s *Store) DeleteIdempotency(ctx context.Context, owner, key, scheduleID string) error {
	_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 &s.table,
		Key:                       idempotencyKey(owner, key),
		ConditionExpression:       aws.String("scheduleId = :id"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": str(scheduleID)},
	})
	if err != nil && !isConditionFailed(err) {
		return wrap("delete idempotency record", err)
	}
	return nil
}
