package timing

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// BrokerForm is the scheduling part of one broker job: either Cron, or
// Delay with optional Period and Repeat. The two are never combined,
// because ActiveMQ 5.17 stalls its job scheduler on such a message.
type BrokerForm struct {
	// Cron is an ActiveMQ cron entry that uses only '*', numbers, ranges
	// and lists, evaluated by the broker in UTC.
	Cron string
	// Delay is the time from the send instant to the first fire. The
	// broker rounds its start instant up to the next 500 ms step.
	Delay time.Duration
	// Period is the time between fires after the first.
	Period time.Duration
	// Repeat is the number of fires after the first.
	Repeat int
}

// Match tolerances. Cron wake-ups come at the top of the minute plus up to
// about 1 s: the broker keeps the milliseconds of its start instant, and
// its scheduler loop adds a few milliseconds per fire. A loaded broker is
// later still, so a cron wake-up matches the fire that starts at most
// cronEarly after it and at most cronLate before it. Delay and period
// wake-ups come up to 500 ms after the fire because the broker rounds its
// start, plus about 1 ms of drift per repeat. Such a wake-up matches the
// fire that lies at most a quarter period (at most rateEarly) after it or
// three quarters of a period (at most rateLate) before it. An at() wake-up matches its fire however late it
// comes, because nothing else can be mistaken for it.
const (
	cronEarly = 2 * time.Second
	cronLate  = 50 * time.Second
	rateEarly = 2 * time.Second
	rateLate  = 50 * time.Second
)

// Match returns the true fire that a broker wake-up at instant wake (the
// fired copy's timestamp) stands for, in the schedule's zone. It returns
// false when the wake-up is not a real fire and must be dropped. Every
// wake-up within the tolerance of one fire maps to that fire's exact
// instant, so duplicates of a fire share one instant.
func (s *Spec) Match(wake time.Time) (time.Time, bool) {
	var t time.Time
	switch s.kind {
	case kindCron:
		t = wake.Add(cronEarly).Truncate(time.Minute)
		if d := wake.Sub(t); d < -cronEarly || d > cronLate {
			return time.Time{}, false
		}
	case kindRate:
		early, late := min(s.period/4, rateEarly), min(s.period*3/4, rateLate)
		k := int64(wake.Add(early).Sub(s.origin) / s.period)
		if wake.Add(early).Before(s.origin) {
			return time.Time{}, false
		}
		t = s.origin.Add(time.Duration(k) * s.period)
		if wake.Sub(t) > late {
			return time.Time{}, false
		}
	case kindAt:
		if wake.Before(s.at.Add(-rateEarly)) {
			return time.Time{}, false
		}
		t = s.at
	}
	got, ok := s.Next(t.Add(-time.Nanosecond))
	if !ok || !got.Equal(t) {
		return time.Time{}, false
	}
	return got, true
}

// Broker returns the broker form for a job sent at now. maxRepeat is the
// broker's maxSchedulerRepeatAllowed; Repeat never exceeds it. Broker
// returns an error when the schedule has no fire after now.
//
// rate(...) and at(...) become a delay to the next fire, with the rate's
// period and the number of fires left as the repeat. A cron becomes an
// ActiveMQ cron in UTC whose fires cover every true fire of the schedule's
// remaining life, through every offset change of its zone.
func (s *Spec) Broker(now time.Time, maxRepeat int) (BrokerForm, error) {
	first, ok := s.Next(now)
	if !ok {
		return BrokerForm{}, fmt.Errorf("broker form for %q: %w", s.expression, ErrNoFireLeft)
	}
	switch s.kind {
	case kindCron:
		return BrokerForm{Cron: s.brokerCron(now)}, nil
	case kindAt:
		return BrokerForm{Delay: delayUntil(now, first)}, nil
	}

	form := BrokerForm{Delay: delayUntil(now, first), Period: s.period, Repeat: max(maxRepeat, 0)}
	if s.end != nil {
		left := int64(s.end.Sub(first)/s.period) + 1 // fires in [first, end]
		if left-1 < int64(form.Repeat) {
			form.Repeat = int(left - 1)
		}
	}
	return form, nil
}

// delayUntil returns the delay from now to t, at least 1 ms: the broker
// reads a zero delay as "first fire after one period".
func delayUntil(now, t time.Time) time.Duration {
	return max(t.Sub(now).Truncate(time.Millisecond), time.Millisecond)
}

// sendSkews are the delays, after the instant passed to Broker, at which
// the broker may compute a job's first fire: the SEND's latency and
// retry, and clock skew between this host and the broker.
var sendSkews = []time.Duration{0, time.Second, 10 * time.Second, time.Minute, 2 * time.Minute}

// brokerCron compiles a cron schedule to an ActiveMQ cron in UTC.
func (s *Spec) brokerCron(now time.Time) string {
	f, ok := s.cachedFiredFields(now)
	if !ok {
		f = s.cron.utcFields(s.loc, s.lifeStart(now), s.lifeEnd())
	}

	// ActiveMQ moves to a new hour keeping the minute it has reached, so
	// a job whose first fire is computed during an hour outside the list
	// can skip the first minutes of the next listed hour. Once a job has
	// fired, it computes from a listed hour and no longer skips. Where
	// the port of the broker's parser shows such a skip, the send hour
	// joins the list.
	for _, skew := range sendSkews {
		sent := now.Add(skew)
		if !s.firstFireSkipped(f.String(), sent) {
			continue
		}
		f.hours |= 1 << uint(sent.UTC().Hour())
	}
	return f.String()
}

// firstFireSkipped reports whether the broker's first fire for entry, sent
// at sent, comes after the schedule's first true fire.
func (s *Spec) firstFireSkipped(entry string, sent time.Time) bool {
	want, ok := s.Next(sent)
	if !ok {
		return false
	}
	got, err := amqNext(entry, amqStartTime(sent))
	if err != nil {
		return true
	}
	return time.UnixMilli(got).Truncate(time.Minute).After(want)
}

// Limits of firedFields: 28 years hold every kind of year (the 7 weekdays
// of January 1st, leap or not) with the zone's offset changes on their
// dates, and 25,000 fires cover a daily schedule over that time.
const (
	firedYears    = 28
	firedMaxFires = 25_000
)

// firedFields returns the UTC field sets of the schedule's actual fires
// over its life, or over 28 years if it lasts longer, made safe for
// ActiveMQ. It returns false when the schedule fires more than
// firedMaxFires times in that time; utcFields then derives the sets from
// the fields instead.
func (s *Spec) firedFields(now time.Time) (amqFields, bool) {
	until := s.lifeEnd()
	if horizon := now.AddDate(firedYears, 0, 2); horizon.Before(until) {
		until = horizon
	}
	if s.cron.everyDay() {
		// An every-day cron fires at its local times under each offset
		// of the zone and at the ends of gaps, which is exactly what
		// utcFields derives from the zone's transitions, without walking
		// years of fires.
		return s.cron.utcFields(s.loc, s.lifeStart(now), until), true
	}
	return s.walkFires(now, until)
}

// walkFires returns the UTC field sets of the fires in (now, until], made
// safe for ActiveMQ, or false when there are none or more than
// firedMaxFires.
func (s *Spec) walkFires(now, until time.Time) (amqFields, bool) {
	var f amqFields
	n := 0
	for t, ok := s.Next(now); ok && !t.After(until); t, ok = s.Next(t) {
		if n++; n > firedMaxFires {
			return amqFields{}, false
		}
		u := t.UTC()
		f.minutes |= 1 << uint(u.Minute())
		f.hours |= 1 << uint(u.Hour())
		f.dom |= 1 << uint(u.Day())
		f.months |= 1 << uint(u.Month())
		f.dow |= 1 << uint(u.Weekday())
	}
	if n == 0 {
		return amqFields{}, false
	}

	// Keep one of day-of-month and day-of-week, whichever leaves fewer
	// days.
	switch {
	case f.dom == allDom || f.dow == allDow:
	case popcount(f.dom|domSafety)*7 <= popcount(f.dow)*31:
		f.dow = allDow
	default:
		f.dom = allDom
	}
	if f.dom != allDom {
		f.dom |= domSafety
	}
	return f, true
}

// lifeStart returns the first instant at which the schedule can still
// fire for a job sent at now.
func (s *Spec) lifeStart(now time.Time) time.Time {
	if s.start != nil && s.start.After(now) {
		return *s.start
	}
	return now
}

// lifeEnd returns the last instant at which the schedule can fire.
func (s *Spec) lifeEnd() time.Time {
	if s.end != nil {
		return *s.end
	}
	return time.Date(MaxYear+1, 1, 1, 0, 0, 0, 0, time.UTC)
}

// amqFields is an ActiveMQ cron as sets of UTC values.
type amqFields struct {
	minutes, hours, dom, months, dow uint64
}

// String formats the fields as an ActiveMQ cron entry. Full sets are '*',
// except that "* * * * *" is written "0-59 * * * *", because the broker
// evaluates that exact string as "60 s after now" instead of "every
// minute at :00".
func (f amqFields) String() string {
	parts := []string{
		formatSet(f.minutes, 0, 59),
		formatSet(f.hours, 0, 23),
		formatSet(f.dom, 1, 31),
		formatSet(f.months, 1, 12),
		formatSet(f.dow, 0, 6),
	}
	if parts[0] == "*" && parts[1] == "*" && parts[2] == "*" && parts[3] == "*" && parts[4] == "*" {
		parts[0] = "0-59"
	}
	return strings.Join(parts, " ")
}

// formatSet writes a set of values as '*' or a list of numbers and ranges.
func formatSet(set uint64, lo, hi int) string {
	full := uint64(1)<<uint(hi+1) - 1<<uint(lo)
	if set&full == full {
		return "*"
	}
	var b strings.Builder
	for v := lo; v <= hi; v++ {
		if set&(1<<uint(v)) == 0 {
			continue
		}
		end := v
		for end+1 <= hi && set&(1<<uint(end+1)) != 0 {
			end++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(v))
		if end > v {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(end))
		}
		v = end
	}
	return b.String()
}

// utcFields returns UTC field sets whose product contains every fire of c
// in loc between from and to.
func (c *cronSpec) utcFields(loc *time.Location, from, to time.Time) amqFields {
	trans, offsets := transitions(loc, from, to)
	var f amqFields
	shifts := map[int]bool{}

	// Hours and minutes: every listed local time under every offset of
	// the zone's life. Offsets are whole minutes in every zone after 1972.
	hours := c.hours
	for h := 0; h < 24; h++ {
		if hours&(1<<uint(h)) == 0 {
			continue
		}
		for m := 0; m < 60; m++ {
			if c.minutes&(1<<uint(m)) == 0 {
				continue
			}
			for _, off := range offsets {
				u := h*60 + m - off/60
				f.addMinuteOfDay(u, shifts)
			}
		}
	}

	// A wall time in a gap fires at the gap's end, which may be a UTC
	// minute that no listed local time maps to.
	if !c.realTime {
		for _, tr := range trans {
			if tr.after <= tr.before || !c.hasTimeIn(tr) {
				continue
			}
			gapWall := tr.at.Add(time.Duration(tr.before) * time.Second)
			u := tr.at.Hour()*60 + tr.at.Minute()
			f.minutes |= 1 << uint(u%60)
			f.hours |= 1 << uint(u/60)
			shifts[dayDiff(gapWall, tr.at)] = true
		}
	}

	f.dom, f.dow = c.days.utcDays(shifts)
	f.months = shiftMonths(c.months, shifts)
	return f
}

// addMinuteOfDay adds the UTC time u minutes after local midnight (which
// may be negative or past one day) and records its day shift.
func (f *amqFields) addMinuteOfDay(u int, shifts map[int]bool) {
	shift := 0
	for u < 0 {
		u += 1440
		shift--
	}
	for u >= 1440 {
		u -= 1440
		shift++
	}
	f.minutes |= 1 << uint(u%60)
	f.hours |= 1 << uint(u/60)
	shifts[shift] = true
}

// hasTimeIn reports whether a listed local time of day falls in the gap
// that transition tr opens.
func (c *cronSpec) hasTimeIn(tr transition) bool {
	start := tr.at.Add(time.Duration(tr.before) * time.Second)
	for w := start; w.Before(tr.at.Add(time.Duration(tr.after) * time.Second)); w = w.Add(time.Minute) {
		if c.hours&(1<<uint(w.Hour())) != 0 && c.minutes&(1<<uint(w.Minute())) != 0 {
			return true
		}
	}
	return false
}

// dayDiff returns the number of calendar days from wall time w's date to
// instant t's UTC date.
func dayDiff(w wallTime, t time.Time) int {
	wd := time.Date(w.Year(), w.Month(), w.Day(), 0, 0, 0, 0, time.UTC)
	td := time.Date(t.UTC().Year(), t.UTC().Month(), t.UTC().Day(), 0, 0, 0, 0, time.UTC)
	return int(td.Sub(wd).Hours() / 24)
}

// utcDays returns the UTC day-of-month and day-of-week sets for local
// days shifted by each of shifts (in days). At most one of the two is
// restricted, because ActiveMQ mixes them up when both are.
func (r *dayRule) utcDays(shifts map[int]bool) (dom, dow uint64) {
	domRestricted := r.dom != allDom
	dowRestricted := r.dow&allDow != allDow

	// Vixie's OR of two fields is a union of days that no product of the
	// two fields covers (and a full field makes every day match).
	if r.or || (!domRestricted && !dowRestricted) {
		return allDom, allDow
	}

	var weekdays uint64
	if dowRestricted {
		w := r.dow | r.dowLast
		for _, x := range r.dowNth {
			w |= 1 << uint(x.weekday)
		}
		for s := range shifts {
			weekdays |= rotateWeek(w&allDow, s)
		}
	}
	var days uint64
	if domRestricted {
		days = r.utcDom(shifts)
	}

	// Both restricted means both must match: either field alone is a
	// superset, so keep the one with fewer days per month.
	switch {
	case !domRestricted:
		return allDom, weekdays
	case !dowRestricted || popcount(days)*7 <= popcount(weekdays)*31:
		return days, allDow
	}
	return allDom, weekdays
}

// domSafety are the days that every restricted day-of-month list for
// ActiveMQ includes. The broker advances from day c to the next listed
// day v by adding v-c days. If v passes the end of a short month by more
// than one day, the next month's first days are skipped, and listing 28
// and 29 prevents that. From a day after the last listed one it adds
// 30+first-c days whatever the month's length. That lands late after
// February, and from the 31st to a list starting with 1 it adds nothing
// and throws. Listing 31 means it never wraps.
const domSafety = 1<<28 | 1<<29 | 1<<31

// utcDom returns the UTC days of month for a restricted day-of-month.
func (r *dayRule) utcDom(shifts map[int]bool) uint64 {
	local := r.dom
	if len(r.domLast) > 0 || r.domLastWeekday {
		local |= 0xf << 28 // the last day is 28-31; L-n and LW come below
	}
	for _, n := range r.domLast {
		for dim := 28; dim <= 31; dim++ {
			if d := dim - n; d >= 1 {
				local |= 1 << uint(d)
			}
		}
	}
	if r.domLastWeekday {
		local |= 0x3f << 26 // 26-31
	}
	for _, n := range r.domNearest {
		for d := n - 2; d <= n+2; d++ {
			if d >= 1 && d <= 31 {
				local |= 1 << uint(d)
			}
		}
	}

	out := uint64(domSafety)
	for s := range shifts {
		for d := 1; d <= 31; d++ {
			if local&(1<<uint(d)) == 0 {
				continue
			}
			switch {
			case s == 0:
				out |= 1 << uint(d)
			case s < 0 && d > 1:
				out |= 1 << uint(d-1)
			case s < 0: // the previous month's last day: 28-31, already in
			case d < 28:
				out |= 1 << uint(d+1)
			default: // d may be the last day, so the next day may be the 1st
				out |= 1<<uint(min(d+1, 31)) | 1<<1
			}
		}
	}
	return out & allDom
}

// rotateWeek shifts a weekday set by s days.
func rotateWeek(w uint64, s int) uint64 {
	s = ((s % 7) + 7) % 7
	return (w<<uint(s) | w>>uint(7-s)) & allDow
}

// shiftMonths returns the UTC months for local months when fires may move
// by the given day shifts: a shift can cross into the neighbouring month.
func shiftMonths(months uint64, shifts map[int]bool) uint64 {
	out := months & allMonths
	for m := 1; m <= 12; m++ {
		if months&(1<<uint(m)) == 0 {
			continue
		}
		if shifts[-1] {
			out |= 1 << uint((m+10)%12+1)
		}
		if shifts[1] {
			out |= 1 << uint(m%12+1)
		}
	}
	return out
}

// Waste returns the broker's wake-ups per true fire for a job sent at
// from, over (from, from+span]. It is 1 for rate(...) and at(...) and may
// be far above 1 for a cron that the broker cannot express. When no fire
// falls in the span it returns the number of wake-ups.
func (s *Spec) Waste(from time.Time, span time.Duration) float64 {
	until := from.Add(span)
	fires := 0
	for t, ok := s.Next(from); ok && !t.After(until); t, ok = s.Next(t) {
		fires++
	}
	if s.kind != kindCron {
		return min(float64(fires), 1)
	}
	form, err := s.Broker(from, 0)
	if err != nil {
		return 0
	}
	wakes, err := amqFires(form.Cron, from, until.UnixMilli(), 1<<30)
	if err != nil {
		return 0
	}
	return float64(len(wakes)) / float64(max(fires, 1))
}
