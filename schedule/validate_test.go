package schedule_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mqcron/mqcron/schedule"
)

func validSchedule() *schedule.Schedule {
	return &schedule.Schedule{
		Name:               "thermostat-morning",
		ScheduleExpression: "cron(0 7 * * ? *)",
		State:              schedule.StateEnabled,
		Target: schedule.Target{
			Topics:  []string{"devices/thermostat-12/cmd"},
			QoS:     1,
			Payload: json.RawMessage(`{"setpoint":21.5}`),
		},
	}
}

func TestValidate_OK(t *testing.T) {
	if err := schedule.Validate(validSchedule(), nil); err != nil {
		t.Fatalf("Validate(valid) = %v, want nil", err)
	}
}

func TestValidate_Rejects(t *testing.T) {
	long := strings.Repeat("a", 257)
	tests := []struct {
		name        string
		change      func(s *schedule.Schedule)
		wantPointer string
		wantText    string
	}{
		{"MissingName", func(s *schedule.Schedule) { s.Name = "" }, "/name", "is required"},
		{"NewlineInName", func(s *schedule.Schedule) { s.Name = "a\nb" }, "/name", "contains"},
		{"ColonInName", func(s *schedule.Schedule) { s.Name = "a:b" }, "/name", "contains ':'"},
		{"ControlInDescription", func(s *schedule.Schedule) { s.Description = "x\x00y" }, "/description", "control character"},
		{"NoTopics", func(s *schedule.Schedule) { s.Target.Topics = nil }, "/target/topics", "is required"},
		{"HashWildcard", func(s *schedule.Schedule) { s.Target.Topics = []string{"devices/#"} }, "/target/topics/0", "wildcard"},
		{"PlusWildcard", func(s *schedule.Schedule) { s.Target.Topics = []string{"devices/+/cmd"} }, "/target/topics/0", "wildcard"},
		{"ReservedTopic", func(s *schedule.Schedule) { s.Target.Topics = []string{"$aws/things/x/shadow/update"} }, "/target/topics/0", "reserves"},
		{"LongTopic", func(s *schedule.Schedule) { s.Target.Topics = []string{long} }, "/target/topics/0", "257 bytes"},
		{"EightSlashes", func(s *schedule.Schedule) { s.Target.Topics = []string{"a/b/c/d/e/f/g/h/i"} }, "/target/topics/0", "8 slashes"},
		{"NewlineInTopic", func(s *schedule.Schedule) { s.Target.Topics = []string{"a\nb"} }, "/target/topics/0", "control character"},
		{"DuplicateTopic", func(s *schedule.Schedule) { s.Target.Topics = []string{"a", "a"} }, "/target/topics/1", "repeats"},
		{"QoS2", func(s *schedule.Schedule) { s.Target.QoS = 2 }, "/target/qos", "0 or 1"},
		{"NoPayload", func(s *schedule.Schedule) { s.Target.Payload = nil }, "/target/payload", "is required"},
		{"BothPayloads", func(s *schedule.Schedule) { s.Target.PayloadBase64 = "AAE=" }, "/target/payloadBase64", "cannot be combined"},
		{"BadBase64", func(s *schedule.Schedule) { s.Target.Payload = nil; s.Target.PayloadBase64 = "!!" }, "/target/payloadBase64", "base64"},
		{"UnknownPlaceholder", func(s *schedule.Schedule) { s.Target.Payload = json.RawMessage(`"{{device}}"`) }, "/target/payload", "unknown placeholder"},
		{"DeepPayload", func(s *schedule.Schedule) {
			s.Target.Payload = json.RawMessage(strings.Repeat("[", 40) + strings.Repeat("]", 40))
		}, "/target/payload", "nested 40 levels"},
		{"EventAgeTooShort", func(s *schedule.Schedule) { s.RetryPolicy = &schedule.RetryPolicy{MaximumEventAgeInSeconds: 59} }, "/retryPolicy/maximumEventAgeInSeconds", "60 to 86400"},
		{"TooManyRetries", func(s *schedule.Schedule) { n := 186; s.RetryPolicy = &schedule.RetryPolicy{MaximumRetryAttempts: &n} }, "/retryPolicy/maximumRetryAttempts", "0 to 185"},
		{"CompletedState", func(s *schedule.Schedule) { s.State = schedule.StateCompleted }, "/state", "ENABLED or DISABLED"},
		{"UserPropertyNewline", func(s *schedule.Schedule) { s.Target.UserProperties = map[string]string{"k": "a\r\nb"} }, "/target/userProperties/k", "control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSchedule()
			tt.change(s)
			err := schedule.Validate(s, nil)
			verr, ok := err.(*schedule.ValidationError)
			if !ok {
				t.Fatalf("Validate = %v, want *ValidationError", err)
			}
			f := verr.Fields[0]
			if f.Pointer != tt.wantPointer {
				t.Errorf("pointer = %q, want %q", f.Pointer, tt.wantPointer)
			}
			if !strings.Contains(f.Message, tt.wantText) {
				t.Errorf("message = %q, want it to contain %q", f.Message, tt.wantText)
			}
		})
	}
}

func TestValidate_ReservedPrefixAllowed(t *testing.T) {
	s := validSchedule()
	s.Target.Topics = []string{"$aws/things/t12/shadow/update"}
	if err := schedule.Validate(s, []string{"$aws/things/"}); err != nil {
		t.Fatalf("Validate with allowlisted prefix = %v, want nil", err)
	}
}

func TestValidate_PayloadSizeCountsFilledPlaceholders(t *testing.T) {
	s := validSchedule()
	// The raw text fits, but each {{fireTime}} (12 bytes) can fill to 35.
	n := (schedule.MaxPayloadBytes - 2) / len("{{fireTime}}")
	s.Target.Payload = json.RawMessage(`"` + strings.Repeat("{{fireTime}}", n) + `"`)
	if len(s.Target.Payload) > schedule.MaxPayloadBytes {
		t.Fatalf("test payload is %d bytes; it must fit unfilled", len(s.Target.Payload))
	}
	err := schedule.Validate(s, nil)
	if err == nil || !strings.Contains(err.Error(), "once placeholders are filled") {
		t.Fatalf("Validate = %v, want a filled-size error", err)
	}
}
