package activemq

import (
	"strings"
	"testing"
	"time"

	"github.com/mqcron/mqcron/schedule"
)

func TestJobHeaders(t *testing.T) {
	now := time.UnixMilli(1796400000000)
	body := schedule.JobBody{Kind: schedule.JobRecurring, ScheduleID: "s1", Version: 1}

	tests := []struct {
		name string
		job  schedule.Job
		want string // "key=value" pairs joined by spaces
	}{
		{
			name: "Cron",
			job:  schedule.Job{Body: body, Cron: "0 9 * * 1-5", TTL: time.Hour},
			want: "persistent=true AMQ_SCHEDULED_CRON=0 9 * * 1-5 expires=1796403600000",
		},
		{
			name: "DelayPeriodRepeat",
			job: schedule.Job{Body: body, Delay: 1500 * time.Millisecond,
				Period: 5 * time.Second, Repeat: 10, TTL: time.Minute},
			want: "persistent=true AMQ_SCHEDULED_DELAY=1500 AMQ_SCHEDULED_PERIOD=5000 " +
				"AMQ_SCHEDULED_REPEAT=10 expires=1796400060000",
		},
		{
			name: "DelayRoundedUpToMillisecond",
			job:  schedule.Job{Body: body, Delay: 2*time.Second + time.Microsecond},
			want: "persistent=true AMQ_SCHEDULED_DELAY=2001",
		},
		{
			name: "PeriodRoundedUpToMillisecond",
			job:  schedule.Job{Body: body, Period: time.Nanosecond, Repeat: 2},
			want: "persistent=true AMQ_SCHEDULED_PERIOD=1 AMQ_SCHEDULED_REPEAT=2",
		},
		{
			name: "NoScheduleNoTTL",
			job:  schedule.Job{Body: body},
			want: "persistent=true",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs, err := jobHeaders(&tt.job, now)
			if err != nil {
				t.Fatalf("jobHeaders: %v", err)
			}
			var got []string
			for _, h := range hs {
				got = append(got, h.key+"="+h.value)
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("headers = %q, want %q", g, tt.want)
			}
		})
	}
}

func TestJobHeaders_Invalid(t *testing.T) {
	body := schedule.JobBody{Kind: schedule.JobRecurring, ScheduleID: "s1", Version: 1}
	tests := []struct {
		name string
		job  schedule.Job
		want string
	}{
		{"CronWithDelay", schedule.Job{Body: body, Cron: "* * * * *", Delay: time.Second}, "combined"},
		{"CronWithPeriod", schedule.Job{Body: body, Cron: "* * * * *", Period: time.Second, Repeat: 1}, "combined"},
		{"CronWithRepeat", schedule.Job{Body: body, Cron: "* * * * *", Repeat: 3}, "combined"},
		{"NegativeDelay", schedule.Job{Body: body, Delay: -time.Second}, "negative"},
		{"NegativeTTL", schedule.Job{Body: body, TTL: -time.Second}, "negative ttl"},
		{"RepeatWithoutPeriod", schedule.Job{Body: body, Repeat: 2}, "without a period"},
		{"MissingScheduleID", schedule.Job{Cron: "* * * * *"}, "missing schedule id"},
		{"CronNewline", schedule.Job{Body: body, Cron: "* * * * *\nAMQ_SCHEDULED_DELAY:1"}, "invalid cron"},
		{"CronCarriageReturn", schedule.Job{Body: body, Cron: "0 0 * * 1\r"}, "invalid cron"},
		{"CronNUL", schedule.Job{Body: body, Cron: "0 0 * * 1\x00"}, "invalid cron"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := jobHeaders(&tt.job, time.Now())
			if err == nil {
				t.Fatal("jobHeaders returned no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestCheckCron(t *testing.T) {
	tests := []struct {
		expr string
		ok   bool
	}{
		{"* * * * *", true},
		{"0 9 * * 1-5", true},
		{"*/10 * * * *", true},
		{"0,30 8-18 1 1 0", true},
		{"0 0 * * 7", true}, // numeric, so the broker's own check decides
		{"*/0 * * * *", false},
		{"5/00 * * * *", false},
		{"* * * *", false},
		{"* * * * * *", false},
		{"*  * * * *", false},
		{"30 8 * * MON", false},
		{"@hourly", false},
		{"0 0 L * *", false},
		{"0 0 ? * *", false},
		{"", false},
	}
	for _, tt := range tests {
		err := checkCron(tt.expr)
		if got := err == nil; got != tt.ok {
			t.Errorf("checkCron(%q) = %v, want ok=%v", tt.expr, err, tt.ok)
		}
	}
}

func TestCheckHeaders(t *testing.T) {
	tests := []struct {
		value string
		ok    bool
	}{
		{"ID:host-1:1:-1:1:1", true},
		{`back\slash`, true},
		{"a\nb", false},
		{"a\rb", false},
		{"a\x00b", false},
	}
	for _, tt := range tests {
		err := checkHeaders([]header{{"k", tt.value}})
		if got := err == nil; got != tt.ok {
			t.Errorf("checkHeaders(%q) = %v, want ok=%v", tt.value, err, tt.ok)
		}
	}
}

func TestRemoveHeaders(t *testing.T) {
	hs, err := removeHeaders("ID:b-1:1:-1:1:1")
	if err != nil {
		t.Fatalf("removeHeaders: %v", err)
	}
	if len(hs) != 2 {
		t.Fatalf("got %d headers, want 2", len(hs))
	}
	if hs[0] != (header{HeaderSchedulerAction, "REMOVE"}) {
		t.Errorf("first header = %v, want REMOVE action", hs[0])
	}
	if hs[1] != (header{HeaderScheduledJobID, "ID:b-1:1:-1:1:1"}) {
		t.Errorf("second header = %v, want the job id", hs[1])
	}

	for _, id := range []string{"", "ID:1\nAMQ_SCHEDULER_ACTION:REMOVEALL"} {
		if _, err := removeHeaders(id); err == nil {
			t.Errorf("removeHeaders(%q) returned no error", id)
		}
	}
}
