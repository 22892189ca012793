package dynamo_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mqcron/mqcron/dynamo"
	"github.com/mqcron/mqcron/schedule"
)

func TestStore_CreateSchedule(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		s := MustOpenStore(t)
		ctx := context.Background()
		want := newSchedule(t, "alice", "nightly", "devices/a/cmd", "/records")
		want.Version = 7 // CreateSchedule always stores version 1.
		MustCreate(t, s, want)

		got, err := s.GetSchedule(ctx, "alice", want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != 1 {
			t.Errorf("version = %d, want 1", got.Version)
		}
		if got.Name != "nightly" || got.Owner != "alice" {
			t.Errorf("name, owner = %q, %q", got.Name, got.Owner)
		}
		if len(got.Target.Topics) != 2 || got.Target.Topics[1] != "/records" {
			t.Errorf("topics = %q", got.Target.Topics)
		}
		if string(got.Target.Payload) != `{"cmd":"reboot"}` {
			t.Errorf("payload = %s", got.Target.Payload)
		}
		if !got.CreatedAt.Equal(want.CreatedAt) {
			t.Errorf("createdAt = %v, want %v", got.CreatedAt, want.CreatedAt)
		}
		if got.RunCount != 0 || got.LastRun != nil {
			t.Errorf("runCount, lastRun = %d, %v", got.RunCount, got.LastRun)
		}
	})

	t.Run("ErrDuplicateName", func(t *testing.T) {
		t.Parallel()
		s := MustOpenStore(t)
		ctx := context.Background()
		MustCreate(t, s, newSchedule(t, "alice", "nightly"))
		second := newSchedule(t, "alice", "nightly")
		if err := s.CreateSchedule(ctx, second); !errors.Is(err, schedule.ErrConflict) {
			t.Fatalf("err = %v, want ErrConflict", err)
		}
		if _, err := s.GetSchedule(ctx, "alice", second.ID); !errors.Is(err, schedule.ErrNotFound) {
			t.Errorf("second schedule: err = %v, want ErrNotFound", err)
		}
		if n, err := s.CountSchedules(ctx, "alice"); err != nil || n != 1 {
			t.Errorf("count = %d, %v, want 1", n, err)
		}

		// Another owner may use the same name.
		MustCreate(t, s, newSchedule(t, "bob", "nightly"))
	})

	t.Run("ErrDuplicateID", func(t *testing.T) {
		t.Parallel()
		s := MustOpenStore(t)
		first := newSchedule(t, "alice", "a")
		MustCreate(t, s, first)
		second := newSchedule(t, "alice", "b")
		second.ID = first.ID
		if err := s.CreateSchedule(context.Background(), second); !errors.Is(err, schedule.ErrConflict) {
			t.Fatalf("err = %v, want ErrConflict", err)
		}
		// The failed create released its name lock.
		third := newSchedule(t, "alice", "b")
		MustCreate(t, s, third)
	})

	t.Run("OrphanLockTakenOver", func(t *testing.T) {
		t.Parallel()
		client, table := MustCreateTable(t)
		s := dynamo.New(client, table)
		ctx := context.Background()
		first := newSchedule(t, "alice", "nightly")
		MustCreate(t, s, first)

		// Remove the schedule item only, as a crash between the two writes
		// of a create would leave the lock.
		_, err := client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: &table,
			Key: map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: "S#" + first.ID},
				"sk": &types.AttributeValueMemberS{Value: "S"},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		second := newSchedule(t, "alice", "nightly")
		if err := s.CreateSchedule(ctx, second); !errors.Is(err, schedule.ErrConflict) {
			t.Fatalf("young orphan lock: err = %v, want ErrConflict", err)
		}
		s.Now = func() time.Time { return time.Now().Add(2 * time.Minute) }
		if err := s.CreateSchedule(ctx, second); err != nil {
			t.Fatalf("old orphan lock: %v", err)
		}
	})
}

func TestStore_GetSchedule(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	ctx := context.Background()
	sc := newSchedule(t, "alice", "nightly")
	MustCreate(t, s, sc)

	if _, err := s.GetSchedule(ctx, "bob", sc.ID); !errors.Is(err, schedule.ErrNotFound) {
		t.Errorf("other owner: err = %v, want ErrNotFound", err)
	}
	if _, err := s.GetSchedule(ctx, "alice", "sch-missing"); !errors.Is(err, schedule.ErrNotFound) {
		t.Errorf("missing id: err = %v, want ErrNotFound", err)
	}
}

func TestStore_ReplaceSchedule(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		s := MustOpenStore(t)
		ctx := context.Background()
		sc := newSchedule(t, "alice", "nightly")
		MustCreate(t, s, sc)
		mustFinish(t, s, sc.ID, time.Now(), schedule.OutcomeDelivered)

		next := *sc
		next.Version = 2
		next.State = schedule.StateDisabled
		next.Description = "paused for maintenance"
		if err := s.ReplaceSchedule(ctx, &next, 1); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetSchedule(ctx, "alice", sc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != 2 || got.State != schedule.StateDisabled || got.Description != next.Description {
			t.Errorf("got version %d, state %s, description %q", got.Version, got.State, got.Description)
		}
		if got.RunCount != 1 || got.LastRun == nil {
			t.Errorf("run summary lost: runCount %d, lastRun %v", got.RunCount, got.LastRun)
		}
	})

	t.Run("ErrStaleVersion", func(t *testing.T) {
		t.Parallel()
		s := MustOpenStore(t)
		sc := newSchedule(t, "alice", "nightly")
		MustCreate(t, s, sc)
		mustReplace(t, s, sc, 1, 2)

		stale := *sc
		stale.Version = 2
		err := s.ReplaceSchedule(context.Background(), &stale, 1)
		if !errors.Is(err, schedule.ErrVersionMismatch) {
			t.Fatalf("err = %v, want ErrVersionMismatch", err)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		s := MustOpenStore(t)
		sc := newSchedule(t, "alice", "nightly")
		sc.Version = 2
		if err := s.ReplaceSchedule(context.Background(), sc, 1); !errors.Is(err, schedule.ErrNotFound) {
			t.Fatalf("missing: err = %v, want ErrNotFound", err)
		}

		MustCreate(t, s, sc)
		other := *sc
		other.Owner = "mallory"
		other.Version = 2
		if err := s.ReplaceSchedule(context.Background(), &other, 1); !errors.Is(err, schedule.ErrNotFound) {
			t.Fatalf("other owner: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("ErrVersionUnchanged", func(t *testing.T) {
		t.Parallel()
		s := MustOpenStore(t)
		sc := newSchedule(t, "alice", "nightly")
		MustCreate(t, s, sc)
		if err := s.ReplaceSchedule(context.Background(), sc, 1); err == nil {
			t.Fatal("replace with version 1 over expected version 1: got nil error")
		}
	})

	t.Run("Rename", func(t *testing.T) {
		t.Parallel()
		s := MustOpenStore(t)
		ctx := context.Background()
		sc := newSchedule(t, "alice", "old-name")
		MustCreate(t, s, sc)
		taken := newSchedule(t, "alice", "taken")
		MustCreate(t, s, taken)

		next := *sc
		next.Version = 2
		next.Name = "taken"
		if err := s.ReplaceSchedule(ctx, &next, 1); !errors.Is(err, schedule.ErrConflict) {
			t.Fatalf("rename to a taken name: err = %v, want ErrConflict", err)
		}

		next.Name = "new-name"
		if err := s.ReplaceSchedule(ctx, &next, 1); err != nil {
			t.Fatalf("rename: %v", err)
		}
		// The old name is free and the new one is held.
		MustCreate(t, s, newSchedule(t, "alice", "old-name"))
		if err := s.CreateSchedule(ctx, newSchedule(t, "alice", "new-name")); !errors.Is(err, schedule.ErrConflict) {
			t.Errorf("create with the new name: err = %v, want ErrConflict", err)
		}
		page, _, err := s.ListSchedules(ctx, "alice", schedule.ListFilter{NamePrefix: "new-"})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) != 1 || page[0].ID != sc.ID {
			t.Errorf("list by new name = %d schedules", len(page))
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		t.Parallel()
		s := MustOpenStore(t)
		sc := newSchedule(t, "alice", "contended")
		MustCreate(t, s, sc)
		const writers = 8
		for version := int64(1); version <= 5; version++ {
			var wg sync.WaitGroup
			errs := make([]error, writers)
			for w := range writers {
				wg.Go(func() {
					next := *sc
					next.Version = version + 1
					next.Description = fmt.Sprintf("writer %d", w)
					errs[w] = s.ReplaceSchedule(context.Background(), &next, version)
				})
			}
			wg.Wait()

			wins := 0
			for w, err := range errs {
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, schedule.ErrVersionMismatch):
					t.Errorf("version %d, writer %d: err = %v, want nil or ErrVersionMismatch", version, w, err)
				}
			}
			if wins != 1 {
				t.Fatalf("version %d: %d writers won, want 1", version, wins)
			}
		}
	})
}

func TestStore_DeleteSchedule(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	ctx := context.Background()
	sc := newSchedule(t, "alice", "nightly")
	MustCreate(t, s, sc)
	mustReplace(t, s, sc, 1, 2)

	if err := s.DeleteSchedule(ctx, "alice", sc.ID, 1); !errors.Is(err, schedule.ErrVersionMismatch) {
		t.Fatalf("stale version: err = %v, want ErrVersionMismatch", err)
	}
	if err := s.DeleteSchedule(ctx, "bob", sc.ID, 0); !errors.Is(err, schedule.ErrNotFound) {
		t.Fatalf("other owner: err = %v, want ErrNotFound", err)
	}
	if err := s.DeleteSchedule(ctx, "alice", sc.ID, 2); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := s.GetSchedule(ctx, "alice", sc.ID); !errors.Is(err, schedule.ErrNotFound) {
		t.Errorf("get after delete: err = %v, want ErrNotFound", err)
	}
	if err := s.DeleteSchedule(ctx, "alice", sc.ID, 0); !errors.Is(err, schedule.ErrNotFound) {
		t.Errorf("second delete: err = %v, want ErrNotFound", err)
	}
	// The name lock went with the schedule.
	MustCreate(t, s, newSchedule(t, "alice", "nightly"))
}

func TestStore_ListSchedules(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	ctx := context.Background()
	for i := range 25 {
		topic := fmt.Sprintf("devices/d%02d/cmd", i)
		if i%3 == 0 {
			topic = fmt.Sprintf("lights/l%02d/set", i)
		}
		sc := newSchedule(t, "alice", fmt.Sprintf("job-%02d", i), topic)
		MustCreate(t, s, sc)
		if i%5 == 0 {
			mustReplaceState(t, s, sc, schedule.StateDisabled)
		}
	}
	MustCreate(t, s, newSchedule(t, "alice", "other"))
	MustCreate(t, s, newSchedule(t, "bob", "job-99"))

	t.Run("Pagination", func(t *testing.T) {
		t.Parallel()
		names := listAll(t, s, "alice", schedule.ListFilter{Limit: 10}, []int{10, 10, 6})
		if names[0] != "job-00" || names[24] != "job-24" || names[25] != "other" {
			t.Errorf("order: first %q, 25th %q, last %q", names[0], names[24], names[25])
		}
	})

	t.Run("NamePrefix", func(t *testing.T) {
		t.Parallel()
		names := listAll(t, s, "alice", schedule.ListFilter{NamePrefix: "job-1", Limit: 4}, []int{4, 4, 2})
		for _, n := range names {
			if n[:5] != "job-1" {
				t.Errorf("name %q does not match prefix", n)
			}
		}
	})

	t.Run("State", func(t *testing.T) {
		t.Parallel()
		// Disabled: job-00, 05, 10, 15, 20.
		names := listAll(t, s, "alice", schedule.ListFilter{State: schedule.StateDisabled, Limit: 2}, []int{2, 2, 1})
		if names[4] != "job-20" {
			t.Errorf("last disabled = %q, want job-20", names[4])
		}
	})

	t.Run("TopicPrefix", func(t *testing.T) {
		t.Parallel()
		// Topics lights/...: job-00, 03, 06, 09, 12, 15, 18, 21, 24.
		names := listAll(t, s, "alice", schedule.ListFilter{TopicPrefix: "lights/", Limit: 4}, []int{4, 4, 1})
		if names[0] != "job-00" || names[8] != "job-24" {
			t.Errorf("names = %q", names)
		}
	})

	t.Run("AllFilters", func(t *testing.T) {
		t.Parallel()
		f := schedule.ListFilter{NamePrefix: "job-", TopicPrefix: "lights/", State: schedule.StateDisabled, Limit: 1}
		// Disabled with lights topics: job-00, job-15.
		names := listAll(t, s, "alice", f, []int{1, 1})
		if names[0] != "job-00" || names[1] != "job-15" {
			t.Errorf("names = %q", names)
		}
	})

	t.Run("ErrTamperedCursor", func(t *testing.T) {
		t.Parallel()
		_, cursor, err := s.ListSchedules(ctx, "alice", schedule.ListFilter{Limit: 3})
		if err != nil || cursor == "" {
			t.Fatalf("first page: cursor %q, err %v", cursor, err)
		}
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil {
			t.Fatal(err)
		}
		forged := base64.RawURLEncoding.EncodeToString([]byte(
			fmt.Sprintf(`{"pk":"S#x","sk":"S","gsi1pk":"O#bob","gsi1sk":"job-99"}`)))
		cases := map[string]struct {
			owner, cursor string
		}{
			"NotBase64":     {"alice", "!!" + cursor},
			"Truncated":     {"alice", base64.RawURLEncoding.EncodeToString(raw[:len(raw)-3])},
			"OtherOwner":    {"bob", cursor},
			"ForgedOwner":   {"alice", forged},
			"UnknownFields": {"alice", base64.RawURLEncoding.EncodeToString([]byte(`{"x":1}`))},
		}
		for name, c := range cases {
			_, _, err := s.ListSchedules(ctx, c.owner, schedule.ListFilter{Cursor: c.cursor})
			var ve *schedule.ValidationError
			if !errors.As(err, &ve) {
				t.Errorf("%s: err = %v, want ValidationError", name, err)
				continue
			}
			if ve.Fields[0].Pointer != "/nextToken" {
				t.Errorf("%s: pointer = %q, want /nextToken", name, ve.Fields[0].Pointer)
			}
		}
	})
}

// listAll reads every page of owner's schedules and checks the page sizes.
func listAll(tb testing.TB, s *dynamo.Store, owner string, f schedule.ListFilter, sizes []int) []string {
	tb.Helper()
	var names []string
	var got []int
	seen := map[string]bool{}
	for {
		page, cursor, err := s.ListSchedules(context.Background(), owner, f)
		if err != nil {
			tb.Fatalf("list: %v", err)
		}
		got = append(got, len(page))
		for _, sc := range page {
			if seen[sc.ID] {
				tb.Errorf("schedule %s listed twice", sc.Name)
			}
			seen[sc.ID] = true
			if sc.Owner != owner {
				tb.Errorf("schedule %s has owner %q", sc.Name, sc.Owner)
			}
			names = append(names, sc.Name)
		}
		if cursor == "" {
			break
		}
		if len(got) > 100 {
			tb.Fatal("more than 100 pages")
		}
		f.Cursor = cursor
	}
	if fmt.Sprint(got) != fmt.Sprint(sizes) {
		tb.Fatalf("page sizes = %v, want %v", got, sizes)
	}
	return names
}

func TestStore_GetSchedules(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	var ids []string
	for i := range 250 {
		sc := newSchedule(t, fmt.Sprintf("owner-%d", i%7), fmt.Sprintf("s-%03d", i))
		MustCreate(t, s, sc)
		ids = append(ids, sc.ID)
	}
	query := append(append([]string{}, ids...), "sch-missing-1", ids[0], "sch-missing-2")

	got, err := s.GetSchedules(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 250 {
		t.Fatalf("got %d schedules, want 250", len(got))
	}
	for i, id := range ids {
		sc, ok := got[id]
		if !ok {
			t.Fatalf("schedule %s missing", id)
		}
		if want := fmt.Sprintf("s-%03d", i); sc.Name != want {
			t.Errorf("schedule %s: name %q, want %q", id, sc.Name, want)
		}
	}
	if _, ok := got["sch-missing-1"]; ok {
		t.Error("missing id present in result")
	}
}

func TestStore_CountSchedules(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	for i := range 12 {
		MustCreate(t, s, newSchedule(t, "alice", fmt.Sprintf("s-%d", i)))
	}
	MustCreate(t, s, newSchedule(t, "bob", "s-0"))
	n, err := s.CountSchedules(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if n != 12 {
		t.Errorf("count = %d, want 12", n)
	}
}

func TestStore_PutIdempotency(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	ctx := context.Background()
	got, err := s.PutIdempotency(ctx, "alice", "key-1", "sch-1", "fp", time.Hour)
	if err != nil || got != "" {
		t.Fatalf("first put = %q, %v, want empty", got, err)
	}
	got, err = s.PutIdempotency(ctx, "alice", "key-1", "sch-2", "fp", time.Hour)
	if err != nil || got != "sch-1" {
		t.Fatalf("second put = %q, %v, want sch-1", got, err)
	}
	got, err = s.PutIdempotency(ctx, "bob", "key-1", "sch-3", "fp", time.Hour)
	if err != nil || got != "" {
		t.Fatalf("other owner = %q, %v, want empty", got, err)
	}

	if err := s.DeleteIdempotency(ctx, "alice", "key-1", "sch-other"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.PutIdempotency(ctx, "alice", "key-1", "sch-4", "fp", time.Hour); got != "sch-1" {
		t.Errorf("after delete with wrong id = %q, want sch-1", got)
	}
	if err := s.DeleteIdempotency(ctx, "alice", "key-1", "sch-1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.PutIdempotency(ctx, "alice", "key-1", "sch-5", "fp", time.Second); got != "" {
		t.Errorf("after delete = %q, want empty", got)
	}

	// An expired record counts as absent.
	s.Now = func() time.Time { return time.Now().Add(time.Minute) }
	if got, _ := s.PutIdempotency(ctx, "alice", "key-1", "sch-6", "fp", time.Hour); got != "" {
		t.Errorf("after expiry = %q, want empty", got)
	}
}

func mustReplace(tb testing.TB, s *dynamo.Store, sc *schedule.Schedule, from, to int64) {
	tb.Helper()
	next := *sc
	next.Version = to
	if err := s.ReplaceSchedule(context.Background(), &next, from); err != nil {
		tb.Fatalf("replace %s: %v", sc.Name, err)
	}
}

func mustReplaceState(tb testing.TB, s *dynamo.Store, sc *schedule.Schedule, state schedule.State) {
	tb.Helper()
	cur, err := s.GetSchedule(context.Background(), sc.Owner, sc.ID)
	if err != nil {
		tb.Fatal(err)
	}
	next := *cur
	next.State = state
	next.Version = cur.Version + 1
	if err := s.ReplaceSchedule(context.Background(), &next, cur.Version); err != nil {
		tb.Fatalf("replace %s: %v", sc.Name, err)
	}
}
