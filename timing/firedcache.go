package timing

import (
	"sync"
	"time"
)

// firedCacheSize bounds the memoized field sets; the cache is emptied
// when it is full. Schedules of many users share few expressions (a daily
// time in a handful of zones), so a small cache serves most creates.
const firedCacheSize = 4096

type firedKey struct {
	expression, zone string
	start, end       int64 // Unix ms, 0 when unbounded
	day              int64 // Unix day of the send instant
}

type firedValue struct {
	fields amqFields
	ok     bool
}

var firedCache struct {
	sync.Mutex
	m map[firedKey]firedValue
}

// cachedFiredFields returns firedFields computed from the start of now's
// UTC day, memoized per expression, zone, window and day. Starting at the
// day's start covers every fire after now and only adds fires of the same
// expression earlier that day, so the result stays a superset.
func (s *Spec) cachedFiredFields(now time.Time) (amqFields, bool) {
	day := now.UTC().Truncate(24 * time.Hour)
	key := firedKey{expression: s.expression, zone: s.loc.String(), day: day.Unix() / 86400}
	if s.start != nil {
		key.start = s.start.UnixMilli()
	}
	if s.end != nil {
		key.end = s.end.UnixMilli()
	}

	firedCache.Lock()
	v, hit := firedCache.m[key]
	firedCache.Unlock()
	if hit {
		return v.fields, v.ok
	}
	fields, ok := s.firedFields(day)
	firedCache.Lock()
	if firedCache.m == nil || len(firedCache.m) >= firedCacheSize {
		firedCache.m = make(map[firedKey]firedValue)
	}
	firedCache.m[key] = firedValue{fields, ok}
	firedCache.Unlock()
	return fields, ok
}
