package timing

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

// randomVixie returns a random five-field cron that robfig/cron reads the
// same way as Vixie cron: day-of-week without 7, and no day field that
// starts with '*' unless it is '*' (robfig applies OR to "*/2" where Vixie
// applies AND).
func randomVixie(r *rand.Rand) string {
	field := func(lo, hi int, names []string, dayField bool) string {
		term := func() string {
			a := lo + r.IntN(hi-lo+1)
			b := a + r.IntN(hi-a+1)
			s := 1 + r.IntN(max(1, (hi-lo)/2))
			value := func(v int) string {
				if names != nil && r.IntN(3) == 0 {
					return names[v-lo]
				}
				return fmt.Sprint(v)
			}
			switch r.IntN(6) {
			case 0:
				return value(a)
			case 1:
				return value(a) + "-" + value(b)
			case 2:
				if dayField {
					return value(a) + "/" + fmt.Sprint(s)
				}
				return "*/" + fmt.Sprint(s)
			case 3:
				return fmt.Sprint(a) + "-" + fmt.Sprint(b) + "/" + fmt.Sprint(s)
			case 4:
				return fmt.Sprint(a) + "/" + fmt.Sprint(s)
			}
			return value(a)
		}
		switch r.IntN(4) {
		case 0:
			return "*"
		case 1:
			return term() + "," + term()
		}
		return term()
	}
	months := []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}
	days := []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}
	return strings.Join([]string{
		field(0, 59, nil, false),
		field(0, 23, nil, false),
		field(1, 31, nil, true),
		field(1, 12, months, false),
		field(0, 6, days, true),
	}, " ")
}

// robfig/cron/v3 follows wall time through offset changes differently, so
// the comparison uses zones without daylight saving time since 1945.
func TestSpec_NextMatchesRobfig(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	zones := []string{"UTC", "Asia/Kolkata", "Asia/Tokyo", "Asia/Kathmandu"}
	compared := 0
	for i := 0; i < 3000 && compared < 1000; i++ {
		expr := randomVixie(r)
		zone := zones[i%len(zones)]
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		want, err := cron.ParseStandard(expr)
		if err != nil {
			continue // robfig rejects some forms that Vixie accepts, such as "5/10"
		}
		got, err := Parse(expr, Options{Timezone: zone})
		if err != nil {
			if strings.Contains(err.Error(), "never fires") {
				continue
			}
			t.Errorf("Parse(%q): %v; robfig/cron accepts it", expr, err)
			continue
		}
		compared++

		after := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(365*24*60)) * time.Minute).In(loc)
		a, b := after, after
		for n := 0; n < 40; n++ {
			a = want.Next(a)
			var ok bool
			b, ok = got.Next(b)
			if a.IsZero() || !ok {
				if a.IsZero() != !ok {
					t.Errorf("%q in %s: robfig next %v, ours %v (found %v)", expr, zone, a, b, ok)
				}
				break
			}
			if !a.Equal(b) {
				t.Errorf("%q in %s after %s, fire %d: robfig %s, ours %s",
					expr, zone, after.Format(time.RFC3339), n, a.Format(time.RFC3339), b.Format(time.RFC3339))
				break
			}
		}
	}
	if compared < 1000 {
		t.Errorf("compared %d expressions, want 1000", compared)
	}
}
