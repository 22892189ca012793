package scheduler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/mqcron/mqcron/schedule"
)

// DecodeStrict decodes a schedule sent by a client into sched. Unknown
// fields, fields that the server maintains, trailing data and type
// mismatches are rejected with a *schedule.ValidationError.
func DecodeStrict(data []byte, sched *schedule.Schedule) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(sched); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return schedule.Invalid("", "the body holds data after the JSON object; send one object")
	}
	var v schedule.ValidationError
	readOnly := []struct {
		name string
		set  bool
	}{
		{"id", sched.ID != ""},
		{"owner", sched.Owner != ""},
		{"version", sched.Version != 0},
		{"createdAt", !sched.CreatedAt.IsZero()},
		{"updatedAt", !sched.UpdatedAt.IsZero()},
		{"nextFires", sched.NextFires != nil},
		{"lastRun", sched.LastRun != nil},
		{"runCount", sched.RunCount != 0},
	}
	for _, f := range readOnly {
		if f.set {
			v.Add("/"+f.name, "is set by the server; remove it from the request")
		}
	}
	if sched.State == schedule.StateCompleted {
		v.Add("/state", "COMPLETED is set by the server; send ENABLED or DISABLED")
	}
	return v.Err()
}

// decodeError turns an encoding/json error into a ValidationError with a
// JSON pointer.
func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return schedule.Invalid("", "the body is not valid JSON: %v at byte %d", syntax, syntax.Offset)
	case errors.As(err, &typeErr):
		return schedule.Invalid(fieldPointer(typeErr.Field), "must be a JSON %s, not %s", jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
	case errors.Is(err, io.EOF):
		return schedule.Invalid("", "the body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return schedule.Invalid("", "the body ends in the middle of a JSON value")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return schedule.Invalid("/"+name, "is not a schedule field; check its spelling")
	}
	var v *schedule.ValidationError
	if errors.As(err, &v) {
		return v
	}
	return schedule.Invalid("", "the body cannot be decoded: %v", err)
}

func fieldPointer(field string) string {
	if field == "" {
		return ""
	}
	return "/" + strings.ReplaceAll(field, ".", "/")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int64", "int32", "float64":
		return "number"
	case "slice":
		return "array"
	case "struct", "map", "ptr":
		return "object"
	}
	return goKind
}

// MergePatch applies the JSON merge patch patch to the JSON object doc
// (RFC 7386) and returns the result.
func MergePatch(doc, patch []byte) ([]byte, error) {
	var target, p any
	if err := json.Unmarshal(doc, &target); err != nil {
		return nil, fmt.Errorf("decode document: %w", err)
	}
	if err := json.Unmarshal(patch, &p); err != nil {
		return nil, fmt.Errorf("decode patch: %w", err)
	}
	if _, ok := p.(map[string]any); !ok {
		return nil, errors.New("the patch must be a JSON object")
	}
	return json.Marshal(mergeValue(target, p))
}

func mergeValue(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = mergeValue(t[k], v)
	}
	return t
}
