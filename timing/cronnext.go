package timing

import (
	"math/bits"
	"time"
)

// next returns the first fire of c in loc strictly after `after`.
func (c *cronSpec) next(after time.Time, loc *time.Location) (time.Time, bool) {
	aw := wallOf(after, loc)
	// Start one day early: near an offset change, a fire of the previous
	// wall date can come after `after`.
	day := time.Date(aw.Year(), aw.Month(), aw.Day()-1, 0, 0, 0, 0, time.UTC)
	afterDay := time.Date(aw.Year(), aw.Month(), aw.Day(), 0, 0, 0, 0, time.UTC)

	for day.Year() <= MaxYear {
		y, m, d := day.Date()
		switch {
		case !c.yearOK(y):
			day = time.Date(y+1, 1, 1, 0, 0, 0, 0, time.UTC)
			continue
		case c.months&(1<<uint(m)) == 0:
			day = time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC)
			continue
		case !c.days.matches(d, int(day.Weekday()), daysIn(y, m)):
			day = day.AddDate(0, 0, 1)
			continue
		}

		noon := day.Add(12 * time.Hour)
		if off, ok := uniformOffset(noon, loc); ok {
			if day.Before(afterDay) {
				// A uniform day before after's wall date ends before after.
				day = day.AddDate(0, 0, 1)
				continue
			}
			if t, ok := c.firstOnUniformDay(day, off, day.Equal(afterDay), aw); ok {
				return t, true
			}
			day = day.AddDate(0, 0, 1)
			continue
		}

		// Near an offset change the fires of one wall date are not in wall
		// order, and those of the next date can come earlier; take the
		// earliest fire of this date and the next matching one.
		if t, ok := c.firstOnDay(day, after, loc); ok {
			next := day.AddDate(0, 0, 1)
			ny, nm, nd := next.Date()
			if c.yearOK(ny) && c.months&(1<<uint(nm)) != 0 &&
				c.days.matches(nd, int(next.Weekday()), daysIn(ny, nm)) {
				if t2, ok := c.firstOnDay(next, after, loc); ok && t2.Before(t) {
					t = t2
				}
			}
			return t, true
		}
		day = day.AddDate(0, 0, 1)
	}
	return time.Time{}, false
}

// firstOnUniformDay returns the first fire on a day whose offset is off
// throughout. When sameDay is set, only wall times after aw count.
func (c *cronSpec) firstOnUniformDay(day wallTime, off int, sameDay bool, aw wallTime) (time.Time, bool) {
	h, mi := 0, 0
	if sameDay {
		// Fires are at whole minutes, so the first candidate is the minute
		// after aw's minute.
		h, mi = aw.Hour(), aw.Minute()+1
		if mi == 60 {
			h, mi = h+1, 0
		}
	}
	for ; h < 24; h, mi = h+1, 0 {
		if c.hours&(1<<uint(h)) == 0 {
			continue
		}
		rest := c.minutes >> uint(mi) << uint(mi)
		if rest == 0 {
			continue
		}
		m := bits.TrailingZeros64(rest)
		w := day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
		return w.Add(-time.Duration(off) * time.Second), true
	}
	return time.Time{}, false
}

// firstOnDay returns the earliest fire of wall date day that is after
// `after`, resolving each wall time with the zone's rules.
func (c *cronSpec) firstOnDay(day wallTime, after time.Time, loc *time.Location) (time.Time, bool) {
	var best time.Time
	found := false
	consider := func(t time.Time) {
		if t.After(after) && (!found || t.Before(best)) {
			best, found = t, true
		}
	}
	zone := newZoneWindow(loc, day.Add(-margin), day.Add(24*time.Hour+margin))
	for h := 0; h < 24; h++ {
		if c.hours&(1<<uint(h)) == 0 {
			continue
		}
		for m := 0; m < 60; m++ {
			if c.minutes&(1<<uint(m)) == 0 {
				continue
			}
			w := day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
			instants, gapEnd := zone.resolve(w)
			switch {
			case c.realTime:
				// Every occurrence fires; a wall time in a gap does not.
				for _, t := range instants {
					consider(t)
				}
			case len(instants) > 0:
				consider(instants[0])
			default:
				consider(gapEnd)
			}
		}
	}
	return best, found
}

// daysIn returns the number of days in month m of year y.
func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
