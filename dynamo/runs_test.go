package dynamo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mqcron/mqcron/dynamo"
	"github.com/mqcron/mqcron/schedule"
)

func TestStore_ClaimFire(t *testing.T) {
	t.Parallel()
	fireAt := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	run := func(attempt int) *schedule.Run {
		return &schedule.Run{ScheduleID: "sch-1", Version: 1, FireAt: fireAt, Attempt: attempt, Topics: 1}
	}

	t.Run("Twice", func(t *testing.T) {
		t.Parallel()
		s := MustOpenStore(t)
		ctx := context.Background()
		if ok, err := s.ClaimFire(ctx, run(1), time.Minute); err != nil || !ok {
			t.Fatalf("first claim = %v, %v, want true", ok, err)
		}
		if ok, err := s.ClaimFire(ctx, run(1), time.Minute); err != nil || ok {
			t.Fatalf("second claim = %v, %v, want false", ok, err)
		}
		other := run(1)
		other.FireAt = fireAt.Add(time.Millisecond)
		if ok, err := s.ClaimFire(ctx, other, time.Minute); err != nil || !ok {
			t.Fatalf("claim of the next millisecond = %v, %v, want true", ok, err)
		}
	})

	t.Run("ExpiredLease", func(t *testing.T) {
		t.Parallel()
		s := MustOpenStore(t)
		ctx := context.Background()
		if ok, err := s.ClaimFire(ctx, run(1), 30*time.Second); err != nil || !ok {
			t.Fatalf("first claim = %v, %v, want true", ok, err)
		}
		s.Now = func() time.Time { return time.Now().Add(31 * time.Second) }
		if ok, err := s.ClaimFire(ctx, run(1), 30*time.Second); err != nil || !ok {
			t.Fatalf("claim after lease = %v, %v, want true", ok, err)
		}
		if ok, err := s.ClaimFire(ctx, run(1), 30*time.Second); err != nil || ok {
			t.Fatalf("claim within the new lease = %v, %v, want false", ok, err)
		}
	})

	t.Run("NextAttempt", func(t *testing.T) {
		t.Parallel()
		s := MustOpenStore(t)
		ctx := context.Background()
		if ok, _ := s.ClaimFire(ctx, run(1), time.Hour); !ok {
			t.Fatal("first claim = false")
		}
		if ok, err := s.ClaimFire(ctx, run(2), time.Hour); err != nil || !ok {
			t.Fatalf("attempt 2 = %v, %v, want true", ok, err)
		}
		if ok, err := s.ClaimFire(ctx, run(1), time.Hour); err != nil || ok {
			t.Fatalf("late copy of attempt 1 = %v, %v, want false", ok, err)
		}
	})

	t.Run("Finished", func(t *testing.T) {
		t.Parallel()
		s := MustOpenStore(t)
		ctx := context.Background()
		if ok, _ := s.ClaimFire(ctx, run(1), time.Second); !ok {
			t.Fatal("first claim = false")
		}
		r := run(1)
		r.Outcome = schedule.OutcomeDelivered
		if err := s.FinishRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		s.Now = func() time.Time { return time.Now().Add(time.Hour) }
		if ok, err := s.ClaimFire(ctx, run(2), time.Second); err != nil || ok {
			t.Fatalf("claim after finish = %v, %v, want false", ok, err)
		}
	})
}

func TestStore_FinishRun(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	ctx := context.Background()
	sc := newSchedule(t, "alice", "nightly")
	MustCreate(t, s, sc)
	base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

	mustFinish(t, s, sc.ID, base.Add(2*time.Minute), schedule.OutcomeDelivered)
	mustFinish(t, s, sc.ID, base.Add(3*time.Minute), schedule.OutcomeDeadLettered)
	// A run that finishes late must not move lastRun back.
	mustFinish(t, s, sc.ID, base.Add(1*time.Minute), schedule.OutcomeExpired)

	got, err := s.GetSchedule(ctx, "alice", sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.RunCount != 3 {
		t.Errorf("runCount = %d, want 3", got.RunCount)
	}
	if got.LastRun == nil || !got.LastRun.FireAt.Equal(base.Add(3*time.Minute)) {
		t.Fatalf("lastRun = %+v, want fire at 09:03", got.LastRun)
	}
	if got.LastRun.Outcome != schedule.OutcomeDeadLettered {
		t.Errorf("lastRun outcome = %s", got.LastRun.Outcome)
	}

	// Runs of a deleted schedule are recorded without bringing it back.
	if err := s.DeleteSchedule(ctx, "alice", sc.ID, 0); err != nil {
		t.Fatal(err)
	}
	mustFinish(t, s, sc.ID, base.Add(4*time.Minute), schedule.OutcomeExpired)
	if _, err := s.GetSchedule(ctx, "alice", sc.ID); !errors.Is(err, schedule.ErrNotFound) {
		t.Errorf("schedule after FinishRun: err = %v, want ErrNotFound", err)
	}
}

func TestStore_FinishRunWithoutLastRunAt(t *testing.T) {
	t.Parallel()
	client, table := MustCreateTable(t)
	s := dynamo.New(client, table)
	ctx := context.Background()
	sc := newSchedule(t, "alice", "legacy")
	MustCreate(t, s, sc)
	got, err := s.GetSchedule(ctx, "alice", sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.LastRun != nil || got.RunCount != 0 {
		t.Fatalf("new schedule: lastRun = %+v, runCount = %d, want none and 0", got.LastRun, got.RunCount)
	}
	// Items written before lastRunAt started at 0 have no such attribute.
	_, err = client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        &table,
		Key:              map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "S#" + sc.ID}, "sk": &types.AttributeValueMemberS{Value: "S"}},
		UpdateExpression: aws.String("REMOVE lastRunAt"),
	})
	if err != nil {
		t.Fatal(err)
	}

	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	mustFinish(t, s, sc.ID, at, schedule.OutcomeDelivered)
	mustFinish(t, s, sc.ID, at.Add(-time.Minute), schedule.OutcomeExpired)
	got, err = s.GetSchedule(ctx, "alice", sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.RunCount != 2 {
		t.Errorf("runCount = %d, want 2", got.RunCount)
	}
	if got.LastRun == nil || !got.LastRun.FireAt.Equal(at) || got.LastRun.Outcome != schedule.OutcomeDelivered {
		t.Errorf("lastRun = %+v, want DELIVERED at %v", got.LastRun, at)
	}
}

func TestStore_FinishRunAfterRetry(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	first := &schedule.Run{ScheduleID: "sch-1", Version: 1, FireAt: at, Attempt: 1, Topics: 1}
	if ok, err := s.ClaimFire(ctx, first, time.Minute); err != nil || !ok {
		t.Fatalf("claim attempt 1 = %v, %v, want true", ok, err)
	}

	first.Outcome, first.Error = schedule.OutcomeRetrying, "mqtt: publish: connection refused"
	if err := s.FinishRun(ctx, first); err != nil {
		t.Fatal(err)
	}
	second := &schedule.Run{ScheduleID: "sch-1", Version: 1, FireAt: at, Attempt: 2, Topics: 1}
	if ok, err := s.ClaimFire(ctx, second, time.Minute); err != nil || !ok {
		t.Fatalf("claim attempt 2 = %v, %v, want true", ok, err)
	}
	second.Outcome = schedule.OutcomeDelivered
	if err := s.FinishRun(ctx, second); err != nil {
		t.Fatal(err)
	}

	runs, err := s.ListRuns(ctx, "sch-1", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 {
		t.Fatalf("got %d runs, want 1", len(runs))
	}
	if r := runs[0]; r.Outcome != schedule.OutcomeDelivered || r.Attempt != 2 || r.Error != "" {
		t.Errorf("run = outcome %s, attempt %d, error %q; want DELIVERED, 2, no error", r.Outcome, r.Attempt, r.Error)
	}
	if ok, err := s.ClaimFire(ctx, &schedule.Run{ScheduleID: "sch-1", Version: 1, FireAt: at, Attempt: 3, Topics: 1}, time.Minute); err != nil || ok {
		t.Errorf("claim after delivery = %v, %v, want false", ok, err)
	}
}

func TestStore_ListRuns(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	ctx := context.Background()
	base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i := range 5 {
		mustFinish(t, s, "sch-1", base.Add(time.Duration(i)*time.Minute), schedule.OutcomeDelivered)
	}
	mustFinish(t, s, "sch-2", base, schedule.OutcomeDelivered)
	// A claimed, unfinished run is not listed.
	claimed := &schedule.Run{ScheduleID: "sch-1", Version: 1, FireAt: base.Add(time.Hour), Attempt: 1}
	if ok, err := s.ClaimFire(ctx, claimed, time.Minute); err != nil || !ok {
		t.Fatalf("claim = %v, %v", ok, err)
	}
	failed := &schedule.Run{
		ScheduleID: "sch-1", Version: 1, FireAt: base.Add(30 * time.Minute), Attempt: 3, Topics: 2,
		Outcome: schedule.OutcomeDeadLettered, Error: "iotcore: publish: status 413",
	}
	if err := s.FinishRun(ctx, failed); err != nil {
		t.Fatal(err)
	}

	runs, err := s.ListRuns(ctx, "sch-1", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 3 {
		t.Fatalf("got %d runs, want 3", len(runs))
	}
	first := runs[0]
	if !first.FireAt.Equal(failed.FireAt) {
		t.Errorf("newest run fires at %v, want %v", first.FireAt, failed.FireAt)
	}
	if first.Outcome != schedule.OutcomeDeadLettered || first.Error != failed.Error {
		t.Errorf("outcome, error = %s, %q", first.Outcome, first.Error)
	}
	if first.Attempt != 3 || first.Topics != 2 || first.Version != 1 {
		t.Errorf("attempt, topics, version = %d, %d, %d", first.Attempt, first.Topics, first.Version)
	}
	if first.FireID != schedule.FireID("sch-1", failed.FireAt) {
		t.Errorf("fire id = %q", first.FireID)
	}
	if !runs[1].FireAt.Equal(base.Add(4*time.Minute)) || !runs[2].FireAt.Equal(base.Add(3*time.Minute)) {
		t.Errorf("order: %v, %v", runs[1].FireAt, runs[2].FireAt)
	}

	all, err := s.ListRuns(ctx, "sch-1", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 6 {
		t.Errorf("got %d runs, want 6", len(all))
	}
}

func mustFinish(tb testing.TB, s *dynamo.Store, id string, at time.Time, outcome schedule.Outcome) {
	tb.Helper()
	r := &schedule.Run{ScheduleID: id, Version: 1, FireAt: at, Attempt: 1, Topics: 1, Outcome: outcome}
	if err := s.FinishRun(context.Background(), r); err != nil {
		tb.Fatalf("finish run: %v", err)
	}
}
