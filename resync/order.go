package resync

import (
	"sort"

	"github.com/mqcron/mqcron/schedule"
)

// sortedEnabled returns the enabled schedules ordered by id, so that the
// progress output of two runs can be compared.
func sortedEnabled(m map[string]*schedule.Schedule) []*schedule.Schedule {
	var out []*schedule.Schedule
	for _, s := range m {
		if s.State == schedule.StateEnabled {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
