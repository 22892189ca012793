// Package timing parses schedule expressions (EventBridge cron, Vixie
// five-field cron, rate and at), evaluates them exactly in an IANA time
// zone, compiles them to a broker form whose wake-ups are a superset of
// the true fires, and maps each broker wake-up back to the fire it stands
// for.
//
// Cron fires follow these rules in zones with daylight saving time. When
// the hour field covers every hour (`*`), the expression keeps its real-time
// cadence: it fires at every instant whose local wall time matches, so it
// fires in both passes of a repeated hour and never inside a gap. Any other
// cron fires once per matching local wall time: a wall time that occurs
// twice fires at its first occurrence, and a wall time that does not exist
// on that day fires once at the first instant after the gap. rate(...) is a
// real-time duration, and at(...) names a wall time in the zone with the
// same rules as a cron that restricts its hours.
package timing

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/mqcron/mqcron/schedule"
)

// JSON pointers of the request fields that Parse validates.
const (
	PointerExpression = "/scheduleExpression"
	PointerTimezone   = "/scheduleExpressionTimezone"
	PointerStartDate  = "/startDate"
	PointerEndDate    = "/endDate"
)

// Years that expressions, at() instants, start and end dates may use. The
// upper bound is EventBridge's.
const (
	MinYear = 1970
	MaxYear = 2199
)

// Options bind an expression to a zone and a window.
type Options struct {
	// Timezone is an IANA zone name; "" means UTC.
	Timezone string
	// Start is the first instant at which a fire may happen; nil means
	// unbounded.
	Start *time.Time
	// End is the last instant at which a fire may happen; nil means
	// unbounded.
	End *time.Time
	// Anchor is the origin of rate(...) when Start is nil: the schedule
	// fires at Anchor+k*period for k >= 1. With Start it fires at
	// Start+k*period for k >= 0, and Anchor is not used.
	Anchor time.Time
}

type kind int

const (
	kindCron kind = iota
	kindRate
	kindAt
)

// Spec is a parsed expression bound to a zone and a window. A Spec is
// immutable and safe for concurrent use.
type Spec struct {
	expression string
	kind       kind
	loc        *time.Location
	start      *time.Time
	end        *time.Time

	cron *cronSpec // kindCron

	period time.Duration // kindRate
	origin time.Time     // kindRate: fires at origin+k*period
	firstK int64         // kindRate: smallest k

	at time.Time // kindAt
}

// Parse parses expression and binds it to the zone and window in o. It
// returns a *schedule.ValidationError whose pointer names the invalid
// field (PointerExpression, PointerTimezone, PointerStartDate or
// PointerEndDate) and whose message quotes the expression.
func Parse(expression string, o Options) (*Spec, error) {
	s := &Spec{expression: expression}

	// Zone and window first, because at() and the "never fires" check
	// depend on them.
	loc, err := loadZone(o.Timezone)
	if err != nil {
		return nil, err
	}
	s.loc = loc
	if err := s.setWindow(o); err != nil {
		return nil, err
	}

	text := strings.TrimSpace(expression)
	if i := strings.IndexFunc(expression, unicode.IsControl); i >= 0 {
		return nil, schedule.Invalid(PointerExpression,
			"schedule expression %q contains a control character at byte %d; separate fields with single spaces", expression, i)
	}
	switch {
	case text == "":
		return nil, schedule.Invalid(PointerExpression,
			"missing schedule expression: use cron(...), a five-field cron, rate(...) or at(...)")
	case strings.HasPrefix(text, "cron"):
		err = s.parseCron(text, dialectEventBridge)
	case strings.HasPrefix(text, "rate("):
		err = s.parseRate(text, o)
	case strings.HasPrefix(text, "at("):
		err = s.parseAt(text)
	default:
		err = s.parseCron(text, dialectVixie)
	}
	if err != nil {
		return nil, err
	}

	// An expression that can never fire within its window is a mistake
	// that the user should hear about now, not a schedule that silently
	// never runs.
	if _, ok := s.Next(time.Date(MinYear, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Nanosecond)); !ok {
		if s.start != nil || s.end != nil {
			return nil, s.invalid("never fires between startDate and endDate")
		}
		return nil, s.invalid("never fires: no date matches all fields")
	}
	return s, nil
}

// loadZone loads an IANA zone; "" means UTC.
func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	// "Local" names the machine's zone, which differs between hosts.
	if name == "Local" || strings.HasPrefix(name, "/") || strings.Contains(name, "..") {
		return nil, schedule.Invalid(PointerTimezone,
			"invalid time zone %q: use an IANA zone name such as Europe/Berlin or UTC", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, schedule.Invalid(PointerTimezone,
			"invalid time zone %q: not an IANA zone name; use a name such as Europe/Berlin or UTC", name)
	}
	return loc, nil
}

// setWindow validates and stores the start and end dates.
func (s *Spec) setWindow(o Options) error {
	for _, w := range []struct {
		t       *time.Time
		pointer string
		name    string
	}{{o.Start, PointerStartDate, "startDate"}, {o.End, PointerEndDate, "endDate"}} {
		if w.t == nil {
			continue
		}
		if y := w.t.UTC().Year(); y < MinYear || y > MaxYear {
			return schedule.Invalid(w.pointer, "invalid %s %s: the year must be between %d and %d",
				w.name, w.t.Format(time.RFC3339), MinYear, MaxYear)
		}
	}
	if o.Start != nil && o.End != nil && !o.End.After(*o.Start) {
		return schedule.Invalid(PointerEndDate, "invalid endDate %s: it must be after startDate %s",
			o.End.Format(time.RFC3339), o.Start.Format(time.RFC3339))
	}
	if o.Start != nil {
		t := *o.Start
		s.start = &t
	}
	if o.End != nil {
		t := *o.End
		s.end = &t
	}
	return nil
}

// invalid returns a validation error on the expression field that quotes
// the expression.
func (s *Spec) invalid(format string, args ...any) error {
	return schedule.Invalid(PointerExpression, "invalid schedule expression %q: %s",
		s.expression, fmt.Sprintf(format, args...))
}

// Expression returns the expression as the user wrote it.
func (s *Spec) Expression() string { return s.expression }

// Location returns the schedule's time zone.
func (s *Spec) Location() *time.Location { return s.loc }

// OneTime reports whether the expression is at(...), which fires once.
func (s *Spec) OneTime() bool { return s.kind == kindAt }

// Period returns the period of a rate(...) expression, and 0 for other
// expressions.
func (s *Spec) Period() time.Duration {
	if s.kind != kindRate {
		return 0
	}
	return s.period
}

// Next returns the first true fire strictly after `after`, in the
// schedule's zone. It returns false when no fire is left: the end date
// has passed, an at() has fired, or a cron's year field is exhausted.
func (s *Spec) Next(after time.Time) (time.Time, bool) {
	// Fires at or after the start date only.
	if s.start != nil && after.Before(*s.start) {
		after = s.start.Add(-time.Nanosecond)
	}

	var t time.Time
	var ok bool
	switch s.kind {
	case kindCron:
		t, ok = s.cron.next(after, s.loc)
	case kindRate:
		t, ok = s.rateNext(after)
	case kindAt:
		t, ok = s.at, s.at.After(after)
	}
	if !ok || (s.end != nil && t.After(*s.end)) {
		return time.Time{}, false
	}
	return t.In(s.loc), true
}

// Fires returns up to n true fires strictly after `after`, in order, in
// the schedule's zone.
func (s *Spec) Fires(after time.Time, n int) []time.Time {
	var fires []time.Time
	for len(fires) < n {
		t, ok := s.Next(after)
		if !ok {
			break
		}
		fires = append(fires, t)
		after = t
	}
	return fires
}

// FormatFires formats fire instants as RFC 3339 strings with the offset of
// each instant's zone, as Fires returns them. Fractional seconds appear
// only when an instant has them, as rate(...) fires may.
func FormatFires(fires []time.Time) []string {
	out := make([]string, len(fires))
	for i, t := range fires {
		out[i] = t.Format(time.RFC3339Nano)
	}
	return out
}

// ErrNoFireLeft is returned by Broker when the schedule has no fire after
// the send instant.
var ErrNoFireLeft = errors.New("no fire left")
