// Package dynamo stores schedules, runs and idempotency records in one
// DynamoDB table. It uses only single-item conditional writes, GetItem,
// BatchGetItem, Query and UpdateItem, so that it runs unchanged on dynalite,
// which has no TransactWriteItems.
//
// Table layout (partition key pk, sort key sk, GSI owner-index on
// gsi1pk/gsi1sk, TTL attribute expiresAt in epoch seconds):
//
//	schedule     pk S#<id>             sk S                 gsi1pk O#<owner> gsi1sk <name>
//	name lock    pk N#<owner>#<name>   sk N
//	run          pk S#<id>             sk F#<fire instant, 13-digit Unix ms>#
//	idempotency  pk I#<owner>#<key>    sk I
package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/mqcron/mqcron/schedule"
)

// Attribute names of the table.
const (
	attrPK          = "pk"
	attrSK          = "sk"
	attrGSI1PK      = "gsi1pk"
	attrGSI1SK      = "gsi1sk"
	attrExpiresAt   = "expiresAt"
	attrDoc         = "doc"
	attrOwner       = "owner"
	attrName        = "name"
	attrVersion     = "version"
	attrState       = "state"
	attrTopics      = "topics"
	attrRunCount    = "runCount"
	attrLastRunAt   = "lastRunAt"
	attrLastOutcome = "lastRunOutcome"
	attrScheduleID  = "scheduleId"
	attrCreatedAt   = "createdAt"
)

// OwnerIndex is the name of the global secondary index on gsi1pk/gsi1sk.
const OwnerIndex = "owner-index"

// DefaultRunTTL is how long run records live before DynamoDB's TTL removes
// them.
const DefaultRunTTL = 30 * 24 * time.Hour

// orphanLockAge is the minimum age of a name lock that CreateSchedule or
// ReplaceSchedule takes over from a schedule that no longer has the name.
// A younger lock may belong to a create that is still in progress.
const orphanLockAge = time.Minute

// Store implements schedule.Store on one DynamoDB table.
type Store struct {
	client *dynamodb.Client
	table  string

	// RunTTL is the lifetime of run records (DefaultRunTTL unless changed
	// before first use).
	RunTTL time.Duration
	// Now returns the current time. Tests replace it.
	Now func() time.Time
}

var _ schedule.Store = (*Store)(nil)

// New returns a Store on the given table.
func New(client *dynamodb.Client, table string) *Store {
	return &Store{client: client, table: table, RunTTL: DefaultRunTTL, Now: time.Now}
}

func scheduleKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: str("S#" + id),
		attrSK: str("S"),
	}
}

// nameLockKey joins owner and name with '#'. Names cannot contain '#'
// (schedule.Validate allows letters, digits, '.', '_' and '-'), so the last
// '#' separates them and two owners never share a lock key.
func nameLockKey(owner, name string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: str("N#" + owner + "#" + name),
		attrSK: str("N"),
	}
}

// CreateSchedule stores s with version 1. It takes the owner's name lock
// first and returns schedule.ErrConflict when another schedule holds the
// name or the id is already taken.
func (s *Store) CreateSchedule(ctx context.Context, sc *schedule.Schedule) error {
	if sc.ID == "" || sc.Owner == "" || sc.Name == "" {
		return fmt.Errorf("dynamodb: create schedule: missing id, owner or name")
	}
	sc.Version = 1
	if err := s.lockName(ctx, sc.Owner, sc.Name, sc.ID); err != nil {
		return fmt.Errorf("dynamodb: create schedule %s: %w", sc.ID, err)
	}

	item, err := scheduleItem(sc)
	if err != nil {
		s.unlockName(ctx, sc.Owner, sc.Name, sc.ID)
		return fmt.Errorf("dynamodb: create schedule %s: %w", sc.ID, err)
	}
	item[attrRunCount] = num(0)
	item[attrLastRunAt] = num(0)
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           &s.table,
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if err != nil {
		s.unlockName(ctx, sc.Owner, sc.Name, sc.ID)
		if isConditionFailed(err) {
			return fmt.Errorf("dynamodb: create schedule %s: id exists: %w", sc.ID, schedule.ErrConflict)
		}
		return wrap("create schedule "+sc.ID, err)
	}
	return nil
}

// GetSchedule returns the schedule id of owner with a strongly consistent
// read, or schedule.ErrNotFound.
func (s *Store) GetSchedule(ctx context.Context, owner, id string) (*schedule.Schedule, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            scheduleKey(id),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, wrap("get schedule "+id, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("dynamodb: get schedule %s: %w", id, schedule.ErrNotFound)
	}
	sc, err := decodeSchedule(out.Item)
	if err != nil {
		return nil, fmt.Errorf("dynamodb: get schedule %s: %w", id, err)
	}
	if sc.Owner != owner {
		return nil, fmt.Errorf("dynamodb: get schedule %s: %w", id, schedule.ErrNotFound)
	}
	return sc, nil
}

// ReplaceSchedule stores sc if the stored version is still expectedVersion.
// sc.Version must differ from expectedVersion, so that of several
// concurrent writers with the same expectedVersion exactly one succeeds. It keeps the
// run summary (runCount, lastRun) that the dispatcher maintains, and moves
// the name lock when the name changes: it takes the new name first and
// releases the old one after the write.
func (s *Store) ReplaceSchedule(ctx context.Context, sc *schedule.Schedule, expectedVersion int64) error {
	if sc.Version == expectedVersion {
		return fmt.Errorf("dynamodb: replace schedule %s: new version %d equals the expected version",
			sc.ID, sc.Version)
	}
	old, err := s.GetSchedule(ctx, sc.Owner, sc.ID)
	if err != nil {
		return err
	}
	if old.Version != expectedVersion {
		return fmt.Errorf("dynamodb: replace schedule %s: stored version %d, expected %d: %w",
			sc.ID, old.Version, expectedVersion, schedule.ErrVersionMismatch)
	}

	renamed := old.Name != sc.Name
	if renamed {
		if err := s.lockName(ctx, sc.Owner, sc.Name, sc.ID); err != nil {
			return fmt.Errorf("dynamodb: replace schedule %s: %w", sc.ID, err)
		}
	}
	if err := s.updateSchedule(ctx, sc, expectedVersion); err != nil {
		// A concurrent writer of the same rename may have won. Its lock
		// carries the same schedule id, so the lock stays while the stored
		// schedule has the new name.
		if renamed && !s.holdsName(ctx, sc.ID, sc.Owner, sc.Name) {
			s.unlockName(ctx, sc.Owner, sc.Name, sc.ID)
		}
		return err
	}
	if renamed {
		s.unlockName(ctx, sc.Owner, old.Name, sc.ID)
	}
	return nil
}

// updateSchedule writes the fields of sc with one conditional UpdateItem.
func (s *Store) updateSchedule(ctx context.Context, sc *schedule.Schedule, expectedVersion int64) error {
	doc, err := encodeDoc(sc)
	if err != nil {
		return fmt.Errorf("dynamodb: replace schedule %s: %w", sc.ID, err)
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table,
		Key:       scheduleKey(sc.ID),
		UpdateExpression: aws.String("SET #doc = :doc, #version = :version, #state = :state, " +
			"#name = :name, gsi1sk = :name, #topics = :topics"),
		ConditionExpression: aws.String("attribute_exists(pk) AND #owner = :owner AND #version = :expected"),
		ExpressionAttributeNames: map[string]string{
			"#doc": attrDoc, "#version": attrVersion, "#state": attrState,
			"#name": attrName, "#topics": attrTopics, "#owner": attrOwner,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":doc":      str(doc),
			":version":  num(sc.Version),
			":state":    str(string(sc.State)),
			":name":     str(sc.Name),
			":topics":   strList(sc.Target.Topics),
			":owner":    str(sc.Owner),
			":expected": num(expectedVersion),
		},
	})
	if err == nil {
		return nil
	}
	if !isConditionFailed(err) {
		return wrap("replace schedule "+sc.ID, err)
	}
	return s.explainConditionFailure(ctx, "replace schedule", sc.Owner, sc.ID, expectedVersion)
}

// DeleteSchedule removes the schedule and its name lock if the stored
// version is still expectedVersion (0 means any version). Run records stay
// until their TTL expires.
func (s *Store) DeleteSchedule(ctx context.Context, owner, id string, expectedVersion int64) error {
	cond := "attribute_exists(pk) AND #owner = :owner"
	values := map[string]types.AttributeValue{":owner": str(owner)}
	names := map[string]string{"#owner": attrOwner}
	if expectedVersion != 0 {
		cond += " AND #version = :expected"
		values[":expected"] = num(expectedVersion)
		names["#version"] = attrVersion
	}
	out, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 &s.table,
		Key:                       scheduleKey(id),
		ConditionExpression:       &cond,
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueAllOld,
	})
	if err != nil {
		if !isConditionFailed(err) {
			return wrap("delete schedule "+id, err)
		}
		return s.explainConditionFailure(ctx, "delete schedule", owner, id, expectedVersion)
	}
	if name, ok := out.Attributes[attrName].(*types.AttributeValueMemberS); ok {
		s.unlockName(ctx, owner, name.Value, id)
	}
	return nil
}

// explainConditionFailure reads the schedule after a failed conditional
// write and returns ErrNotFound or ErrVersionMismatch.
func (s *Store) explainConditionFailure(ctx context.Context, op, owner, id string, expectedVersion int64) error {
	cur, err := s.GetSchedule(ctx, owner, id)
	if err != nil {
		return err
	}
	return fmt.Errorf("dynamodb: %s %s: stored version %d, expected %d: %w",
		op, id, cur.Version, expectedVersion, schedule.ErrVersionMismatch)
}

// lockName writes the name lock of owner/name for schedule id. It returns
// schedule.ErrConflict when another schedule holds the name. A lock whose
// schedule no longer holds the name (left by a write that failed half-way)
// is taken over once it is older than orphanLockAge.
func (s *Store) lockName(ctx context.Context, owner, name, id string) error {
	item := nameLockKey(owner, name)
	item[attrScheduleID] = str(id)
	item[attrCreatedAt] = num(s.Now().UnixMilli())
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           &s.table,
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if err == nil {
		return nil
	}
	if !isConditionFailed(err) {
		return wrap("lock name", err)
	}

	holder, created, err := s.readNameLock(ctx, owner, name)
	if err != nil {
		return err
	}
	if holder == id {
		return nil
	}
	if s.Now().Sub(created) < orphanLockAge || s.holdsName(ctx, holder, owner, name) {
		return fmt.Errorf("name %q is taken by schedule %s: %w", name, holder, schedule.ErrConflict)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 &s.table,
		Item:                      item,
		ConditionExpression:       aws.String("scheduleId = :holder"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":holder": str(holder)},
	})
	if isConditionFailed(err) {
		return fmt.Errorf("name %q is taken: %w", name, schedule.ErrConflict)
	}
	if err != nil {
		return wrap("take over name lock", err)
	}
	return nil
}

func (s *Store) readNameLock(ctx context.Context, owner, name string) (string, time.Time, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            nameLockKey(owner, name),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return "", time.Time{}, wrap("read name lock", err)
	}
	if out.Item == nil {
		// The lock was deleted between the failed put and this read. Report
		// a conflict and let the caller retry rather than loop here.
		return "", time.Time{}, fmt.Errorf("name %q is being changed: %w", name, schedule.ErrConflict)
	}
	holder := getS(out.Item, attrScheduleID)
	ms, _ := getN(out.Item, attrCreatedAt)
	return holder, time.UnixMilli(ms), nil
}

// holdsName reports whether schedule id exists and is named name. Errors
// count as "holds", so that a read failure never steals a lock.
func (s *Store) holdsName(ctx context.Context, id, owner, name string) bool {
	sc, err := s.GetSchedule(ctx, owner, id)
	if errors.Is(err, schedule.ErrNotFound) {
		return false
	}
	return err != nil || sc.Name == name
}

// unlockName deletes the name lock if schedule id still holds it. It is
// best effort: a lock left behind is taken over later by lockName.
func (s *Store) unlockName(ctx context.Context, owner, name, id string) {
	_, _ = s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 &s.table,
		Key:                       nameLockKey(owner, name),
		ConditionExpression:       aws.String("scheduleId = :id"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": str(id)},
	})
}

// scheduleItem returns the full item of a new schedule.
func scheduleItem(sc *schedule.Schedule) (map[string]types.AttributeValue, error) {
	doc, err := encodeDoc(sc)
	if err != nil {
		return nil, err
	}
	item := scheduleKey(sc.ID)
	item[attrGSI1PK] = str("O#" + sc.Owner)
	item[attrGSI1SK] = str(sc.Name)
	item[attrDoc] = str(doc)
	item[attrOwner] = str(sc.Owner)
	item[attrName] = str(sc.Name)
	item[attrVersion] = num(sc.Version)
	item[attrState] = str(string(sc.State))
	item[attrTopics] = strList(sc.Target.Topics)
	return item, nil
}

// encodeDoc returns the JSON of sc without the read-only fields, which the
// item keeps in their own attributes or which the API computes.
func encodeDoc(sc *schedule.Schedule) (string, error) {
	c := *sc
	c.NextFires = nil
	c.LastRun = nil
	c.RunCount = 0
	b, err := json.Marshal(&c)
	if err != nil {
		return "", fmt.Errorf("encode schedule: %w", err)
	}
	return string(b), nil
}

// decodeSchedule builds a schedule from its item.
func decodeSchedule(item map[string]types.AttributeValue) (*schedule.Schedule, error) {
	var sc schedule.Schedule
	if err := json.Unmarshal([]byte(getS(item, attrDoc)), &sc); err != nil {
		return nil, fmt.Errorf("decode schedule %s: %w", getS(item, attrPK), err)
	}
	sc.RunCount, _ = getN(item, attrRunCount)
	// New items start with lastRunAt 0: no run yet.
	if ms, ok := getN(item, attrLastRunAt); ok && ms > 0 {
		sc.LastRun = &schedule.RunSummary{
			FireAt:  time.UnixMilli(ms).UTC(),
			Outcome: schedule.Outcome(getS(item, attrLastOutcome)),
		}
	}
	return &sc, nil
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func num[T int | int64](v T) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(int64(v), 10)}
}

func strList(v []string) types.AttributeValue {
	l := make([]types.AttributeValue, len(v))
	for i, s := range v {
		l[i] = str(s)
	}
	return &types.AttributeValueMemberL{Value: l}
}

func getS(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func getN(item map[string]types.AttributeValue, name string) (int64, bool) {
	v, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	return n, err == nil
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// wrap adds the package prefix and op to err, and marks errors that a later
// attempt may fix (throttling, server errors, network errors, timeouts)
// with schedule.ErrUnavailable.
func wrap(op string, err error) error {
	if isTransient(err) {
		return fmt.Errorf("dynamodb: %s: %w: %w", op, schedule.ErrUnavailable, err)
	}
	return fmt.Errorf("dynamodb: %s: %w", op, err)
}

func isTransient(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return true // network error or timeout
	}
	switch apiErr.ErrorCode() {
	case "ThrottlingException", "ProvisionedThroughputExceededException",
		"RequestLimitExceeded", "InternalServerError", "ServiceUnavailable":
		return true
	}
	return apiErr.ErrorFault() == smithy.FaultServer
}
