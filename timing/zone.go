package timing

import (
	"sort"
	"time"
)

// margin is wider than any UTC offset, so that a window of ±margin around
// a wall time contains every instant at which that wall time can occur.
const margin = 30 * time.Hour

// wallTime is a local date and clock reading, stored as if it were UTC.
type wallTime = time.Time

// wall returns the wall time y-m-d h:mi as a wallTime.
func wall(y int, m time.Month, d, h, mi int) wallTime {
	return time.Date(y, m, d, h, mi, 0, 0, time.UTC)
}

// wallOf returns the wall time of instant t in loc.
func wallOf(t time.Time, loc *time.Location) wallTime {
	l := t.In(loc)
	y, m, d := l.Date()
	return time.Date(y, m, d, l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// offsetAt returns the UTC offset of loc at instant t, in seconds.
func offsetAt(t time.Time, loc *time.Location) int {
	_, off := t.In(loc).Zone()
	return off
}

// transition is a change of UTC offset at instant at.
type transition struct {
	at            time.Time
	before, after int // offsets in seconds
}

// transitions returns the offset changes of loc in [from, to], and the
// offsets in effect at any instant in that interval.
func transitions(loc *time.Location, from, to time.Time) ([]transition, []int) {
	offsets := []int{offsetAt(from, loc)}
	var out []transition
	t := from
	for {
		end, ok := nextBound(t, loc)
		if !ok || end.After(to) {
			break
		}
		end = end.UTC()
		before, after := offsetAt(end.Add(-time.Second), loc), offsetAt(end, loc)
		if before != after {
			out = append(out, transition{at: end, before: before, after: after})
			if !containsInt(offsets, after) {
				offsets = append(offsets, after)
			}
		}
		t = end
	}
	return out, offsets
}

// nextBound returns the first zone period boundary of loc after t.
func nextBound(t time.Time, loc *time.Location) (time.Time, bool) {
	for {
		_, end := t.In(loc).ZoneBounds()
		if end.IsZero() {
			return time.Time{}, false
		}
		if end.After(t) {
			return end, true
		}
		// NOTE: Go 1.26's ZoneBounds returns an empty period at some year
		// ends in the range computed from the zone's POSIX rule (Berlin,
		// 2040-12-31); step past it.
		t = t.Add(time.Hour)
	}
}

// uniformOffset returns the offset of loc when it is constant over
// [w-margin, w+margin] around wall time w, so that every wall time of that
// day maps to exactly one instant.
func uniformOffset(w wallTime, loc *time.Location) (int, bool) {
	start, end := w.In(loc).ZoneBounds()
	lo, hi := w.Add(-margin), w.Add(margin)
	if (start.IsZero() || start.Before(lo)) && (end.IsZero() || end.After(hi)) {
		off := offsetAt(w, loc)
		if offsetAt(lo, loc) == off && offsetAt(hi, loc) == off {
			return off, true
		}
	}
	return 0, false
}

// zoneWindow is the offsets of a zone over a window of a few days, so
// that resolving many wall times needs no Location lookups.
type zoneWindow struct {
	first   int          // offset at the window's start
	trans   []transition // offset changes in the window
	offsets []int        // every offset in the window
}

// newZoneWindow returns the zone's offsets over [from, to].
func newZoneWindow(loc *time.Location, from, to time.Time) *zoneWindow {
	trans, offsets := transitions(loc, from, to)
	return &zoneWindow{first: offsetAt(from, loc), trans: trans, offsets: offsets}
}

func (z *zoneWindow) offsetAt(t time.Time) int {
	off := z.first
	for _, tr := range z.trans {
		if !t.Before(tr.at) {
			off = tr.after
		}
	}
	return off
}

// resolve returns the instants at which wall time w occurs in loc, in
// order: one normally, two in a repeated hour, none in a gap. For a wall
// time in a gap, gapEnd is the first instant after the gap.
func resolve(w wallTime, loc *time.Location) (instants []time.Time, gapEnd time.Time) {
	if off, ok := uniformOffset(w, loc); ok {
		return []time.Time{w.Add(-time.Duration(off) * time.Second)}, time.Time{}
	}
	return newZoneWindow(loc, w.Add(-margin), w.Add(margin)).resolve(w)
}

// resolve resolves wall time w, which must lie within 14 hours of the
// window.
func (z *zoneWindow) resolve(w wallTime) (instants []time.Time, gapEnd time.Time) {
	for _, off := range z.offsets {
		t := w.Add(-time.Duration(off) * time.Second)
		if z.offsetAt(t) == off && !containsTime(instants, t) {
			instants = append(instants, t)
		}
	}
	if len(instants) > 0 {
		sort.Slice(instants, func(i, j int) bool { return instants[i].Before(instants[j]) })
		return instants, time.Time{}
	}
	for _, tr := range z.trans {
		gapStart := tr.at.Add(time.Duration(tr.before) * time.Second)
		gapStop := tr.at.Add(time.Duration(tr.after) * time.Second)
		if !w.Before(gapStart) && w.Before(gapStop) {
			return nil, tr.at
		}
	}
	// Unreachable with consistent zone data: every wall time either
	// occurs or lies in a gap.
	return nil, w.Add(-time.Duration(z.first) * time.Second)
}

// wallInstant returns the instant of a wall time under the "once per wall
// time" rule: its first occurrence, or the first instant after the gap.
func wallInstant(w wallTime, loc *time.Location) time.Time {
	instants, gapEnd := resolve(w, loc)
	if len(instants) > 0 {
		return instants[0]
	}
	return gapEnd
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func containsTime(xs []time.Time, x time.Time) bool {
	for _, v := range xs {
		if v.Equal(x) {
			return true
		}
	}
	return false
}
