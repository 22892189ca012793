package e2e_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mqcron/mqcron/dispatch"
)

// In Australia/Lord_Howe the clock is 10:30 or 11 hours ahead of UTC, so
// "every 4 minutes" local time falls on UTC minutes 0, 4, 8, ... at one
// offset and 2, 6, 10, ... at the other. The broker form covers both and
// wakes every 2 minutes; the dispatcher must deliver only the true fires.
func TestFlow_OverFiringBrokerFormDeliversTrueFires(t *testing.T) {
	if testing.Short() {
		t.Skip("waits up to 4.5 minutes for two broker wake-ups; run without -short")
	}
	s := MustStartStack(t)
	topic := s.topics + "lord-howe"
	body := fmt.Sprintf(`{"name":"every-4-minutes","scheduleExpression":"*/4 * * * *",
		"scheduleExpressionTimezone":"Australia/Lord_Howe",
		"target":{"topics":[%q],"payload":"{{fireTime}}"}}`, topic)
	var sched created
	if status := s.do(t, "POST", "/schedules", body, &sched); status != 201 {
		t.Fatalf("create status = %d, want 201", status)
	}
	if jobs := s.jobsFor(t, sched.ID); len(jobs) != 1 || !strings.HasPrefix(jobs[0].Cron, "0,2,4,") {
		t.Fatalf("broker jobs = %+v, want one cron job waking every 2 minutes", jobs)
	}

	// The next two even UTC minutes are two wake-ups; exactly one of them
	// is a true fire, the first entry of nextFires.
	now := time.Now().UTC()
	firstWake := now.Truncate(2 * time.Minute).Add(2 * time.Minute)
	secondWake := firstWake.Add(2 * time.Minute)
	trueFire := sched.NextFires[0].UTC()
	if !trueFire.Equal(firstWake) && !trueFire.Equal(secondWake) {
		t.Fatalf("next fire %s is neither wake-up %s nor %s", trueFire, firstWake, secondWake)
	}

	got := s.waitMessages(2, time.Until(secondWake)+20*time.Second)
	if len(got) != 1 {
		t.Fatalf("received %d messages by %s, want exactly 1", len(got), secondWake.Add(20*time.Second))
	}
	if want := `"` + trueFire.Format(time.RFC3339) + `"`; got[0].payload != want {
		t.Errorf("delivered fire = %s, want %s", got[0].payload, want)
	}
	if n := s.dispatcher.Metrics().Counter(dispatch.MetricDroppedNotDue); n != 1 {
		t.Errorf("DroppedNotDue = %d, want 1 (the wake-up that is not a fire)", n)
	}
	if n := s.dispatcher.Metrics().Counter(dispatch.MetricDelivered); n != 1 {
		t.Errorf("Delivered = %d, want 1", n)
	}
}
