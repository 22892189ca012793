package timing

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mqcron/mqcron/schedule"
)

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustParse(t testing.TB, expr string, o Options) *Spec {
	t.Helper()
	s, err := Parse(expr, o)
	if err != nil {
		t.Fatalf("Parse(%q): %v", expr, err)
	}
	return s
}

// Each vector was checked by hand against a calendar and the zone's
// published offset changes: Europe/Berlin 2026-03-29 02:00 CET -> 03:00
// CEST and 2026-10-25 03:00 CEST -> 02:00 CET; America/New_York
// 2026-03-08 02:00 EST -> 03:00 EDT and 2026-11-01 02:00 EDT -> 01:00 EST;
// Australia/Lord_Howe 2026-04-05 02:00 +11 -> 01:30 +10:30 and 2026-10-04
// 02:00 +10:30 -> 02:30 +11; Asia/Kolkata +05:30 all year.
func TestSpec_Fires(t *testing.T) {
	tests := []struct {
		name  string
		expr  string
		zone  string
		after string
		want  []string
	}{
		// Europe/Berlin
		{"BerlinGapFiresAtGapEnd", "cron(30 2 * * ? *)", "Europe/Berlin", "2026-03-28T00:00:00Z",
			[]string{"2026-03-28T02:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"}},
		{"BerlinGapManyWallTimesFireOnce", "*/30 2 * * *", "Europe/Berlin", "2026-03-28T23:00:00Z",
			[]string{"2026-03-29T03:00:00+02:00", "2026-03-30T02:00:00+02:00", "2026-03-30T02:30:00+02:00"}},
		{"BerlinRepeatedFiresFirstPass", "30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z",
			[]string{"2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"}},
		{"BerlinHourStarBothPasses", "30 * * * *", "Europe/Berlin", "2026-10-24T23:00:00Z",
			[]string{"2026-10-25T01:30:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00", "2026-10-25T03:30:00+01:00"}},
		{"BerlinHourStarSkipsGap", "15 * * * *", "Europe/Berlin", "2026-03-29T00:00:00Z",
			[]string{"2026-03-29T01:15:00+01:00", "2026-03-29T03:15:00+02:00", "2026-03-29T04:15:00+02:00"}},
		{"BerlinDaily", "cron(0 9 * * ? *)", "Europe/Berlin", "2026-03-28T12:00:00Z",
			[]string{"2026-03-29T09:00:00+02:00", "2026-03-30T09:00:00+02:00"}},

		// America/New_York
		{"NewYorkGap", "0 2 * * *", "America/New_York", "2026-03-07T12:00:00Z",
			[]string{"2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00"}},
		{"NewYorkRepeatedFirstPass", "30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z",
			[]string{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}},
		{"NewYorkHourlyBothPasses", "0 * * * *", "America/New_York", "2026-11-01T04:30:00Z",
			[]string{"2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T02:00:00-05:00"}},
		{"NewYorkWeekdays", "0 9 * * MON-FRI", "America/New_York", "2026-03-06T15:00:00Z",
			[]string{"2026-03-09T09:00:00-04:00", "2026-03-10T09:00:00-04:00"}},

		// Australia/Lord_Howe: a 30-minute shift
		{"LordHoweHourlySkipsGap", "0 * * * *", "Australia/Lord_Howe", "2026-10-03T13:00:00Z",
			[]string{"2026-10-04T00:00:00+10:30", "2026-10-04T01:00:00+10:30", "2026-10-04T03:00:00+11:00"}},
		{"LordHoweGap", "cron(15 2 * * ? *)", "Australia/Lord_Howe", "2026-10-03T14:00:00Z",
			[]string{"2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00"}},
		{"LordHoweRepeatedFirstPass", "45 1 * * *", "Australia/Lord_Howe", "2026-04-04T12:00:00Z",
			[]string{"2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"}},
		{"LordHoweHalfHourBothPasses", "*/30 * * * *", "Australia/Lord_Howe", "2026-04-04T14:00:00Z",
			[]string{"2026-04-05T01:30:00+11:00", "2026-04-05T01:30:00+10:30", "2026-04-05T02:00:00+10:30"}},

		// Asia/Kolkata
		{"KolkataWeekdays", "0 9 * * 1-5", "Asia/Kolkata", "2026-01-02T00:00:00Z",
			[]string{"2026-01-02T09:00:00+05:30", "2026-01-05T09:00:00+05:30"}},
		{"KolkataLastDayOfFebruary", "cron(0 0 L 2 ? *)", "Asia/Kolkata", "2027-01-01T00:00:00Z",
			[]string{"2027-02-28T00:00:00+05:30", "2028-02-29T00:00:00+05:30"}},
		{"KolkataHourly", "@hourly", "Asia/Kolkata", "2026-01-01T00:00:00Z",
			[]string{"2026-01-01T06:00:00+05:30", "2026-01-01T07:00:00+05:30"}},

		// Leap years and month ends
		{"LeapDay", "0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z",
			[]string{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
		{"LastDay", "cron(0 12 L * ? *)", "UTC", "2028-01-15T00:00:00Z",
			[]string{"2028-01-31T12:00:00Z", "2028-02-29T12:00:00Z", "2028-03-31T12:00:00Z", "2028-04-30T12:00:00Z"}},
		{"Day31", "0 0 31 * *", "UTC", "2026-01-01T00:00:00Z",
			[]string{"2026-01-31T00:00:00Z", "2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z"}},
		{"LastWeekday", "cron(0 9 LW * ? *)", "UTC", "2026-01-01T00:00:00Z",
			[]string{"2026-01-30T09:00:00Z", "2026-02-27T09:00:00Z", "2026-03-31T09:00:00Z", "2026-04-30T09:00:00Z", "2026-05-29T09:00:00Z"}},
		{"NearestWeekdayStaysInMonth", "cron(0 9 1W * ? *)", "UTC", "2026-01-15T00:00:00Z",
			[]string{"2026-02-02T09:00:00Z", "2026-03-02T09:00:00Z", "2026-04-01T09:00:00Z"}},
		{"NearestWeekdaySaturday", "cron(0 9 15W * ? *)", "UTC", "2026-08-01T00:00:00Z",
			[]string{"2026-08-14T09:00:00Z", "2026-09-15T09:00:00Z"}},
		{"LastMinus2", "cron(0 8 L-2 * ? *)", "UTC", "2026-01-01T00:00:00Z",
			[]string{"2026-01-29T08:00:00Z", "2026-02-26T08:00:00Z", "2026-03-29T08:00:00Z"}},
		{"ThirdFriday", "cron(0 10 ? * 6#3 *)", "UTC", "2026-01-01T00:00:00Z",
			[]string{"2026-01-16T10:00:00Z", "2026-02-20T10:00:00Z", "2026-03-20T10:00:00Z"}},
		{"LastFriday", "cron(15 10 ? * 6L *)", "UTC", "2026-01-01T00:00:00Z",
			[]string{"2026-01-30T10:15:00Z", "2026-02-27T10:15:00Z", "2026-03-27T10:15:00Z"}},
		{"SecondMondayByName", "cron(0 9 ? * MON#2 *)", "UTC", "2026-01-01T00:00:00Z",
			[]string{"2026-01-12T09:00:00Z", "2026-02-09T09:00:00Z"}},
		{"SaturdayAsL", "cron(0 0 ? * L *)", "UTC", "2026-01-01T00:00:00Z",
			[]string{"2026-01-03T00:00:00Z", "2026-01-10T00:00:00Z"}},
		{"YearList", "cron(0 10 1 1 ? 2027,2029)", "UTC", "2026-01-01T00:00:00Z",
			[]string{"2027-01-01T10:00:00Z", "2029-01-01T10:00:00Z"}},
		{"EventBridgeSundayIsOne", "cron(0 12 ? * 1 *)", "UTC", "2026-01-01T00:00:00Z",
			[]string{"2026-01-04T12:00:00Z", "2026-01-11T12:00:00Z"}},
		{"EventBridgeStepFromZero", "cron(0/20 8 * * ? *)", "UTC", "2026-01-01T00:00:00Z",
			[]string{"2026-01-01T08:00:00Z", "2026-01-01T08:20:00Z", "2026-01-01T08:40:00Z", "2026-01-02T08:00:00Z"}},

		// Vixie specifics
		{"VixieDomOrDow", "0 0 13 * 5", "UTC", "2026-02-01T00:00:00Z",
			[]string{"2026-02-06T00:00:00Z", "2026-02-13T00:00:00Z", "2026-02-20T00:00:00Z", "2026-02-27T00:00:00Z", "2026-03-06T00:00:00Z", "2026-03-13T00:00:00Z"}},
		{"VixieFirstOrMonday", "0 0 1 * 1", "UTC", "2026-05-30T00:00:00Z",
			[]string{"2026-06-01T00:00:00Z", "2026-06-08T00:00:00Z", "2026-06-15T00:00:00Z"}},
		{"VixieStarStepDomIsAnd", "0 0 */2 * 1", "UTC", "2026-01-01T00:00:00Z",
			[]string{"2026-01-05T00:00:00Z", "2026-01-19T00:00:00Z", "2026-02-09T00:00:00Z", "2026-02-23T00:00:00Z"}},
		{"VixieStepWithOffset", "5-59/20 * * * *", "UTC", "2026-01-01T10:00:00Z",
			[]string{"2026-01-01T10:05:00Z", "2026-01-01T10:25:00Z", "2026-01-01T10:45:00Z", "2026-01-01T11:05:00Z"}},
		{"VixieStartStep", "3/15 * * * *", "UTC", "2026-01-01T10:00:00Z",
			[]string{"2026-01-01T10:03:00Z", "2026-01-01T10:18:00Z", "2026-01-01T10:33:00Z", "2026-01-01T10:48:00Z"}},
		{"VixieSevenIsSunday", "0 0 * * 7", "UTC", "2026-01-01T00:00:00Z",
			[]string{"2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"}},
		{"VixieOddDays", "0 9 */2 * *", "UTC", "2026-01-30T00:00:00Z",
			[]string{"2026-01-31T09:00:00Z", "2026-02-01T09:00:00Z", "2026-02-03T09:00:00Z"}},
		{"VixieNamesAnyCase", "30 8 * jan-feb mon", "UTC", "2026-01-01T00:00:00Z",
			[]string{"2026-01-05T08:30:00Z", "2026-01-12T08:30:00Z"}},
		{"Weekly", "@weekly", "UTC", "2026-01-01T00:00:00Z",
			[]string{"2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"}},
		{"Yearly", "@yearly", "Europe/Berlin", "2026-01-01T00:00:00Z",
			[]string{"2027-01-01T00:00:00+01:00", "2028-01-01T00:00:00+01:00"}},

		// at(...)
		{"AtInGap", "at(2026-03-29T02:30:00)", "Europe/Berlin", "2026-01-01T00:00:00Z",
			[]string{"2026-03-29T03:00:00+02:00"}},
		{"AtRepeatedFirstPass", "at(2026-10-25T02:30:00)", "Europe/Berlin", "2026-01-01T00:00:00Z",
			[]string{"2026-10-25T02:30:00+02:00"}},
		{"AtKolkata", "at(2026-06-01T09:15:30)", "Asia/Kolkata", "2026-01-01T00:00:00Z",
			[]string{"2026-06-01T09:15:30+05:30"}},
		{"AtPassed", "at(2026-06-01T09:15:30)", "UTC", "2026-06-01T09:15:30Z", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, tt.expr, Options{Timezone: tt.zone})
			got := FormatFires(s.Fires(mustTime(t, tt.after), len(tt.want)+1))
			// Schedules that run out have no fire after the listed ones.
			if len(got) > len(tt.want) && !s.OneTime() && !strings.Contains(tt.expr, "2027,2029") {
				got = got[:len(tt.want)]
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Fires(%q in %s after %s):\n got %v\nwant %v", tt.expr, tt.zone, tt.after, got, tt.want)
			}
		})
	}
}

func TestSpec_FiresRate(t *testing.T) {
	anchor := mustTime(t, "2026-01-01T00:00:10Z")
	start := mustTime(t, "2026-01-01T09:00:00Z")
	end := mustTime(t, "2026-01-01T09:10:00Z")
	tests := []struct {
		name  string
		expr  string
		o     Options
		after string
		n     int
		want  []string
	}{
		{"AnchorExcluded", "rate(5 minutes)", Options{Anchor: anchor}, "2026-01-01T00:00:00Z", 2,
			[]string{"2026-01-01T00:05:10Z", "2026-01-01T00:10:10Z"}},
		{"AfterInPeriod", "rate(5 minutes)", Options{Anchor: anchor}, "2026-01-01T00:07:00Z", 1,
			[]string{"2026-01-01T00:10:10Z"}},
		{"StartIncluded", "rate(5 minutes)", Options{Anchor: anchor, Start: &start}, "2026-01-01T00:00:00Z", 1,
			[]string{"2026-01-01T09:00:00Z"}},
		{"EndInclusive", "rate(5 minutes)", Options{Start: &start, End: &end}, "2026-01-01T00:00:00Z", 5,
			[]string{"2026-01-01T09:00:00Z", "2026-01-01T09:05:00Z", "2026-01-01T09:10:00Z"}},
		{"DayIs24HoursAcrossDST", "rate(1 day)", Options{Timezone: "Europe/Berlin", Anchor: mustTime(t, "2026-03-28T08:00:00Z")},
			"2026-03-28T08:00:00Z", 2, []string{"2026-03-29T10:00:00+02:00", "2026-03-30T10:00:00+02:00"}},
		{"Seconds", "rate(1 second)", Options{Anchor: anchor}, "2026-01-01T00:00:10Z", 2,
			[]string{"2026-01-01T00:00:11Z", "2026-01-01T00:00:12Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, tt.expr, tt.o)
			got := FormatFires(s.Fires(mustTime(t, tt.after), tt.n))
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSpec_FiresWindow(t *testing.T) {
	start := mustTime(t, "2026-01-05T00:00:00Z")
	end := mustTime(t, "2026-01-07T09:00:00Z")
	s := mustParse(t, "0 9 * * *", Options{Start: &start, End: &end})
	got := FormatFires(s.Fires(mustTime(t, "2026-01-01T00:00:00Z"), 10))
	want := []string{"2026-01-05T09:00:00Z", "2026-01-06T09:00:00Z", "2026-01-07T09:00:00Z"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, ok := s.Next(end); ok {
		t.Errorf("Next(end) found a fire after the end date")
	}
}

func TestParse_Errors(t *testing.T) {
	anchor := mustTime(t, "2026-01-01T00:00:00Z")
	late := mustTime(t, "2026-02-01T00:00:00Z")
	early := mustTime(t, "2026-01-01T00:00:00Z")
	far := mustTime(t, "2300-01-01T00:00:00Z")
	tests := []struct {
		name    string
		expr    string
		o       Options
		pointer string
		want    string // part of the message
	}{
		{"Empty", "", Options{}, PointerExpression, "missing schedule expression"},
		{"MinuteOutOfRange", "60 * * * *", Options{}, PointerExpression, `minutes field "60": 60 is out of range (allowed 0-59)`},
		{"HourOutOfRange", "0 24 * * *", Options{}, PointerExpression, `hours field "24": 24 is out of range (allowed 0-23)`},
		{"DayOutOfRange", "0 0 32 * *", Options{}, PointerExpression, `day-of-month field "32"`},
		{"StepZero", "*/0 * * * *", Options{}, PointerExpression, "step 0 is out of range"},
		{"BackwardsRange", "0 0 * * FRI-MON", Options{}, PointerExpression, "runs backwards"},
		{"UnknownName", "0 0 * * FUN", Options{}, PointerExpression, `"FUN" is not a valid value`},
		{"Vixie8", "0 0 * * 8", Options{}, PointerExpression, "8 is out of range (allowed 0-7)"},
		{"VixieL", "0 0 L * *", Options{}, PointerExpression, "belong to the EventBridge form"},
		{"FourFields", "0 0 * *", Options{}, PointerExpression, "cron has 4 fields, expected 5"},
		{"SixFieldsPlain", "0 0 * * ? *", Options{}, PointerExpression, "must be written as cron("},
		{"UnknownMacro", "@reboot", Options{}, PointerExpression, "unknown macro"},
		{"EventBridgeBothSet", "cron(0 0 * * * *)", Options{}, PointerExpression, "one of them must be '?'"},
		{"EventBridgeBothQuestion", "cron(0 0 ? * ? *)", Options{}, PointerExpression, "both '?'"},
		{"EventBridgeFiveFields", "cron(0 0 * * ?)", Options{}, PointerExpression, "has 5 fields, expected 6"},
		{"EventBridgeDow0", "cron(0 0 ? * 0 *)", Options{}, PointerExpression, "0 is out of range (allowed 1-7)"},
		{"EventBridgeYear", "cron(0 0 * * ? 2200)", Options{}, PointerExpression, "2200 is out of range (allowed 1970-2199)"},
		{"EventBridgeNth6", "cron(0 0 ? * 2#6 *)", Options{}, PointerExpression, "k between 1 and 5"},
		{"EventBridgeUnclosed", "cron(0 0 * * ? *", Options{}, PointerExpression, "cron(minutes hours"},
		{"LInHours", "cron(0 L * * ? *)", Options{}, PointerExpression, "only in day-of-month and day-of-week"},
		{"NeverFires", "0 0 30 2 *", Options{}, PointerExpression, "never fires"},
		{"PastYears", "cron(0 0 * * ? 2025)", Options{Start: &early}, PointerExpression, "never fires between"},
		{"RateZero", "rate(0 minutes)", Options{Anchor: anchor}, PointerExpression, "not a positive whole number"},
		{"RatePluralOne", "rate(1 minutes)", Options{Anchor: anchor}, PointerExpression, `singular unit "minute"`},
		{"RateSingularMany", "rate(5 minute)", Options{Anchor: anchor}, PointerExpression, `plural unit "minutes"`},
		{"RateUnit", "rate(5 weeks)", Options{Anchor: anchor}, PointerExpression, "unknown rate unit"},
		{"RateTooLong", "rate(4000 days)", Options{Anchor: anchor}, PointerExpression, "out of range"},
		{"AtBadFormat", "at(2026-01-01 10:00)", Options{}, PointerExpression, "yyyy-mm-ddThh:mm:ss"},
		{"AtWithOffset", "at(2026-01-01T10:00:00Z)", Options{}, PointerExpression, "yyyy-mm-ddThh:mm:ss"},
		{"AtBeforeStart", "at(2026-01-01T10:00:00)", Options{Start: &late}, PointerExpression, "never fires between"},
		{"Zone", "@daily", Options{Timezone: "Mars/Olympus"}, PointerTimezone, `invalid time zone "Mars/Olympus"`},
		{"ZoneLocal", "@daily", Options{Timezone: "Local"}, PointerTimezone, `invalid time zone "Local"`},
		{"EndBeforeStart", "@daily", Options{Start: &late, End: &early}, PointerEndDate, "must be after startDate"},
		{"StartYear", "@daily", Options{Start: &far}, PointerStartDate, "between 1970 and 2199"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.expr, tt.o)
			var ve *schedule.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse(%q) error = %v, want a *schedule.ValidationError", tt.expr, err)
			}
			if len(ve.Fields) != 1 {
				t.Fatalf("got %d field errors, want 1: %v", len(ve.Fields), ve)
			}
			if got := ve.Fields[0].Pointer; got != tt.pointer {
				t.Errorf("pointer = %q, want %q", got, tt.pointer)
			}
			msg := ve.Fields[0].Message
			if !strings.Contains(msg, tt.want) {
				t.Errorf("message = %q, want it to contain %q", msg, tt.want)
			}
			if tt.pointer == PointerExpression && tt.expr != "" && !strings.Contains(msg, `"`+tt.expr+`"`) {
				t.Errorf("message = %q, want it to quote the expression", msg)
			}
		})
	}
}

func TestParse_RateNeedsAnchor(t *testing.T) {
	_, err := Parse("rate(5 minutes)", Options{})
	if err == nil {
		t.Fatal("Parse without Anchor or Start: got nil error")
	}
	var ve *schedule.ValidationError
	if errors.As(err, &ve) {
		t.Errorf("got a validation error %v; a missing anchor is the caller's mistake", err)
	}
}

func TestSpec_Match(t *testing.T) {
	berlin := mustParse(t, "30 2 * * *", Options{Timezone: "Europe/Berlin"})
	anchor := mustTime(t, "2026-01-01T00:00:10.250Z")
	rate := mustParse(t, "rate(1 minute)", Options{Anchor: anchor})
	seconds := mustParse(t, "rate(1 second)", Options{Anchor: anchor})
	at := mustParse(t, "at(2026-06-01T09:00:00)", Options{Timezone: "Asia/Kolkata"})
	tests := []struct {
		name   string
		spec   *Spec
		wake   string
		want   string // "" when the wake-up is dropped
		wantOK bool
	}{
		{"CronOnTime", berlin, "2026-01-10T01:30:00.003Z", "2026-01-10T02:30:00+01:00", true},
		{"CronLate", berlin, "2026-01-10T01:30:49Z", "2026-01-10T02:30:00+01:00", true},
		{"CronTooLate", berlin, "2026-01-10T01:30:51Z", "", false},
		{"CronEarly", berlin, "2026-01-10T01:29:59Z", "2026-01-10T02:30:00+01:00", true},
		{"CronOtherOffset", berlin, "2026-01-10T00:30:00.004Z", "", false},
		{"CronSummer", berlin, "2026-07-10T00:30:00.004Z", "2026-07-10T02:30:00+02:00", true},
		{"CronGapEnd", berlin, "2026-03-29T01:00:00.001Z", "2026-03-29T03:00:00+02:00", true},
		{"CronRepeatedSecondPass", berlin, "2026-10-25T01:30:00Z", "", false},
		{"RateRounded", rate, "2026-01-01T00:02:10.700Z", "2026-01-01T00:02:10.25Z", true},
		{"RateEarly", rate, "2026-01-01T00:02:09Z", "2026-01-01T00:02:10.25Z", true},
		{"RateBeforeAnchor", rate, "2026-01-01T00:00:10.250Z", "", false},
		{"RateTooLate", rate, "2026-01-01T00:03:01Z", "", false},
		{"SecondsRounded", seconds, "2026-01-01T00:00:12.700Z", "2026-01-01T00:00:12.25Z", true},
		{"SecondsNext", seconds, "2026-01-01T00:00:13.100Z", "2026-01-01T00:00:13.25Z", true},
		{"AtLate", at, "2026-06-01T05:00:00Z", "2026-06-01T09:00:00+05:30", true},
		{"AtEarly", at, "2026-06-01T03:29:00Z", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.spec.Match(mustTime(t, tt.wake))
			if ok != tt.wantOK {
				t.Fatalf("Match(%s) ok = %v, want %v (fire %v)", tt.wake, ok, tt.wantOK, got)
			}
			if ok && got.Format(time.RFC3339Nano) != tt.want {
				t.Errorf("Match(%s) = %s, want %s", tt.wake, got.Format(time.RFC3339Nano), tt.want)
			}
		})
	}
}

func TestSpec_Broker(t *testing.T) {
	now := mustTime(t, "2026-01-01T00:00:00Z")
	anchor := mustTime(t, "2025-12-31T23:58:30Z")
	end := mustTime(t, "2026-01-01T01:00:00Z")
	tests := []struct {
		name string
		expr string
		o    Options
		want BrokerForm
	}{
		{"RateCapped", "rate(1 minute)", Options{Anchor: anchor}, BrokerForm{Delay: 30 * time.Second, Period: time.Minute, Repeat: 1000}},
		{"RateUntilEnd", "rate(1 minute)", Options{Anchor: anchor, End: &end}, BrokerForm{Delay: 30 * time.Second, Period: time.Minute, Repeat: 59}},
		{"At", "at(2026-01-01T10:00:00)", Options{Timezone: "Europe/Berlin"}, BrokerForm{Delay: 9 * time.Hour}},
		{"UTCDaily", "0 9 * * *", Options{}, BrokerForm{Cron: "0 9 * * *"}},
		{"EveryMinuteAvoidsSpecialCase", "* * * * *", Options{}, BrokerForm{Cron: "0-59 * * * *"}},
		{"BerlinDaily", "0 9 * * *", Options{Timezone: "Europe/Berlin"}, BrokerForm{Cron: "0 7-8 * * *"}},
		{"KolkataHourly", "@hourly", Options{Timezone: "Asia/Kolkata"}, BrokerForm{Cron: "30 * * * *"}},
		{"LordHoweHourly", "@hourly", Options{Timezone: "Australia/Lord_Howe"}, BrokerForm{Cron: "0,30 * * * *"}},
		{"StepsBecomeLists", "5-59/20 * * * *", Options{}, BrokerForm{Cron: "5,25,45 * * * *"}},
		{"SundaySeven", "0 0 * * 7", Options{}, BrokerForm{Cron: "0 0 * * 0"}},
		{"DayOfMonthSafety", "0 9 1 * *", Options{}, BrokerForm{Cron: "0 9 1,28-29,31 * *"}},
		{"OrBecomesEveryDay", "0 0 1 * 1", Options{}, BrokerForm{Cron: "0 0 * * *"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, tt.expr, tt.o)
			got, err := s.Broker(now, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Broker = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSpec_BrokerListsSendHour(t *testing.T) {
	// Sent at 08:20 UTC, ActiveMQ would reach minute 30 in hour 8 and keep
	// it when moving to hour 9, skipping 09:00 and 09:15.
	s := mustParse(t, "*/15 9-17 * * *", Options{})
	now := mustTime(t, "2026-01-01T08:20:00Z")
	form, err := s.Broker(now, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if want := "0,15,30,45 8-17 * * *"; form.Cron != want {
		t.Errorf("Cron = %q, want %q", form.Cron, want)
	}
	first, err := amqNext(form.Cron, amqStartTime(now))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := time.UnixMilli(first).UTC().Format(time.RFC3339), "2026-01-01T08:30:00Z"; got != want {
		t.Errorf("first broker fire = %s, want %s", got, want)
	}

	// Sent at 10:20, inside the listed hours, the list stays as written.
	form, err = s.Broker(mustTime(t, "2026-01-01T10:20:00Z"), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if want := "0,15,30,45 9-17 * * *"; form.Cron != want {
		t.Errorf("Cron = %q, want %q", form.Cron, want)
	}
}

func TestSpec_BrokerNoFireLeft(t *testing.T) {
	s := mustParse(t, "at(2026-01-01T10:00:00)", Options{})
	if _, err := s.Broker(mustTime(t, "2026-01-01T10:00:00Z"), 1000); !errors.Is(err, ErrNoFireLeft) {
		t.Errorf("Broker after the only fire: error = %v, want %v", err, ErrNoFireLeft)
	}
}

func TestSpec_OneTime(t *testing.T) {
	if !mustParse(t, "at(2026-01-01T10:00:00)", Options{}).OneTime() {
		t.Error("at(...) is not one-time")
	}
	if mustParse(t, "@daily", Options{}).OneTime() {
		t.Error("@daily is one-time")
	}
}

func TestSpec_Waste(t *testing.T) {
	from := mustTime(t, "2026-01-01T00:00:00Z")
	year := 365 * 24 * time.Hour
	tests := []struct {
		expr string
		zone string
		lo   float64
		hi   float64
	}{
		{"0 9 * * *", "UTC", 0.99, 1.01},
		{"0 9 * * *", "Europe/Berlin", 1.99, 2.01},
		{"*/5 * * * *", "America/New_York", 0.99, 1.01},
		{"0 9 * * 1-5", "Asia/Kolkata", 0.99, 1.01},
		{"0 0 1 * 1", "UTC", 5, 6},
	}
	for _, tt := range tests {
		got := mustParse(t, tt.expr, Options{Timezone: tt.zone}).Waste(from, year)
		if got < tt.lo || got > tt.hi {
			t.Errorf("Waste(%q in %s) = %.3f, want between %.2f and %.2f", tt.expr, tt.zone, got, tt.lo, tt.hi)
		}
	}
	rate := mustParse(t, "rate(5 minutes)", Options{Anchor: from})
	if got := rate.Waste(from, time.Hour); got != 1 {
		t.Errorf("Waste(rate) = %v, want 1", got)
	}
}

func TestFormatFires(t *testing.T) {
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	fires := []time.Time{
		time.Date(2026, 1, 1, 9, 0, 0, 0, kolkata),
		time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 1, 9, 0, 0, 250_000_000, time.UTC),
	}
	want := []string{"2026-01-01T09:00:00+05:30", "2026-01-01T09:00:00Z", "2026-01-01T09:00:00.25Z"}
	if got := FormatFires(fires); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestSpec_FiredFieldsEveryDay(t *testing.T) {
	// Every-day crons take their UTC fields from the zone's offsets. The
	// walk over their actual fires must give the same fields.
	zones := []string{
		"UTC", "Europe/Berlin", "Europe/London", "Europe/Dublin", "America/New_York",
		"America/St_Johns", "America/Sao_Paulo", "America/Santiago", "Africa/Casablanca",
		"Asia/Kolkata", "Asia/Kathmandu", "Asia/Tehran", "Australia/Lord_Howe",
		"Australia/Sydney", "Pacific/Auckland", "Pacific/Chatham", "Antarctica/Troll",
	}
	exprs := []string{
		"0 9 * * *", "30 2 * * *", "59 23 * * *", "0 0 * * *", "15 1-3 * * *",
		"0,30 * * * *", "*/15 9-17 * * *", "@daily", "@hourly",
		"cron(0 9 * * ? *)", "cron(30 2 ? * * *)", "cron(0/20 0-2 * * ? *)",
	}
	sends := []string{"2026-01-10T05:17:00Z", "2026-03-29T00:30:00Z", "2026-10-24T23:59:30Z"}
	for _, zone := range zones {
		for _, expr := range exprs {
			for _, sent := range sends {
				now := mustTime(t, sent)
				end := now.AddDate(1, 1, 0)
				s := mustParse(t, expr, Options{Timezone: zone, End: &end})
				if !s.cron.everyDay() {
					t.Fatalf("%q: everyDay = false", expr)
				}
				got, ok := s.firedFields(now)
				want, walked := s.walkFires(now, end)
				if !ok || !walked {
					t.Fatalf("%q in %s: fields found = %v, walk found = %v", expr, zone, ok, walked)
				}
				if got != want {
					t.Errorf("%q in %s sent %s: fields %s, walk over the fires %s", expr, zone, sent, got, want)
				}
			}
		}
	}
	for _, expr := range []string{"0 9 * * 1-5", "0 9 1 * *", "0 9 * 3 *", "cron(0 9 ? * MON *)", "cron(0 9 * * ? 2027)"} {
		if mustParse(t, expr, Options{}).cron.everyDay() {
			t.Errorf("%q: everyDay = true", expr)
		}
	}
}
