package e2e_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mqcron/mqcron/apitest"
	"github.com/mqcron/mqcron/dispatch"
	"github.com/mqcron/mqcron/schedule"
)

// wakeEvent returns an event with one wake-up carrying body, as the event
// source delivers it.
func wakeEvent(body schedule.JobBody, jobID string, at time.Time) events.ActiveMQEvent {
	j := schedule.Job{Body: body}
	return events.ActiveMQEvent{Messages: []events.ActiveMQMessage{{
		MessageID:   "ID:test-" + jobID,
		MessageType: "jms/bytes-message",
		Timestamp:   at.UnixMilli(),
		Data:        base64.StdEncoding.EncodeToString(j.EncodeBody()),
		Properties:  map[string]string{"scheduledJobId": jobID},
	}}}
}

func TestDispatcher_RenewsDriftedRateJob(t *testing.T) {
	s := MustStartStack(t)
	ctx := context.Background()
	body := fmt.Sprintf(`{"name":"drift","scheduleExpression":"rate(1 minute)",
		"target":{"topics":[%q],"payload":"x"}}`, s.topics+"drift")
	var sched created
	if status := s.do(t, "POST", "/schedules", body, &sched); status != 201 {
		t.Fatalf("create status = %d, want 201", status)
	}
	stored, err := s.store.GetSchedule(ctx, "local", sched.ID)
	if err != nil {
		t.Fatal(err)
	}

	// A wake-up 10 s after its fire is more than an eighth of the period
	// late, so the dispatcher sends a fresh job and removes the old one.
	fire := sched.NextFires[0]
	wake := schedule.JobBody{Kind: schedule.JobRecurring, ScheduleID: sched.ID, Version: 1, Stamp: stored.UpdatedAt.UnixMilli()}
	if err := s.dispatcher.Handle(ctx, wakeEvent(wake, "ID:drifted-job", fire.Add(10*time.Second))); err != nil {
		t.Fatal(err)
	}
	if n := s.dispatcher.Metrics().Counter(dispatch.MetricJobsRenewed); n != 1 {
		t.Errorf("JobsRenewed = %d, want 1", n)
	}
	if jobs := s.jobsFor(t, sched.ID); len(jobs) != 2 {
		t.Errorf("broker jobs for the schedule = %d, want 2 (the original and the renewed one)", len(jobs))
	}
	if got := s.waitMessages(1, 5*time.Second); len(got) != 1 {
		t.Errorf("received %d messages for the late wake-up, want 1", len(got))
	}

	// A wake-up 500 ms late is within the broker's usual jitter.
	if err := s.dispatcher.Handle(ctx, wakeEvent(wake, "ID:on-time-job", fire.Add(time.Minute+500*time.Millisecond))); err != nil {
		t.Fatal(err)
	}
	if n := s.dispatcher.Metrics().Counter(dispatch.MetricJobsRenewed); n != 1 {
		t.Errorf("JobsRenewed after an on-time wake-up = %d, want still 1", n)
	}
}

func TestDispatcher_RetryPolicyMaxEventAge(t *testing.T) {
	s := MustStartStack(t)
	ctx := context.Background()
	body := fmt.Sprintf(`{"name":"short-age","scheduleExpression":"rate(1 hour)",
		"retryPolicy":{"maximumEventAgeInSeconds":60},
		"target":{"topics":[%q],"payload":"x"}}`, s.topics+"age")
	var sched created
	if status := s.do(t, "POST", "/schedules", body, &sched); status != 201 {
		t.Fatalf("create status = %d, want 201", status)
	}
	stored, err := s.store.GetSchedule(ctx, "local", sched.ID)
	if err != nil {
		t.Fatal(err)
	}

	// A fire two minutes old is within the dispatcher's default of 24 h
	// but past the schedule's own 60 s.
	fireAt := time.Now().Add(-2 * time.Minute).Truncate(time.Millisecond)
	wake := schedule.JobBody{Kind: schedule.JobSingle, ScheduleID: sched.ID, Version: 1,
		Stamp: stored.UpdatedAt.UnixMilli(), FireAt: &fireAt, Attempt: 1}
	if err := s.dispatcher.Handle(ctx, wakeEvent(wake, "", time.Now())); err != nil {
		t.Fatal(err)
	}
	if got := s.waitMessages(1, 2*time.Second); len(got) != 0 {
		t.Errorf("an expired fire was published: %q", got[0].payload)
	}
	runs, err := s.store.ListRuns(ctx, sched.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 {
		t.Fatalf("runs = %d, want 1", len(runs))
	}
	if runs[0].Outcome != schedule.OutcomeExpired {
		t.Errorf("outcome = %s, want EXPIRED", runs[0].Outcome)
	}
	if !strings.Contains(runs[0].Error, "maximum event age is 1m0s") {
		t.Errorf("run error = %q, want it to name the 1m0s maximum event age", runs[0].Error)
	}
}

// The local stack starts dynalite through a launcher because dynalite
// 4.0.0 exits when a client aborts a request in the middle of its body.
func TestDynalite_SurvivesAbortedRequest(t *testing.T) {
	s := MustStartStack(t)
	_, dynamoURL, _ := apitest.Servers(t)
	u, err := url.Parse(dynamoURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = conn.Write([]byte("POST / HTTP/1.1\r\nHost: " + u.Host +
		"\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\n" +
		"Content-Length: 100\r\n\r\n{\"a\":"))
	time.Sleep(200 * time.Millisecond)
	conn.Close()
	time.Sleep(300 * time.Millisecond)

	if _, _, err := s.store.ListSchedules(context.Background(), "local", schedule.ListFilter{Limit: 1}); err != nil {
		t.Fatalf("DynamoDB request after an aborted one: %v", err)
	}
}
