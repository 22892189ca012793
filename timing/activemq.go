package timing

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// This file ports ActiveMQ 5.17's cron evaluation
// (org.apache.activemq.broker.scheduler.CronParser.getNextScheduledTime)
// and the way its job scheduler chains it, so that Waste can count broker
// wake-ups without a JVM. The port keeps the parser's quirks, which the
// broker forms must live with:
//   - a step selects the values divisible by the step;
//   - moving to a new hour keeps the minute reached so far;
//   - after the last listed day of month it advances 30+first-current days,
//     whatever the month's length;
//   - it resets seconds but keeps milliseconds;
//   - "* * * * *" fires 60 s after the current time, truncated to the second.
// A test runs the same inputs through the real parser and compares.

type amqEntry struct {
	name       string
	start, end int
	values     []int // sorted
}

// amqStartTime returns the instant from which the broker computes a new
// job's first fire: the send instant rounded up to the next 500 ms step.
func amqStartTime(sent time.Time) int64 {
	ms := sent.UnixMilli()
	return (ms + 500) / 500 * 500
}

// amqNext returns the broker's next fire for cron entry after current (Unix
// milliseconds), evaluated in UTC.
func amqNext(entry string, current int64) (int64, error) {
	c, err := parseAmqCron(entry)
	if err != nil {
		return 0, err
	}
	return c.next(current)
}

// amqCron is a parsed ActiveMQ cron entry.
type amqCron struct {
	everyMinute bool // the exact entry "* * * * *"
	fields      []amqEntry
}

func parseAmqCron(entry string) (*amqCron, error) {
	if entry == "* * * * *" {
		return &amqCron{everyMinute: true}, nil
	}
	tokens := strings.Fields(entry)
	if len(tokens) != 5 {
		return nil, fmt.Errorf("activemq cron %q: %d fields", entry, len(tokens))
	}
	fields := []amqEntry{{"Minutes", 0, 60, nil}, {"Hours", 0, 24, nil}, {"DayOfMonth", 1, 31, nil},
		{"Month", 1, 12, nil}, {"DayOfWeek", 0, 6, nil}}
	for i := range fields {
		v, err := amqValues(tokens[i], fields[i].start, fields[i].end)
		if err != nil {
			return nil, fmt.Errorf("activemq cron %q: %w", entry, err)
		}
		fields[i].values = v
	}
	return &amqCron{fields: fields}, nil
}

func (c *amqCron) next(current int64) (int64, error) {
	if c.everyMinute {
		return (current + 60_000) / 1000 * 1000, nil
	}
	minutes, hours, dom, month, dow := &c.fields[0], &c.fields[1], &c.fields[2], &c.fields[3], &c.fields[4]

	w := time.UnixMilli(current).UTC()
	w = w.Add(-time.Duration(w.Second()) * time.Second) // Calendar.set(SECOND, 0) keeps milliseconds
	w = w.Add(time.Minute)

	if !minutes.isCurrent(w.Minute()) {
		w = w.Add(time.Duration(minutes.next(w.Minute())) * time.Minute)
	}
	if !hours.isCurrent(w.Hour()) {
		w = w.Add(time.Duration(hours.next(w.Hour())) * time.Hour)
	}
	w = amqUpdateDay(w, dom, dow)
	if cur := int(w.Month()); !month.isCurrent(cur) {
		w = amqAddMonths(w, month.next(cur))
		w = amqStartOfDay(w, 1)
	}
	w = amqUpdateDay(w, dom, dow)
	if !hours.isCurrent(w.Hour()) {
		w = w.Add(time.Duration(hours.next(w.Hour())) * time.Hour)
	}
	if !minutes.isCurrent(w.Minute()) {
		w = w.Add(time.Duration(minutes.next(w.Minute())) * time.Minute)
	}

	result := w.UnixMilli()
	if result <= current {
		return 0, errors.New("activemq: unable to compute next scheduled execution time")
	}
	return result, nil
}

func amqUpdateDay(w time.Time, dom, dow *amqEntry) time.Time {
	curDow, curDom := int(w.Weekday()), w.Day()
	if dow.isCurrent(curDow) && dom.isCurrent(curDom) {
		return w
	}
	nextWeekDay, nextCalendarDay := int(^uint(0)>>1), int(^uint(0)>>1)
	if !dow.isCurrent(curDow) {
		nextWeekDay = dow.next(curDow)
	}
	if !dom.isCurrent(curDom) {
		nextCalendarDay = dom.next(curDom)
	}
	if nextWeekDay < nextCalendarDay {
		w = w.AddDate(0, 0, nextWeekDay)
	} else {
		w = w.AddDate(0, 0, nextCalendarDay)
	}
	return amqStartOfDay(w, w.Day())
}

// amqStartOfDay sets the day of month and clears hours, minutes and
// seconds, keeping milliseconds, as the broker's resetToStartOfDay does.
func amqStartOfDay(w time.Time, day int) time.Time {
	return time.Date(w.Year(), w.Month(), day, 0, 0, 0, w.Nanosecond(), time.UTC)
}

// amqAddMonths adds months the way java.util.Calendar.add(MONTH) does: the
// day of month is clamped to the new month's length.
func amqAddMonths(w time.Time, n int) time.Time {
	y, m := w.Year(), int(w.Month())-1+n
	y += m / 12
	m = m%12 + 1
	d := w.Day()
	if dim := daysIn(y, time.Month(m)); d > dim {
		d = dim
	}
	return time.Date(y, time.Month(m), d, w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), time.UTC)
}

func (e *amqEntry) isCurrent(v int) bool {
	i := sort.SearchInts(e.values, v)
	return i < len(e.values) && e.values[i] == v
}

// next returns the distance from current to the next value, with the
// broker's wrap-around arithmetic.
func (e *amqEntry) next(current int) int {
	for _, v := range e.values {
		if v > current {
			return v - current
		}
	}
	result := e.end + e.values[0] - e.start - current
	if e.name == "DayOfWeek" || e.name == "Month" {
		result++
	}
	return result
}

// amqValues expands one cron field as the broker does.
func amqValues(token string, start, end int) ([]int, error) {
	var out []int
	switch {
	case token == "*" || token == "?":
		for i := start; i <= end; i++ {
			out = append(out, i)
		}
	case strings.Contains(token, "/"):
		num, den, _ := strings.Cut(token, "/")
		d, err := strconv.Atoi(den)
		if err != nil || d == 0 {
			return nil, fmt.Errorf("invalid step %q", token)
		}
		vals, err := amqValues(num, start, end)
		if err != nil {
			return nil, err
		}
		for _, v := range vals {
			if v%d == 0 {
				out = append(out, v)
			}
		}
	case strings.Contains(token, ","):
		for _, part := range strings.Split(token, ",") {
			vals, err := amqValues(part, start, end)
			if err != nil {
				return nil, err
			}
			out = append(out, vals...)
		}
	case strings.Contains(token, "-"):
		a, b, _ := strings.Cut(token, "-")
		lo, err1 := strconv.Atoi(a)
		hi, err2 := strconv.Atoi(b)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("invalid range %q", token)
		}
		for i := lo; i <= hi; i++ {
			out = append(out, i)
		}
	default:
		v, err := strconv.Atoi(token)
		if err != nil {
			return nil, fmt.Errorf("invalid value %q", token)
		}
		out = append(out, v)
	}
	sort.Ints(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("no values in %q", token)
	}
	return out, nil
}

// amqLatency is how long after a fire's scheduled instant the broker's
// scheduler loop computes the next one, in milliseconds. Each cron fire
// inherits the milliseconds of that instant. 1 ms is an estimate for an
// idle broker.
const amqLatency = 1

// amqFires returns the broker's cron fires for a job sent at `sent`, up to
// and including `until` (Unix milliseconds), at most limit of them.
func amqFires(entry string, sent time.Time, until int64, limit int) ([]int64, error) {
	c, err := parseAmqCron(entry)
	if err != nil {
		return nil, err
	}
	var out []int64
	t, err := c.next(amqStartTime(sent))
	for err == nil && t <= until && len(out) < limit {
		out = append(out, t)
		t, err = c.next(t + amqLatency)
	}
	return out, err
}
