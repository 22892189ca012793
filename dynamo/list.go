package dynamo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mqcron/mqcron/schedule"
)

// batchGetMax is DynamoDB's limit of keys per BatchGetItem request.
const batchGetMax = 100

// DefaultListLimit is the page size of ListSchedules when the filter sets
// none, and MaxListLimit the largest page it returns.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// batchGetAttempts bounds the BatchGetItem requests spent on one chunk of
// keys while DynamoDB keeps returning UnprocessedKeys.
const batchGetAttempts = 8

// GetSchedules returns the schedules with the given ids, whatever their
// owner, with one strongly consistent BatchGetItem per 100 ids. Missing ids
// are absent from the map.
func (s *Store) GetSchedules(ctx context.Context, ids []string) (map[string]*schedule.Schedule, error) {
	result := make(map[string]*schedule.Schedule, len(ids))
	keys := make([]map[string]types.AttributeValue, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			keys = append(keys, scheduleKey(id))
		}
	}

	for start := 0; start < len(keys); start += batchGetMax {
		end := min(start+batchGetMax, len(keys))
		items, err := s.batchGet(ctx, keys[start:end])
		if err != nil {
			return nil, err
		}
		for _, item := range items {
			sc, err := decodeSchedule(item)
			if err != nil {
				return nil, fmt.Errorf("dynamodb: get schedules: %w", err)
			}
			result[sc.ID] = sc
		}
	}
	return result, nil
}

// batchGet reads up to 100 keys, retrying UnprocessedKeys with exponential
// backoff and full jitter.
func (s *Store) batchGet(ctx context.Context, keys []map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	var items []map[string]types.AttributeValue
	backoff := 20 * time.Millisecond
	for attempt := 1; len(keys) > 0; attempt++ {
		out, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
			RequestItems: map[string]types.KeysAndAttributes{
				s.table: {Keys: keys, ConsistentRead: aws.Bool(true)},
			},
		})
		if err != nil {
			return nil, wrap("get schedules", err)
		}
		items = append(items, out.Responses[s.table]...)
		keys = out.UnprocessedKeys[s.table].Keys
		if len(keys) == 0 {
			break
		}
		if attempt == batchGetAttempts {
			return nil, fmt.Errorf("dynamodb: get schedules: %d keys still unprocessed after %d requests: %w",
				len(keys), attempt, schedule.ErrUnavailable)
		}
		if err := sleep(ctx, time.Duration(rand.Int64N(int64(backoff)))+time.Millisecond); err != nil {
			return nil, fmt.Errorf("dynamodb: get schedules: %w", err)
		}
		backoff = min(2*backoff, time.Second)
	}
	return items, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ListSchedules returns one page of owner's schedules in name order and the
// cursor of the next page (empty on the last page). The page holds up to
// f.Limit schedules that pass every filter: the name prefix is part of the
// key condition, the state is a filter expression, and the topic prefix
// (any topic starting with it) is checked here. ListSchedules queries on
// until it has one schedule more than the page needs or the index ends, so
// a cursor leads to a non-empty page unless schedules are deleted
// meanwhile.
func (s *Store) ListSchedules(ctx context.Context, owner string, f schedule.ListFilter) ([]*schedule.Schedule, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	start, err := decodeCursor(f.Cursor, owner, f.NamePrefix)
	if err != nil {
		return nil, "", err
	}

	in := s.listQuery(owner, f)
	in.ExclusiveStartKey = start
	filtered := f.State != "" || f.TopicPrefix != ""
	var page []*schedule.Schedule
	for len(page) <= limit {
		need := limit + 1 - len(page)
		if filtered {
			// Filters drop items after DynamoDB counted them against Limit.
			need = max(need, 100)
		}
		in.Limit = aws.Int32(int32(need))
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, "", wrap("list schedules", err)
		}
		for _, item := range out.Items {
			sc, err := decodeSchedule(item)
			if err != nil {
				return nil, "", fmt.Errorf("dynamodb: list schedules: %w", err)
			}
			if hasTopicPrefix(sc, f.TopicPrefix) && len(page) <= limit {
				page = append(page, sc)
			}
		}
		if out.LastEvaluatedKey == nil {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	if len(page) <= limit {
		return page, "", nil
	}
	page = page[:limit]
	return page, encodeCursor(page[limit-1]), nil
}

func (s *Store) listQuery(owner string, f schedule.ListFilter) *dynamodb.QueryInput {
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String(OwnerIndex),
		KeyConditionExpression:    aws.String("gsi1pk = :owner"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":owner": str("O#" + owner)},
	}
	if f.NamePrefix != "" {
		in.KeyConditionExpression = aws.String("gsi1pk = :owner AND begins_with(gsi1sk, :prefix)")
		in.ExpressionAttributeValues[":prefix"] = str(f.NamePrefix)
	}
	if f.State != "" {
		in.FilterExpression = aws.String("#state = :state")
		in.ExpressionAttributeNames = map[string]string{"#state": attrState}
		in.ExpressionAttributeValues[":state"] = str(string(f.State))
	}
	return in
}

func hasTopicPrefix(sc *schedule.Schedule, prefix string) bool {
	if prefix == "" {
		return true
	}
	for _, t := range sc.Target.Topics {
		if strings.HasPrefix(t, prefix) {
			return true
		}
	}
	return false
}

// cursorKey is the JSON form of a page cursor: the key of the last
// schedule of the page, in the table and in the owner index.
type cursorKey struct {
	PK     string `json:"pk"`
	SK     string `json:"sk"`
	GSI1PK string `json:"gsi1pk"`
	GSI1SK string `json:"gsi1sk"`
}

func encodeCursor(last *schedule.Schedule) string {
	b, _ := json.Marshal(cursorKey{
		PK:     "S#" + last.ID,
		SK:     "S",
		GSI1PK: "O#" + last.Owner,
		GSI1SK: last.Name,
	})
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor parses a cursor from encodeCursor and checks that it
// belongs to this owner and name prefix. Anything else is rejected as a
// validation error on /nextToken, so that DynamoDB never receives a start key
// that the client made up.
func decodeCursor(cursor, owner, namePrefix string) (map[string]types.AttributeValue, error) {
	if cursor == "" {
		return nil, nil
	}
	invalid := schedule.Invalid("/nextToken", "invalid nextToken: pass the value of a previous response unchanged")
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, invalid
	}
	var k cursorKey
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&k); err != nil {
		return nil, invalid
	}
	if k.GSI1PK != "O#"+owner || k.SK != "S" || len(k.PK) <= len("S#") || !strings.HasPrefix(k.PK, "S#") ||
		k.GSI1SK == "" || !strings.HasPrefix(k.GSI1SK, namePrefix) {
		return nil, invalid
	}
	return map[string]types.AttributeValue{
		attrPK:     str(k.PK),
		attrSK:     str(k.SK),
		attrGSI1PK: str(k.GSI1PK),
		attrGSI1SK: str(k.GSI1SK),
	}, nil
}

// CountSchedules returns the number of schedules of owner, for per-owner
// limits. It reads the owner index, so a schedule created a moment ago may
// be missing from the count.
func (s *Store) CountSchedules(ctx context.Context, owner string) (int, error) {
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String(OwnerIndex),
		KeyConditionExpression:    aws.String("gsi1pk = :owner"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":owner": str("O#" + owner)},
		Select:                    types.SelectCount,
	}
	total := 0
	for {
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return 0, wrap("count schedules", err)
		}
		total += int(out.Count)
		if out.LastEvaluatedKey == nil {
			return total, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
