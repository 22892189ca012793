package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Payload placeholders that the dispatcher fills for each fire. "{{{{"
// writes a literal "{{". fireTime is written in UTC.
const (
	PlaceholderScheduleID = "scheduleId"
	PlaceholderFireTime   = "fireTime"
	PlaceholderFireID     = "fireId"
	PlaceholderAttempt    = "attempt"
	literalBraces         = "{{{{"
)

// maxFillBytes is the longest value each placeholder can take: ids are at
// most 64 bytes, a fire id adds 20, RFC 3339 times with nanoseconds and an
// offset take 35, and attempts stay below 10 digits.
var maxFillBytes = map[string]int{
	PlaceholderScheduleID: 64,
	PlaceholderFireTime:   35,
	PlaceholderFireID:     64 + 21,
	PlaceholderAttempt:    10,
}

// FireContext holds the values of the placeholders for one fire.
type FireContext struct {
	ScheduleID string
	FireAt     time.Time
	FireID     string
	Attempt    int
}

// CheckTemplate returns an error naming the first unknown placeholder in
// payload.
func CheckTemplate(payload string) error {
	return walkTemplate(payload, func(string) {}, func(string) {})
}

// MaxFilledSize returns the largest size payload can reach once its
// placeholders are filled.
func MaxFilledSize(payload string) int {
	n := 0
	_ = walkTemplate(payload, func(text string) { n += len(text) }, func(name string) { n += maxFillBytes[name] })
	return n
}

// FillTemplate replaces the placeholders of payload with the values of fc.
func FillTemplate(payload string, fc FireContext) string {
	if !strings.Contains(payload, "{{") {
		return payload
	}
	var b strings.Builder
	_ = walkTemplate(payload, func(text string) { b.WriteString(text) }, func(name string) {
		switch name {
		case PlaceholderScheduleID:
			b.WriteString(fc.ScheduleID)
		case PlaceholderFireTime:
			b.WriteString(fc.FireAt.UTC().Format(time.RFC3339Nano))
		case PlaceholderFireID:
			b.WriteString(fc.FireID)
		case PlaceholderAttempt:
			b.WriteString(strconv.Itoa(fc.Attempt))
		}
	})
	return b.String()
}

// walkTemplate calls text for literal runs and placeholder for each
// placeholder name, in order.
func walkTemplate(payload string, text, placeholder func(string)) error {
	for {
		i := strings.Index(payload, "{{")
		if i < 0 {
			text(payload)
			return nil
		}
		text(payload[:i])
		payload = payload[i:]
		if strings.HasPrefix(payload, literalBraces) {
			text("{{")
			payload = payload[len(literalBraces):]
			continue
		}
		end := strings.Index(payload, "}}")
		name := ""
		if end > 0 {
			name = payload[2:end]
		}
		if _, ok := maxFillBytes[name]; !ok {
			found := truncate(payload, 24)
			if end > 0 {
				found = payload[:end+2]
			}
			return fmt.Errorf("has an unknown placeholder %s; use {{scheduleId}}, {{fireTime}}, {{fireId}} or {{attempt}}, and write {{{{ for a literal {{",
				found)
		}
		placeholder(name)
		payload = payload[end+2:]
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
