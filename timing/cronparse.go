package timing

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

type dialect int

const (
	// dialectEventBridge is cron(min hour dom month dow year): day-of-week
	// 1-7 is SUN-SAT, one of day-of-month and day-of-week is '?', and L,
	// W and # are allowed.
	dialectEventBridge dialect = iota
	// dialectVixie is five-field Unix cron: day-of-week 0-7 with 0 and 7
	// Sunday, and day-of-month OR day-of-week when both are restricted.
	dialectVixie
)

// cronSpec is a parsed cron expression. Bit i of a set means value i.
type cronSpec struct {
	minutes uint64    // 0-59
	hours   uint64    // 0-23
	months  uint64    // 1-12
	years   [4]uint64 // bit y-MinYear; all set when the field is absent or '*'
	days    dayRule

	// realTime is set when the hour field covers every hour: the
	// expression then fires at every instant whose wall time matches,
	// instead of once per wall time.
	realTime bool
}

// dayRule decides whether a date matches the day-of-month and day-of-week
// fields.
type dayRule struct {
	// or is Vixie's rule: when both fields are restricted (neither starts
	// with '*'), a day matches if either field matches.
	or bool

	dom            uint64 // plain days 1-31
	domLast        []int  // L-n: n days before the last day (L is n=0)
	domNearest     []int  // nW: the weekday nearest to day n
	domLastWeekday bool   // LW: the last weekday (Monday-Friday) of the month

	dow     uint64 // plain weekdays, 0 = Sunday
	dowLast uint64 // nL: the last such weekday of the month
	dowNth  []nth  // n#k: the k-th such weekday of the month
}

type nth struct{ weekday, k int }

const (
	allMinutes = 1<<60 - 1
	allHours   = 1<<24 - 1
	allDom     = (1<<32 - 1) &^ 1
	allMonths  = (1<<13 - 1) &^ 1
	allDow     = 1<<7 - 1
)

var monthNames = map[string]int{
	"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6,
	"JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12,
}

// weekdayNames maps names to Go weekdays (Sunday = 0).
var weekdayNames = map[string]int{
	"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6,
}

var vixieMacros = map[string]string{
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
	"@monthly":  "0 0 1 * *",
	"@weekly":   "0 0 * * 0",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@hourly":   "0 * * * *",
}

// field describes one cron field for parsing and messages.
type field struct {
	name     string
	min, max int
	names    map[string]int
	// nameOffset is added to a name's value (EventBridge's SUN is 1).
	nameOffset int
	// stepMax, when set, ends "*" and "n/s" below max: Vixie's day-of-week
	// accepts 7 for Sunday, but "*/2" and "1/2" stop at 6.
	stepMax int
}

// parseCron parses an EventBridge cron(...) or a Vixie five-field cron.
func (s *Spec) parseCron(text string, d dialect) error {
	var fields []string
	if d == dialectEventBridge {
		if !strings.HasPrefix(text, "cron(") || !strings.HasSuffix(text, ")") {
			return s.invalid("write the EventBridge form as cron(minutes hours day-of-month month day-of-week year)")
		}
		fields = strings.Fields(text[len("cron(") : len(text)-1])
		if len(fields) != 6 {
			return s.invalid("cron(...) has %d fields, expected 6: minutes hours day-of-month month day-of-week year",
				len(fields))
		}
	} else {
		if strings.HasPrefix(text, "@") {
			expanded, ok := vixieMacros[strings.ToLower(text)]
			if !ok {
				return s.invalid("unknown macro %q: use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly", text)
			}
			text = expanded
		}
		fields = strings.Fields(text)
		switch len(fields) {
		case 5:
		case 6:
			return s.invalid("a six-field cron must be written as cron(minutes hours day-of-month month day-of-week year); " +
				"plain cron has five fields: minutes hours day-of-month month day-of-week")
		default:
			return s.invalid("cron has %d fields, expected 5: minutes hours day-of-month month day-of-week "+
				"(or use cron(...), rate(...) or at(...))", len(fields))
		}
	}

	c, err := s.parseCronFields(fields, d)
	if err != nil {
		return err
	}
	s.kind = kindCron
	s.cron = c
	return nil
}

func (s *Spec) parseCronFields(fields []string, d dialect) (*cronSpec, error) {
	c := &cronSpec{}
	var err error
	if c.minutes, err = s.parseSimple(fields[0], field{name: "minutes", min: 0, max: 59}); err != nil {
		return nil, err
	}
	if c.hours, err = s.parseSimple(fields[1], field{name: "hours", min: 0, max: 23}); err != nil {
		return nil, err
	}
	months := field{name: "month", min: 1, max: 12, names: monthNames}
	if c.months, err = s.parseSimple(fields[3], months); err != nil {
		return nil, err
	}
	c.realTime = c.hours == allHours
	if d == dialectVixie {
		err = s.parseVixieDays(c, fields[2], fields[4])
	} else {
		err = s.parseEventBridgeDays(c, fields[2], fields[4])
	}
	if err != nil {
		return nil, err
	}

	c.years = [4]uint64{^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)}
	if d == dialectEventBridge {
		// Validate first; the year bits do not fit in one word.
		if _, err := s.parseSimple(fields[5], field{name: "year", min: MinYear, max: MaxYear}); err != nil {
			return nil, err
		}
		c.years = s.parseYears(fields[5])
	}
	return c, nil
}

// parseVixieDays parses Vixie day-of-month and day-of-week fields.
func (s *Spec) parseVixieDays(c *cronSpec, domText, dowText string) error {
	dom, err := s.parseSimple(domText, field{name: "day-of-month", min: 1, max: 31})
	if err != nil {
		return err
	}
	dow, err := s.parseSimple(dowText, field{name: "day-of-week", min: 0, max: 7, names: weekdayNames, stepMax: 6})
	if err != nil {
		return err
	}
	// 7 is Sunday, like 0.
	if dow&(1<<7) != 0 {
		dow = dow&^(1<<7) | 1
	}
	c.days = dayRule{
		dom: dom,
		dow: dow,
		or:  !strings.HasPrefix(domText, "*") && !strings.HasPrefix(dowText, "*"),
	}
	return nil
}

// parseEventBridgeDays parses EventBridge day-of-month and day-of-week
// fields, where exactly one is '?'.
func (s *Spec) parseEventBridgeDays(c *cronSpec, domText, dowText string) error {
	switch {
	case domText == "?" && dowText == "?":
		return s.invalid("day-of-month and day-of-week are both '?': set one of them")
	case domText != "?" && dowText != "?":
		return s.invalid("day-of-month %q and day-of-week %q are both set: one of them must be '?'", domText, dowText)
	}
	c.days.dom, c.days.dow = allDom, allDow
	if domText != "?" {
		return s.parseEventBridgeDom(&c.days, domText)
	}
	return s.parseEventBridgeDow(&c.days, dowText)
}

func (s *Spec) parseEventBridgeDom(r *dayRule, text string) error {
	def := field{name: "day-of-month", min: 1, max: 31}
	r.dom = 0
	for _, term := range strings.Split(text, ",") {
		switch {
		case term == "L":
			r.domLast = append(r.domLast, 0)
		case term == "LW":
			r.domLastWeekday = true
		case strings.HasPrefix(term, "L-"):
			n, err := strconv.Atoi(term[2:])
			if err != nil || n < 0 || n > 30 || !isDigits(term[2:]) {
				return s.fieldError(def, text, "%q: L-n needs n between 0 and 30", term)
			}
			r.domLast = append(r.domLast, n)
		case strings.HasSuffix(term, "W"):
			n, err := strconv.Atoi(term[:len(term)-1])
			if err != nil || n < 1 || n > 31 || !isDigits(term[:len(term)-1]) {
				return s.fieldError(def, text, "%q: nW needs a day n between 1 and 31", term)
			}
			r.domNearest = append(r.domNearest, n)
		default:
			v, err := s.parseTerm(term, text, def)
			if err != nil {
				return err
			}
			r.dom |= v
		}
	}
	return nil
}

func (s *Spec) parseEventBridgeDow(r *dayRule, text string) error {
	def := field{name: "day-of-week", min: 1, max: 7, names: weekdayNames, nameOffset: 1}
	r.dow = 0
	for _, term := range strings.Split(text, ",") {
		switch {
		case term == "L":
			r.dow |= 1 << 6 // L alone is the last day of the week, Saturday
		case strings.Contains(term, "#"):
			parts := strings.SplitN(term, "#", 2)
			wd, err := s.parseValue(parts[0], text, def)
			if err != nil {
				return err
			}
			k, err := strconv.Atoi(parts[1])
			if err != nil || k < 1 || k > 5 || !isDigits(parts[1]) {
				return s.fieldError(def, text, "%q: n#k needs k between 1 and 5", term)
			}
			r.dowNth = append(r.dowNth, nth{weekday: wd - 1, k: k})
		case strings.HasSuffix(term, "L"):
			wd, err := s.parseValue(term[:len(term)-1], text, def)
			if err != nil {
				return err
			}
			r.dowLast |= 1 << (wd - 1)
		default:
			v, err := s.parseTerm(term, text, def)
			if err != nil {
				return err
			}
			r.dow |= v >> 1 // 1-7 becomes 0-6
		}
	}
	return nil
}

// parseYears parses a year field that parseSimple has validated.
func (s *Spec) parseYears(text string) [4]uint64 {
	var out [4]uint64
	for _, term := range strings.Split(text, ",") {
		lo, hi, step, _ := s.termBounds(term, text, field{name: "year", min: MinYear, max: MaxYear})
		for y := lo; y <= hi; y += step {
			i := y - MinYear
			out[i/64] |= 1 << (i % 64)
		}
	}
	return out
}

// parseSimple parses a comma-separated list of values, ranges and steps.
// For the year field, only validation is meaningful: values above 63 do
// not fit in the result.
func (s *Spec) parseSimple(text string, def field) (uint64, error) {
	if text == "" {
		return 0, s.fieldError(def, text, "empty field")
	}
	var set uint64
	for _, term := range strings.Split(text, ",") {
		if isQuartzTerm(term) {
			if def.name == "day-of-month" || def.name == "day-of-week" {
				return 0, s.fieldError(def, text, "%q: L, W, # and ? belong to the EventBridge form; "+
					"write cron(minutes hours day-of-month month day-of-week year)", term)
			}
			return 0, s.fieldError(def, text, "%q: L, W, # and ? are allowed only in day-of-month and day-of-week", term)
		}
		v, err := s.parseTerm(term, text, def)
		if err != nil {
			return 0, err
		}
		set |= v
	}
	return set, nil
}

// parseTerm parses one list term: *, n, a-b, */s, n/s or a-b/s.
func (s *Spec) parseTerm(term, text string, def field) (uint64, error) {
	lo, hi, step, err := s.termBounds(term, text, def)
	if err != nil {
		return 0, err
	}
	var set uint64
	if def.max < 64 {
		for v := lo; v <= hi; v += step {
			set |= 1 << v
		}
	}
	return set, nil
}

// termBounds returns the first value, last value and step of one term.
func (s *Spec) termBounds(term, text string, def field) (lo, hi, step int, err error) {
	if term == "" {
		return 0, 0, 0, s.fieldError(def, text, "empty list element")
	}
	base, stepText, hasStep := strings.Cut(term, "/")
	step = 1
	if hasStep {
		n, convErr := strconv.Atoi(stepText)
		if convErr != nil || !isDigits(stepText) {
			return 0, 0, 0, s.fieldError(def, text, "step %q is not a number", stepText)
		}
		if n < 1 || n > def.max-def.min+1 {
			return 0, 0, 0, s.fieldError(def, text, "step %d is out of range (allowed 1-%d)", n, def.max-def.min+1)
		}
		step = n
	}

	top := def.max
	if def.stepMax != 0 {
		top = def.stepMax
	}
	switch {
	case base == "*":
		lo, hi = def.min, top
	case strings.Contains(base, "-"):
		a, b, _ := strings.Cut(base, "-")
		if lo, err = s.parseValue(a, text, def); err != nil {
			return 0, 0, 0, err
		}
		if hi, err = s.parseValue(b, text, def); err != nil {
			return 0, 0, 0, err
		}
		if lo > hi {
			return 0, 0, 0, s.fieldError(def, text, "range %q runs backwards (write the lower value first)", base)
		}
	default:
		if lo, err = s.parseValue(base, text, def); err != nil {
			return 0, 0, 0, err
		}
		hi = lo
		if hasStep {
			hi = max(top, lo) // n/s means n, n+s, ... up to the field's maximum
		}
	}
	return lo, hi, step, nil
}

// parseValue parses a number or a name and checks its range.
func (s *Spec) parseValue(text, fieldText string, def field) (int, error) {
	if v, ok := def.names[strings.ToUpper(text)]; ok {
		return v + def.nameOffset, nil
	}
	if !isDigits(text) {
		allowed := fmt.Sprintf("%d-%d", def.min, def.max)
		if def.names != nil {
			allowed += " or a three-letter name"
		}
		return 0, s.fieldError(def, fieldText, "%q is not a valid value (allowed %s)", text, allowed)
	}
	v, err := strconv.Atoi(text)
	if err != nil || v < def.min || v > def.max {
		return 0, s.fieldError(def, fieldText, "%s is out of range (allowed %d-%d)", text, def.min, def.max)
	}
	return v, nil
}

func (s *Spec) fieldError(def field, text, format string, args ...any) error {
	return s.invalid("%s field %q: %s", def.name, text, fmt.Sprintf(format, args...))
}

// isQuartzTerm reports whether a list term uses EventBridge's L, W, # or ?
// (names such as JUL and WED do not count).
func isQuartzTerm(term string) bool {
	t := strings.ToUpper(term)
	switch {
	case t == "?" || t == "L" || t == "LW" || strings.Contains(t, "#") || strings.HasPrefix(t, "L-"):
		return true
	case strings.HasSuffix(t, "W") || strings.HasSuffix(t, "L"):
		return isDigits(t[:len(t)-1])
	}
	return false
}

func isDigits(s string) bool {
	if s == "" || len(s) > 6 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// everyDay reports whether the day, month and year fields match every
// date.
func (c *cronSpec) everyDay() bool {
	for i := range MaxYear - MinYear + 1 {
		if c.years[i/64]&(1<<(i%64)) == 0 {
			return false
		}
	}
	return c.months&allMonths == allMonths && c.days.dom&allDom == allDom && c.days.dow&allDow == allDow
}

// yearOK reports whether year y is in the year field.
func (c *cronSpec) yearOK(y int) bool {
	if y < MinYear || y > MaxYear {
		return false
	}
	i := y - MinYear
	return c.years[i/64]&(1<<(i%64)) != 0
}

// matchesDay reports whether the date y-m-d (with weekday wd and dim days
// in its month) matches the day fields.
func (r *dayRule) matches(d, wd, dim int) bool {
	domMatch := r.dom&(1<<d) != 0
	for _, n := range r.domLast {
		domMatch = domMatch || d == dim-n
	}
	for _, n := range r.domNearest {
		domMatch = domMatch || d == nearestWeekday(n, d, wd, dim)
	}
	if r.domLastWeekday {
		domMatch = domMatch || d == nearestWeekday(dim, d, wd, dim)
	}

	dowMatch := r.dow&(1<<wd) != 0
	if r.dowLast&(1<<wd) != 0 && d+7 > dim {
		dowMatch = true
	}
	for _, x := range r.dowNth {
		dowMatch = dowMatch || (x.weekday == wd && (d-1)/7+1 == x.k)
	}

	if r.or {
		return domMatch || dowMatch
	}
	return domMatch && dowMatch
}

// nearestWeekday returns the Monday-Friday day of the month nearest to
// day n, without leaving the month, given that day d is weekday wd. It
// returns 0 when the month has no day n.
func nearestWeekday(n, d, wd, dim int) int {
	if n > dim {
		return 0
	}
	nwd := ((wd+n-d)%7 + 7) % 7
	switch nwd {
	case 6: // Saturday: Friday before, or Monday after on the 1st
		if n == 1 {
			return 3
		}
		return n - 1
	case 0: // Sunday: Monday after, or Friday before on the last day
		if n == dim {
			return n - 2
		}
		return n + 1
	}
	return n
}

func popcount(x uint64) int { return bits.OnesCount64(x) }
