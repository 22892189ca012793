package schedule_test

import (
	"testing"
	"time"

	"github.com/mqcron/mqcron/schedule"
)

func TestFillTemplate(t *testing.T) {
	fc := schedule.FireContext{
		ScheduleID: "abc",
		FireAt:     time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC),
		FireID:     "abc@20260329T013000.000Z",
		Attempt:    3,
	}
	tests := []struct{ in, want string }{
		{`{"id":"{{scheduleId}}"}`, `{"id":"abc"}`},
		{`"{{fireTime}}"`, `"2026-03-29T01:30:00Z"`},
		{`"{{fireId}}/{{attempt}}"`, `"abc@20260329T013000.000Z/3"`},
		{`"{{{{scheduleId}}"`, `"{{scheduleId}}"`},
		{`"a}}b{"`, `"a}}b{"`},
	}
	for _, tt := range tests {
		if got := schedule.FillTemplate(tt.in, fc); got != tt.want {
			t.Errorf("FillTemplate(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestCheckTemplate_Unknown(t *testing.T) {
	for _, in := range []string{`"{{name}}"`, `"{{scheduleId"`, `"{{"`} {
		if err := schedule.CheckTemplate(in); err == nil {
			t.Errorf("CheckTemplate(%s) = nil, want an error", in)
		}
	}
}

func TestMaxFilledSize(t *testing.T) {
	if got, want := schedule.MaxFilledSize(`"{{fireTime}}"`), 2+35; got != want {
		t.Errorf("MaxFilledSize = %d, want %d", got, want)
	}
}
