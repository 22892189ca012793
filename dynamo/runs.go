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

// Run item attributes and states.
const (
	attrRunState   = "runState"
	attrLeaseUntil = "leaseUntil"
	attrFireID     = "fireId"
	attrFireAt     = "fireAt"
	attrAttempt    = "attempt"
	attrTopicCount = "topicCount"
	attrOutcome    = "outcome"
	attrError      = "error"
	attrRecordedAt = "recordedAt"

	runClaimed  = "CLAIMED"
	runFinished = "FINISHED"
)

func runKey(scheduleID string, fireAt time.Time) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: str("S#" + scheduleID),
		attrSK: str(fmt.Sprintf("F#%013d#", fireAt.UnixMilli())),
	}
}

// ClaimFire records that the dispatcher starts run r, with one conditional
// put. It returns true when no run exists for the fire, when a claimed run's
// lease has expired, or when a claimed run has a lower attempt number than
// r (a retry that the holder of the claim sent itself), or when the run
// was recorded as RETRYING with a lower attempt number than r (the retry
// that run sent). It returns false when the run is finished otherwise or
// held by a live lease.
//
// A first attempt usually finds no run, so it tries the plain "no item"
// condition first and evaluates the full condition only when a run exists.
// dynalite evaluates the full condition about 2.5 times slower than the
// plain one, and DynamoDB charges the same for both.
func (s *Store) ClaimFire(ctx context.Context, r *schedule.Run, lease time.Duration) (bool, error) {
	now := s.Now()
	item := runKey(r.ScheduleID, r.FireAt)
	item[attrRunState] = str(runClaimed)
	item[attrLeaseUntil] = num(now.Add(lease).UnixMilli())
	item[attrFireID] = str(fireID(r))
	item[attrFireAt] = num(r.FireAt.UnixMilli())
	item[attrVersion] = num(r.Version)
	item[attrAttempt] = num(r.Attempt)
	item[attrTopicCount] = num(r.Topics)
	item[attrExpiresAt] = num(now.Add(s.RunTTL).Unix())

	if r.Attempt <= 1 {
		_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:           &s.table,
			Item:                item,
			ConditionExpression: aws.String("attribute_not_exists(pk)"),
		})
		if err == nil {
			return true, nil
		}
		if !isConditionFailed(err) {
			return false, wrap("claim fire "+fireID(r), err)
		}
	}
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table,
		Item:      item,
		ConditionExpression: aws.String("attribute_not_exists(pk) OR " +
			"(runState = :claimed AND (leaseUntil < :now OR attempt < :attempt)) OR " +
			"(outcome = :retrying AND attempt < :attempt)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":claimed":  str(runClaimed),
			":now":      num(now.UnixMilli()),
			":attempt":  num(r.Attempt),
			":retrying": str(string(schedule.OutcomeRetrying)),
		},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, wrap("claim fire "+fireID(r), err)
	}
	return true, nil
}

// FinishRun stores the outcome of run r and adds it to the schedule's run
// summary: runCount grows by one and lastRun moves to r unless a later fire
// already finished. The schedule update carries no version condition, and a
// deleted schedule is left deleted.
func (s *Store) FinishRun(ctx context.Context, r *schedule.Run) error {
	now := s.Now()
	if r.RecordedAt.IsZero() {
		r.RecordedAt = now.UTC()
	}
	if err := s.writeOutcome(ctx, r, now); err != nil {
		return err
	}
	return s.addToSummary(ctx, r)
}

// writeOutcome replaces the run item of r with its finished record. Only
// the holder of the claim writes it, so it needs no condition, and a put
// of the whole item costs dynalite less than an update of its attributes.
func (s *Store) writeOutcome(ctx context.Context, r *schedule.Run, now time.Time) error {
	item := runKey(r.ScheduleID, r.FireAt)
	item[attrRunState] = str(runFinished)
	item[attrFireID] = str(fireID(r))
	item[attrFireAt] = num(r.FireAt.UnixMilli())
	item[attrVersion] = num(r.Version)
	item[attrAttempt] = num(r.Attempt)
	item[attrTopicCount] = num(r.Topics)
	item[attrOutcome] = str(string(r.Outcome))
	item[attrRecordedAt] = num(r.RecordedAt.UnixMilli())
	item[attrExpiresAt] = num(now.Add(s.RunTTL).Unix())
	if r.Error != "" {
		item[attrError] = str(r.Error)
	}
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item})
	if err != nil {
		return wrap("finish run "+fireID(r), err)
	}
	return nil
}

// addToSummary adds run r to runCount and lastRun of the schedule item.
// New items start with lastRunAt 0, so the condition "lastRunAt <= :at"
// passes for almost every fire, and it fails for a deleted schedule, which
// stays deleted. When it fails, a second UpdateItem sets lastRun on an item
// stored without lastRunAt, and a third only adds to runCount when a later
// fire already set lastRun.
func (s *Store) addToSummary(ctx context.Context, r *schedule.Run) error {
	update := aws.String("ADD runCount :one SET lastRunAt = :at, lastRunOutcome = :outcome")
	values := map[string]types.AttributeValue{
		":one":     num(1),
		":at":      num(r.FireAt.UnixMilli()),
		":outcome": str(string(r.Outcome)),
	}
	for _, cond := range []string{
		"lastRunAt <= :at",
		"attribute_exists(pk) AND (attribute_not_exists(lastRunAt) OR lastRunAt <= :at)",
	} {
		_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 &s.table,
			Key:                       scheduleKey(r.ScheduleID),
			UpdateExpression:          update,
			ConditionExpression:       aws.String(cond),
			ExpressionAttributeValues: values,
		})
		if err == nil {
			return nil
		}
		if !isConditionFailed(err) {
			return wrap("finish run "+fireID(r), err)
		}
	}

	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       scheduleKey(r.ScheduleID),
		UpdateExpression:          aws.String("ADD runCount :one"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1)},
	})
	if err != nil && !isConditionFailed(err) {
		return wrap("finish run "+fireID(r), err)
	}
	return nil
}

// ListRuns returns the latest finished runs of schedule id, newest fire
// first. Runs that are still claimed are left out.
func (s *Store) ListRuns(ctx context.Context, id string, limit int) ([]*schedule.Run, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	in := &dynamodb.QueryInput{
		TableName:              &s.table,
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :prefix)"),
		FilterExpression:       aws.String("runState = :finished"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":       str("S#" + id),
			":prefix":   str("F#"),
			":finished": str(runFinished),
		},
		ScanIndexForward: aws.Bool(false),
	}
	var runs []*schedule.Run
	for {
		in.Limit = aws.Int32(int32(limit - len(runs)))
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, wrap("list runs "+id, err)
		}
		for _, item := range out.Items {
			runs = append(runs, decodeRun(id, item))
		}
		if len(runs) >= limit || out.LastEvaluatedKey == nil {
			return runs, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

func decodeRun(id string, item map[string]types.AttributeValue) *schedule.Run {
	fireAt, _ := getN(item, attrFireAt)
	version, _ := getN(item, attrVersion)
	attempt, _ := getN(item, attrAttempt)
	topics, _ := getN(item, attrTopicCount)
	recorded, _ := getN(item, attrRecordedAt)
	return &schedule.Run{
		FireID:     getS(item, attrFireID),
		ScheduleID: id,
		Version:    version,
		FireAt:     time.UnixMilli(fireAt).UTC(),
		Attempt:    int(attempt),
		Topics:     int(topics),
		Outcome:    schedule.Outcome(getS(item, attrOutcome)),
		Error:      getS(item, attrError),
		RecordedAt: time.UnixMilli(recorded).UTC(),
	}
}

func fireID(r *schedule.Run) string {
	if r.FireID != "" {
		return r.FireID
	}
	return schedule.FireID(r.ScheduleID, r.FireAt)
}
