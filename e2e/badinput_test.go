package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/mqcron/mqcron/schedule"
)

type problem struct {
	Status int                   `json:"status"`
	Title  string                `json:"title"`
	Errors []schedule.FieldError `json:"errors"`
}

func TestCreate_BadInputChangesNothing(t *testing.T) {
	s := MustStartStack(t)
	topic := s.topics + "bad"
	valid := func(replace, with string) string {
		body := fmt.Sprintf(`{"name":"bad","scheduleExpression":"rate(1 minute)","target":{"topics":[%q],"payload":{"a":1}}}`, topic)
		return strings.Replace(body, replace, with, 1)
	}
	tests := []struct {
		name        string
		body        string
		wantStatus  int
		wantPointer string
	}{
		{"MalformedJSON", `{"name":`, 400, ""},
		{"UnknownField", valid(`"name":"bad"`, `"name":"bad","colour":"red"`), 400, "/colour"},
		{"MissingTopic", valid(`"topics":["`+topic+`"]`, `"topics":[]`), 400, "/target/topics"},
		{"HashTopic", valid(topic, "devices/#"), 400, "/target/topics/0"},
		{"PlusTopic", valid(topic, "devices/+/cmd"), 400, "/target/topics/0"},
		{"InvalidCron", valid("rate(1 minute)", "0 0 * * 8"), 400, "/scheduleExpression"},
		{"BrokerRejectedCron", valid("rate(1 minute)", "*/0 * * * *"), 400, "/scheduleExpression"},
		{"NewlineInName", valid(`"name":"bad"`, `"name":"bad\nAMQ_SCHEDULED_DELAY:1"`), 400, "/name"},
		{"NewlineInExpression", valid("rate(1 minute)", `rate(1 minute)\nAMQ_SCHEDULED_CRON:* * * * *`), 400, "/scheduleExpression"},
		{"NewlineInTopic", valid(topic, topic+`\nx`), 400, "/target/topics/0"},
		{"NewlineInTimezone", valid(`"name":"bad"`, `"name":"bad","scheduleExpressionTimezone":"UTC\nX"`), 400, "/scheduleExpressionTimezone"},
		{"ServerField", valid(`"name":"bad"`, `"name":"bad","version":3`), 400, "/version"},
		{"WrongType", valid(`"name":"bad"`, `"name":5`), 400, "/name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p problem
			status := s.do(t, "POST", "/schedules", tt.body, &p)
			if status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%+v)", status, tt.wantStatus, p)
			}
			if len(p.Errors) == 0 {
				t.Fatalf("problem has no field errors: %+v", p)
			}
			if p.Errors[0].Pointer != tt.wantPointer {
				t.Errorf("pointer = %q, want %q (%s)", p.Errors[0].Pointer, tt.wantPointer, p.Errors[0].Message)
			}
			if p.Errors[0].Message == "" {
				t.Error("field error has no message")
			}
		})
	}

	t.Run("UnsupportedMediaType", func(t *testing.T) {
		req := strings.NewReader(valid("", ""))
		resp, err := s.api.Client().Post(s.api.URL+"/schedules", "text/plain", req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 415 {
			t.Errorf("status = %d, want 415", resp.StatusCode)
		}
	})

	// Nothing was stored and no job reached the broker.
	items, _, err := s.store.ListSchedules(context.Background(), "local", schedule.ListFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 0 {
		t.Errorf("store holds %d schedules after bad requests, want 0", len(items))
	}
	jobs, err := s.broker.Browse(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 0 {
		t.Errorf("broker holds %d jobs on the test queue after bad requests, want 0", len(jobs))
	}
}
