package faulttest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mqcron/mqcron/localstack"
	"github.com/mqcron/mqcron/resync"
)

func TestResync_WipedSchedulerStore(t *testing.T) {
	f := MustFixture(t, maxEventAge)
	f.startDispatcher(t)
	a := f.createRate(t, "wiped-a", "rate(2 seconds)")
	b := f.createRate(t, "wiped-b", "rate(2 seconds)")
	time.Sleep(3 * time.Second)

	// Stop the broker and delete its job scheduler store, as an operator
	// does when a stalled job must go.
	f.stopPart(t, localstack.ActiveMQ, false)
	store := filepath.Join(f.stack.Dir(), localstack.ActiveMQ, "data", "scheduler")
	if _, err := os.Stat(store); err != nil {
		t.Fatalf("scheduler store: %v", err)
	}
	if err := os.RemoveAll(store); err != nil {
		t.Fatalf("delete scheduler store: %v", err)
	}
	f.startPart(t, localstack.ActiveMQ)
	wiped := time.Now()

	run := func(dryRun bool) resync.Summary {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var progress bytes.Buffer
		sum, err := resync.Run(ctx, resync.Config{
			Broker: f.broker, Store: f.store, Jobs: f.svc, DryRun: dryRun, Progress: &progress,
		})
		if err != nil {
			t.Fatalf("resync: %v\n%s", err, progress.String())
		}
		t.Logf("resync (dry run %t): %s", dryRun, sum)
		return sum
	}
	if got := run(false); got.Jobs != 0 || got.Added != 2 || got.Removed != 0 || got.Failed != 0 {
		t.Errorf("first resync = %+v, want 0 jobs read and 2 added", got)
	}
	if got := run(false); got.Jobs != 2 || got.Kept != 2 || got.Added != 0 || got.Removed != 0 {
		t.Errorf("second resync = %+v, want the 2 jobs kept and nothing changed", got)
	}

	// Both schedules fire again.
	time.Sleep(5 * time.Second)
	counts, _ := f.sub.snapshot()
	for _, s := range []string{a.ID, b.ID} {
		n := 0
		for id := range counts {
			if at, ok := fireInstant(s, id); ok && at.After(wiped) {
				n++
			}
		}
		if n < 2 {
			t.Errorf("schedule %s: %d fires delivered after the resync, want at least 2", s, n)
		}
	}
}
