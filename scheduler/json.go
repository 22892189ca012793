package scheduler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/mqcron/mqcron/schedule"
)

// DecodeStrict decodes a schedule sent by a client into sched. Unknown
// fields, fields that the server maintains, trailing data and type
// mismatches are rejected with a *schedule.ValidationError.
func DecodeStrict(data []byte, sched *schedule.Schedule) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(sched); err != nil {
		return locate(decodeError(err), data)
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
		return &unknownField{name: name}
	}
	var parseErr *time.ParseError
	if errors.As(err, &parseErr) {
		return &badTime{value: parseErr.Value}
	}
	var v *schedule.ValidationError
	if errors.As(err, &v) {
		return v
	}
	return schedule.Invalid("", "the body cannot be decoded: %v", err)
}

// unknownField and badTime are decoding errors whose field encoding/json
// does not name; locate finds it in the request.
type unknownField struct{ name string }

func (e *unknownField) Error() string { return "unknown field " + e.name }

type badTime struct{ value string }

func (e *badTime) Error() string { return "invalid time " + e.value }

// locate turns an unknownField or badTime error into a ValidationError that
// points at the first member of data that matches it.
func locate(err error, data []byte) error {
	var doc any
	if json.Unmarshal(data, &doc) != nil {
		return err
	}
	var unknown *unknownField
	var bad *badTime
	switch {
	case errors.As(err, &unknown):
		ptr := findMember(doc, "", func(key string, _ any) bool { return key == unknown.name })
		if ptr == "" {
			ptr = "/" + unknown.name
		}
		return schedule.Invalid(ptr, "is not a schedule field; check its spelling")
	case errors.As(err, &bad):
		ptr := findMember(doc, "", func(key string, v any) bool {
			s, ok := v.(string)
			return ok && (key == "startDate" || key == "endDate") && s == bad.value
		})
		return schedule.Invalid(ptr, "is %q, not an RFC 3339 instant such as 2026-12-24T18:00:00Z", bad.value)
	}
	return err
}

// findMember returns the JSON pointer of the first object member, in a
// depth-first walk of v that skips payloads, for which match is true, or "".
func findMember(v any, prefix string, match func(key string, value any) bool) string {
	switch node := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(node))
		for k := range node {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ptr := prefix + "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(k)
			if match(k, node[k]) {
				return ptr
			}
			if k == "payload" || k == "userProperties" {
				continue // free-form client data, not schedule fields
			}
			if found := findMember(node[k], ptr, match); found != "" {
				return found
			}
		}
	case []any:
		for i, item := range node {
			if found := findMember(item, fmt.Sprintf("%s/%d", prefix, i), match); found != "" {
				return found
			}
		}
	}
	return ""
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
