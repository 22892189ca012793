package timing

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limits of rate(...).
const (
	MinRate = time.Second
	MaxRate = 3650 * 24 * time.Hour
)

var rateUnits = map[string]time.Duration{
	"second": time.Second, "seconds": time.Second,
	"minute": time.Minute, "minutes": time.Minute,
	"hour": time.Hour, "hours": time.Hour,
	"day": 24 * time.Hour, "days": 24 * time.Hour,
}

// parseRate parses rate(value unit). The unit is singular for 1 and
// plural otherwise, as EventBridge requires.
func (s *Spec) parseRate(text string, o Options) error {
	if !strings.HasSuffix(text, ")") {
		return s.invalid("write rate(value unit), such as rate(5 minutes)")
	}
	parts := strings.Fields(text[len("rate(") : len(text)-1])
	if len(parts) != 2 {
		return s.invalid("write rate(value unit), such as rate(5 minutes); units are minute(s), hour(s), day(s) and second(s)")
	}
	if !isDigits(parts[0]) || parts[0][0] == '0' {
		return s.invalid("rate value %q is not a positive whole number", parts[0])
	}
	n, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return s.invalid("rate value %q is not a positive whole number", parts[0])
	}
	unit, ok := rateUnits[parts[1]]
	if !ok {
		return s.invalid("unknown rate unit %q: use minute(s), hour(s), day(s) or second(s)", parts[1])
	}
	plural := strings.HasSuffix(parts[1], "s")
	if n == 1 && plural {
		return s.invalid("rate value 1 needs the singular unit %q", strings.TrimSuffix(parts[1], "s"))
	}
	if n > 1 && !plural {
		return s.invalid("rate value %d needs the plural unit %q", n, parts[1]+"s")
	}
	period := time.Duration(n) * unit
	if period < MinRate || period > MaxRate || period/unit != time.Duration(n) {
		return s.invalid("rate %d %s is out of range (allowed 1 second to 3650 days)", n, parts[1])
	}

	s.kind = kindRate
	s.period = period
	switch {
	case s.start != nil:
		s.origin, s.firstK = *s.start, 0
	case !o.Anchor.IsZero():
		s.origin, s.firstK = o.Anchor, 1
	default:
		return fmt.Errorf("timing: rate expression %q needs Options.Anchor or a start date", s.expression)
	}
	return nil
}

// rateNext returns the first origin+k*period strictly after `after`.
func (s *Spec) rateNext(after time.Time) (time.Time, bool) {
	k := s.firstK
	if d := after.Sub(s.origin); d >= time.Duration(k)*s.period {
		k = int64(d/s.period) + 1
	}
	t := s.origin.Add(time.Duration(k) * s.period)
	if t.Year() > MaxYear {
		return time.Time{}, false
	}
	return t, true
}

// parseAt parses at(yyyy-mm-ddThh:mm:ss), a wall time in the schedule's
// zone.
func (s *Spec) parseAt(text string) error {
	if !strings.HasSuffix(text, ")") {
		return s.invalid("write at(yyyy-mm-ddThh:mm:ss), such as at(2027-03-01T09:30:00)")
	}
	inner := strings.TrimSpace(text[len("at(") : len(text)-1])
	w, err := time.Parse("2006-01-02T15:04:05", inner)
	if err != nil {
		return s.invalid("%q is not a date and time of the form yyyy-mm-ddThh:mm:ss (local to the schedule's time zone, without offset)", inner)
	}
	if w.Year() < MinYear || w.Year() > MaxYear {
		return s.invalid("year %d is out of range (allowed %d-%d)", w.Year(), MinYear, MaxYear)
	}
	s.kind = kindAt
	s.at = wallInstant(w, s.loc)
	return nil
}
