package schedule

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on schedule fields. IoT Core fixes the topic and payload limits.
const (
	MaxNameLength        = 64
	MaxDescriptionLength = 512
	MaxTopics            = 100
	MaxTopicBytes        = 256
	MaxTopicSlashes      = 7
	MaxPayloadBytes      = 128 * 1024
	MaxJSONDepth         = 32
	MaxUserProperties    = 20
	MaxUserPropertyBytes = 1024
	MaxContentTypeLength = 256
)

// Validate checks the fields of s that a user sets, other than the
// expression, which package timing checks. reservedPrefixes lists topic
// prefixes starting with '$' that may be published to (such as
// "$aws/things/"). The returned error is a *ValidationError listing every
// problem.
func Validate(s *Schedule, reservedPrefixes []string) error {
	var v ValidationError
	validateName(&v, s.Name)
	if n := utf8.RuneCountInString(s.Description); n > MaxDescriptionLength {
		v.Add("/description", "is %d characters long; the maximum is %d", n, MaxDescriptionLength)
	}
	if i := controlIndex(s.Description, true); i >= 0 {
		v.Add("/description", "contains a control character at byte %d; remove it", i)
	}
	switch s.State {
	case StateEnabled, StateDisabled:
	default:
		v.Add("/state", "must be ENABLED or DISABLED, not %q", s.State)
	}
	validateTarget(&v, &s.Target, reservedPrefixes)
	validateRetryPolicy(&v, s.RetryPolicy)
	return v.Err()
}

func validateName(v *ValidationError, name string) {
	if name == "" {
		v.Add("/name", "is required: 1 to %d letters, digits, '.', '_' or '-'", MaxNameLength)
		return
	}
	if len(name) > MaxNameLength {
		v.Add("/name", "is %d characters long; the maximum is %d", len(name), MaxNameLength)
	}
	for i, r := range name {
		if !(r < utf8.RuneSelf && (isAlnum(byte(r)) || r == '.' || r == '_' || r == '-')) {
			v.Add("/name", "contains %q at byte %d; use only letters, digits, '.', '_' or '-'", r, i)
			return
		}
	}
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// controlIndex returns the byte offset of the first control character in s,
// or -1. Tabs and newlines are allowed when multiline is true.
func controlIndex(s string, multiline bool) int {
	for i, r := range s {
		if multiline && (r == '\n' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) || r == utf8.RuneError {
			return i
		}
	}
	return -1
}

func validateTarget(v *ValidationError, t *Target, reservedPrefixes []string) {
	switch n := len(t.Topics); {
	case n == 0:
		v.Add("/target/topics", "is required: list 1 to %d IoT topics", MaxTopics)
	case n > MaxTopics:
		v.Add("/target/topics", "lists %d topics; the maximum is %d", n, MaxTopics)
	}
	seen := make(map[string]bool, len(t.Topics))
	for i, topic := range t.Topics {
		ptr := fmt.Sprintf("/target/topics/%d", i)
		if msg := CheckTopic(topic, reservedPrefixes); msg != "" {
			v.Add(ptr, "%s", msg)
		}
		if seen[topic] {
			v.Add(ptr, "repeats topic %q; list each topic once", topic)
		}
		seen[topic] = true
	}
	if t.QoS != 0 && t.QoS != 1 {
		v.Add("/target/qos", "must be 0 or 1, not %d", t.QoS)
	}
	validatePayload(v, t)
	validateUserProperties(v, t.UserProperties)
}

// Bounds of RetryPolicy, as EventBridge Scheduler sets them.
const (
	MinEventAgeSeconds = 60
	MaxEventAgeSeconds = 86400
	MaxRetryAttempts   = 185
)

func validateRetryPolicy(v *ValidationError, p *RetryPolicy) {
	if p == nil {
		return
	}
	if age := p.MaximumEventAgeInSeconds; age != 0 && (age < MinEventAgeSeconds || age > MaxEventAgeSeconds) {
		v.Add("/retryPolicy/maximumEventAgeInSeconds", "is %d; give %d to %d seconds", age, MinEventAgeSeconds, MaxEventAgeSeconds)
	}
	if n := p.MaximumRetryAttempts; n != nil && (*n < 0 || *n > MaxRetryAttempts) {
		v.Add("/retryPolicy/maximumRetryAttempts", "is %d; give 0 to %d", *n, MaxRetryAttempts)
	}
}

// CheckTopic returns why topic cannot be published to through IoT Core, or
// "" when it can.
func CheckTopic(topic string, reservedPrefixes []string) string {
	switch {
	case topic == "":
		return "is empty; give an IoT topic such as devices/thermostat-12/cmd"
	case !utf8.ValidString(topic):
		return "is not valid UTF-8"
	case len(topic) > MaxTopicBytes:
		return fmt.Sprintf("is %d bytes long; IoT Core allows at most %d", len(topic), MaxTopicBytes)
	case strings.Count(topic, "/") > MaxTopicSlashes:
		return fmt.Sprintf("%q has %d slashes; IoT Core allows at most %d", topic, strings.Count(topic, "/"), MaxTopicSlashes)
	case strings.ContainsAny(topic, "+#"):
		return fmt.Sprintf("%q contains a wildcard ('+' or '#'); publish to a concrete topic", topic)
	case controlIndex(topic, false) >= 0:
		return fmt.Sprintf("%q contains a control character; remove it", topic)
	case strings.HasPrefix(topic, "$") && !hasAnyPrefix(topic, reservedPrefixes):
		return fmt.Sprintf("%q starts with '$', which IoT Core reserves; allowed reserved prefixes: %s",
			topic, listOrNone(reservedPrefixes))
	}
	return ""
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func listOrNone(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	return strings.Join(items, ", ")
}

func validatePayload(v *ValidationError, t *Target) {
	hasJSON := len(t.Payload) > 0 && string(t.Payload) != "null"
	switch {
	case hasJSON && t.PayloadBase64 != "":
		v.Add("/target/payloadBase64", "cannot be combined with payload; send one of them")
		return
	case !hasJSON && t.PayloadBase64 == "":
		v.Add("/target/payload", "is required: give a JSON value in payload or bytes in payloadBase64")
		return
	}
	if t.PayloadBase64 != "" {
		raw, err := base64.StdEncoding.DecodeString(t.PayloadBase64)
		if err != nil {
			v.Add("/target/payloadBase64", "is not valid standard base64: %v", err)
			return
		}
		if len(raw) > MaxPayloadBytes {
			v.Add("/target/payloadBase64", "decodes to %d bytes; IoT Core allows at most %d", len(raw), MaxPayloadBytes)
		}
	} else {
		if depth := jsonDepth(t.Payload); depth > MaxJSONDepth {
			v.Add("/target/payload", "is nested %d levels deep; the maximum is %d", depth, MaxJSONDepth)
		}
		if err := CheckTemplate(string(t.Payload)); err != nil {
			v.Add("/target/payload", "%v", err)
		} else if n := MaxFilledSize(string(t.Payload)); n > MaxPayloadBytes {
			v.Add("/target/payload", "can reach %d bytes once placeholders are filled; IoT Core allows at most %d", n, MaxPayloadBytes)
		}
	}
	if len(t.ContentType) > MaxContentTypeLength || controlIndex(t.ContentType, false) >= 0 {
		v.Add("/target/contentType", "must be a MIME type of at most %d printable characters", MaxContentTypeLength)
	}
}

func validateUserProperties(v *ValidationError, props map[string]string) {
	if len(props) > MaxUserProperties {
		v.Add("/target/userProperties", "has %d entries; the maximum is %d", len(props), MaxUserProperties)
	}
	for k, val := range props {
		ptr := "/target/userProperties/" + escapePointer(k)
		switch {
		case k == "":
			v.Add(ptr, "has an empty key")
		case len(k)+len(val) > MaxUserPropertyBytes:
			v.Add(ptr, "is %d bytes long with its key; the maximum is %d", len(k)+len(val), MaxUserPropertyBytes)
		case controlIndex(k, false) >= 0 || controlIndex(val, false) >= 0:
			v.Add(ptr, "contains a control character; remove it")
		}
	}
}

// escapePointer escapes a JSON pointer reference token (RFC 6901).
func escapePointer(token string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(token)
}

// jsonDepth returns the maximum nesting depth of arrays and objects in data.
func jsonDepth(data json.RawMessage) int {
	depth, maxDepth := 0, 0
	inString, escaped := false, false
	for _, c := range data {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
			maxDepth = max(maxDepth, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return maxDepth
}
