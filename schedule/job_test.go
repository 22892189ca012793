package schedule_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mqcron/mqcron/schedule"
)

func TestJob_ValidateRejectsCronWithPeriodicHeaders(t *testing.T) {
	body := schedule.JobBody{Kind: schedule.JobRecurring, ScheduleID: "s1", Version: 1}
	for _, j := range []schedule.Job{
		{Body: body, Cron: "* * * * *", Delay: time.Second},
		{Body: body, Cron: "* * * * *", Period: time.Second, Repeat: 1},
		{Body: body, Cron: "* * * * *", Repeat: 1},
	} {
		err := j.Validate()
		if err == nil || !strings.Contains(err.Error(), "combined with delay") {
			t.Errorf("Validate(%+v) = %v, want a combination error", j, err)
		}
	}
}

func TestJob_ValidateOK(t *testing.T) {
	body := schedule.JobBody{Kind: schedule.JobRecurring, ScheduleID: "s1", Version: 1}
	for _, j := range []schedule.Job{
		{Body: body, Cron: "0 7 * * *"},
		{Body: body, Delay: time.Second, Period: 5 * time.Second, Repeat: 10},
		{Body: body},
	} {
		if err := j.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v, want nil", j, err)
		}
	}
}

func TestDecodeJobBody(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	j := schedule.Job{Body: schedule.JobBody{Kind: schedule.JobSingle, ScheduleID: "s1", Version: 4, FireAt: &at, Attempt: 2}}
	got, err := schedule.DecodeJobBody(j.EncodeBody())
	if err != nil {
		t.Fatal(err)
	}
	if got.ScheduleID != "s1" || got.Version != 4 || got.Attempt != 2 || !got.FireAt.Equal(at) {
		t.Errorf("round trip = %+v, want %+v", got, j.Body)
	}
	for _, bad := range []string{`{`, `{"kind":"schedule","version":1}`, `{"kind":"x","scheduleId":"a","version":1}`, `{"kind":"fire","scheduleId":"a","version":1}`} {
		if _, err := schedule.DecodeJobBody([]byte(bad)); err == nil {
			t.Errorf("DecodeJobBody(%s) = nil error, want one", bad)
		}
	}
}
