package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mqcron/mqcron/dispatch"
	"github.com/mqcron/mqcron/schedule"
)

type created struct {
	ID        string      `json:"id"`
	Version   int64       `json:"version"`
	State     string      `json:"state"`
	NextFires []time.Time `json:"nextFires"`
}

func TestFlow_RateScheduleDeliversUntilDeleted(t *testing.T) {
	s := MustStartStack(t)
	topic := s.topics + "thermostat-12/cmd"
	body := fmt.Sprintf(`{"name":"fast","scheduleExpression":"rate(2 seconds)",
		"target":{"topics":[%q],"qos":1,"payload":{"setpoint":21.5,"fire":"{{fireId}}"}}}`, topic)
	var sched created
	if status := s.do(t, "POST", "/schedules", body, &sched); status != 201 {
		t.Fatalf("create status = %d, want 201", status)
	}

	// The schedule is stored as version 1 and its job is on the broker.
	stored, err := s.store.GetSchedule(context.Background(), "local", sched.ID)
	if err != nil {
		t.Fatalf("stored schedule: %v", err)
	}
	if stored.Version != 1 || stored.State != schedule.StateEnabled {
		t.Errorf("stored version %d state %s, want 1 ENABLED", stored.Version, stored.State)
	}
	if jobs := s.jobsFor(t, sched.ID); len(jobs) != 1 || jobs[0].Period != 2*time.Second {
		t.Fatalf("broker jobs for %s = %+v, want one job with a 2 s period", sched.ID, jobs)
	}

	// Two fires arrive with the exact payload on the exact topic.
	got := s.waitMessages(2, 10*time.Second)
	if len(got) != 2 {
		t.Fatalf("received %d messages in 10 s, want 2", len(got))
	}
	for _, m := range got {
		if m.topic != topic {
			t.Errorf("topic = %q, want %q", m.topic, topic)
		}
		var payload struct {
			Setpoint float64 `json:"setpoint"`
			Fire     string  `json:"fire"`
		}
		if err := json.Unmarshal([]byte(m.payload), &payload); err != nil {
			t.Fatalf("payload %q: %v", m.payload, err)
		}
		if payload.Setpoint != 21.5 || !strings.HasPrefix(payload.Fire, sched.ID+"@") {
			t.Errorf("payload = %s, want setpoint 21.5 and a fire id of %s", m.payload, sched.ID)
		}
	}
	if got[0].payload == got[1].payload {
		t.Errorf("two fires carry the same fire id: %s", got[0].payload)
	}

	// After the delete nothing more arrives, and the next wake-up removes
	// the broker job.
	if status := s.do(t, "DELETE", "/schedules/"+sched.ID, "", nil); status != 204 {
		t.Fatalf("delete status = %d, want 204", status)
	}
	s.waitMessages(1000, 300*time.Millisecond) // a fire already in flight
	if late := s.waitMessages(1, 5*time.Second); len(late) != 0 {
		t.Errorf("received %q after the delete, want nothing", late[0].payload)
	}
	if jobs := s.jobsFor(t, sched.ID); len(jobs) != 0 {
		t.Errorf("broker still holds %d jobs for the deleted schedule", len(jobs))
	}
	if n := s.dispatcher.Metrics().Counter(dispatch.MetricDroppedDeleted); n < 1 {
		t.Errorf("DroppedDeleted = %d, want at least 1", n)
	}
}

func TestFlow_CronScheduleFiresAtMinute(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the next whole minute; run without -short")
	}
	s := MustStartStack(t)
	topic := s.topics + "cron"
	body := fmt.Sprintf(`{"name":"every-minute","scheduleExpression":"* * * * *",
		"target":{"topics":[%q],"payload":"tick {{fireTime}}"}}`, topic)
	var sched created
	if status := s.do(t, "POST", "/schedules", body, &sched); status != 201 {
		t.Fatalf("create status = %d, want 201", status)
	}
	if len(sched.NextFires) == 0 {
		t.Fatal("response has no nextFires")
	}
	want := sched.NextFires[0]
	got := s.waitMessages(1, time.Until(want)+15*time.Second)
	if len(got) != 1 {
		t.Fatalf("no message by %s", want.Add(15*time.Second))
	}
	if wantPayload := `"tick ` + want.UTC().Format(time.RFC3339) + `"`; got[0].payload != wantPayload {
		t.Errorf("payload = %s, want %s", got[0].payload, wantPayload)
	}
	if got[0].at.Before(want) {
		t.Errorf("arrived at %s, before the fire instant %s", got[0].at, want)
	}
}

func TestFlow_StaleVersionJobRemoved(t *testing.T) {
	s := MustStartStack(t)
	topic := s.topics + "stale"
	body := fmt.Sprintf(`{"name":"stale","scheduleExpression":"rate(1 hour)",
		"target":{"topics":[%q],"payload":"current"}}`, topic)
	var sched created
	if status := s.do(t, "POST", "/schedules", body, &sched); status != 201 {
		t.Fatalf("create status = %d, want 201", status)
	}

	// A job for a version that was never stored wakes the dispatcher every
	// second; the first wake-up must remove it and publish nothing.
	stale := &schedule.Job{
		Body:   schedule.JobBody{Kind: schedule.JobRecurring, ScheduleID: sched.ID, Version: 7},
		Delay:  time.Second,
		Period: time.Second,
		Repeat: 20,
		TTL:    time.Hour,
	}
	if err := s.broker.ScheduleJob(context.Background(), stale); err != nil {
		t.Fatalf("send stale job: %v", err)
	}
	if got := s.waitMessages(1, 4*time.Second); len(got) != 0 {
		t.Errorf("stale job published %q, want nothing", got[0].payload)
	}
	jobs := s.jobsFor(t, sched.ID)
	if len(jobs) != 1 || jobs[0].Period != time.Hour {
		t.Errorf("broker jobs = %+v, want only the schedule's own hourly job", jobs)
	}
	if n := s.dispatcher.Metrics().Counter(dispatch.MetricDroppedVersion); n < 1 {
		t.Errorf("DroppedOldVersion = %d, want at least 1", n)
	}
}
