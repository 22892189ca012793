package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mqcron/mqcron/schedule"
	"github.com/mqcron/mqcron/scheduler"
	"github.com/mqcron/mqcron/timing"
)

// runPreview prints the next fires of an expression, one RFC 3339 instant
// per line.
func runPreview(args []string, env *cliEnv) error {
	out := env.stdout
	fs := newFlagSet("preview", "[flags] EXPRESSION")
	after := fs.String("after", "", "count fires after this RFC 3339 instant (default: now)")
	count := fs.Int("count", 10, "number of fires to print, 1 to 100")
	zone := fs.String("timezone", "UTC", "IANA time zone of the expression")
	start := fs.String("start", "", "start date, RFC 3339 (optional)")
	end := fs.String("end", "", "end date, RFC 3339 (optional)")
	positional, err := parseArgs(fs, args, env)
	if err != nil {
		return err
	}
	if len(positional) != 1 {
		return usagef("preview", "give exactly one expression, quoted, such as 'cron(0 9 * * ? *)'")
	}
	expr := positional[0]
	from := time.Now()
	if *after != "" {
		t, err := time.Parse(time.RFC3339, *after)
		if err != nil {
			return fmt.Errorf("--after %q is not an RFC 3339 instant such as 2026-03-29T00:00:00Z", *after)
		}
		from = t
	}
	o := timing.Options{Timezone: *zone}
	for _, d := range []struct {
		flag, value string
		dst         **time.Time
	}{{"--start", *start, &o.Start}, {"--end", *end, &o.End}} {
		if d.value == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, d.value)
		if err != nil {
			return fmt.Errorf("%s %q is not an RFC 3339 instant", d.flag, d.value)
		}
		*d.dst = &t
	}
	fires, err := scheduler.Preview(expr, o, from, *count)
	if err != nil {
		var verr *schedule.ValidationError
		if errors.As(err, &verr) {
			msgs := make([]string, len(verr.Fields))
			for i, f := range verr.Fields {
				msgs[i] = strings.TrimPrefix(f.Pointer, "/") + ": " + f.Message
			}
			return errors.New(strings.Join(msgs, "; "))
		}
		return err
	}
	for _, line := range timing.FormatFires(fires) {
		fmt.Fprintln(out, line)
	}
	return nil
}
