package scheduler_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/mqcron/mqcron/schedule"
	"github.com/mqcron/mqcron/scheduler"
)

func TestMergePatch(t *testing.T) {
	tests := []struct{ name, doc, patch, want string }{
		{"ReplaceField", `{"a":1,"b":2}`, `{"a":3}`, `{"a":3,"b":2}`},
		{"NullDeletes", `{"a":1,"b":2}`, `{"b":null}`, `{"a":1}`},
		{"NestedMerge", `{"t":{"x":1,"y":2}}`, `{"t":{"y":null,"z":3}}`, `{"t":{"x":1,"z":3}}`},
		{"ArrayReplaced", `{"l":[1,2]}`, `{"l":[3]}`, `{"l":[3]}`},
		{"ObjectOverScalar", `{"a":1}`, `{"a":{"b":1}}`, `{"a":{"b":1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := scheduler.MergePatch([]byte(tt.doc), []byte(tt.patch))
			if err != nil {
				t.Fatal(err)
			}
			var gotV, wantV any
			_ = json.Unmarshal(got, &gotV)
			_ = json.Unmarshal([]byte(tt.want), &wantV)
			if g, w := mustJSON(t, gotV), mustJSON(t, wantV); g != w {
				t.Errorf("MergePatch = %s, want %s", g, w)
			}
		})
	}
}

func TestMergePatch_RejectsNonObject(t *testing.T) {
	for _, patch := range []string{`[1]`, `3`, `{`} {
		if _, err := scheduler.MergePatch([]byte(`{}`), []byte(patch)); err == nil {
			t.Errorf("MergePatch(%s) = nil error, want one", patch)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDecodeStrict_Errors(t *testing.T) {
	tests := []struct{ name, body, wantPointer string }{
		{"Malformed", `{"name":`, ""},
		{"Empty", ``, ""},
		{"TrailingData", `{"name":"a"} {}`, ""},
		{"UnknownField", `{"nmae":"a"}`, "/nmae"},
		{"UnknownNestedField", `{"target":{"topics":["a"],"payload":{"zeta":1},"qso":1}}`, "/target/qso"},
		{"UnknownFieldNamedInPayload", `{"target":{"payload":{"zeta":1}},"zeta":2}`, "/zeta"},
		{"InvalidStartDate", `{"name":"a","startDate":"tomorrow"}`, "/startDate"},
		{"WrongType", `{"target":{"qos":"high"}}`, "/target/qos"},
		{"ReadOnlyID", `{"id":"x"}`, "/id"},
		{"ReadOnlyVersion", `{"version":2}`, "/version"},
		{"CompletedState", `{"state":"COMPLETED"}`, "/state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s schedule.Schedule
			err := scheduler.DecodeStrict([]byte(tt.body), &s)
			var verr *schedule.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("DecodeStrict = %v, want a ValidationError", err)
			}
			if got := verr.Fields[0].Pointer; got != tt.wantPointer {
				t.Errorf("pointer = %q, want %q (%s)", got, tt.wantPointer, verr.Fields[0].Message)
			}
		})
	}
}

func TestDecodeStrict_OK(t *testing.T) {
	var s schedule.Schedule
	body := `{"name":"a","scheduleExpression":"rate(5 minutes)","target":{"topics":["d/1"],"payload":{"x":[1,2]}}}`
	if err := scheduler.DecodeStrict([]byte(body), &s); err != nil {
		t.Fatal(err)
	}
	if s.Name != "a" || s.Target.Topics[0] != "d/1" || string(s.Target.Payload) != `{"x":[1,2]}` {
		t.Errorf("decoded %+v", s)
	}
}
