package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mqcron/mqcron/client"
)

// runPreviewCommand runs the offline preview, or calls the API's POST
// /preview when --remote is among args.
func runPreviewCommand(ctx context.Context, args []string, env *cliEnv) error {
	remote := slices.ContainsFunc(args, func(a string) bool {
		return a == "-remote" || a == "--remote" || strings.HasPrefix(a, "-remote=") || strings.HasPrefix(a, "--remote=")
	})
	if !remote {
		return runPreview(args, env)
	}

	fs := newFlagSet("preview", "--remote [flags] EXPRESSION")
	fs.Bool("remote", true, "ask the API instead of computing offline")
	after := fs.String("after", "", "count fires after this RFC 3339 instant (default: now)")
	count := fs.Int("count", 10, "number of fires to print, 1 to 100")
	zone := fs.String("timezone", "UTC", "IANA time zone of the expression")
	start := fs.String("start", "", "start date, RFC 3339 (optional)")
	end := fs.String("end", "", "end date, RFC 3339 (optional)")
	g := addGlobalFlags(fs, env)
	s, err := setup(ctx, fs, g, args, 1, env)
	if err != nil {
		return err
	}
	in := client.PreviewRequest{ScheduleExpression: s.positional[0], ScheduleExpressionTimezone: *zone, Count: *count}
	for _, d := range []struct {
		flag, value string
		dst         **time.Time
	}{{"--after", *after, &in.After}, {"--start", *start, &in.StartDate}, {"--end", *end, &in.EndDate}} {
		if d.value == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, d.value)
		if err != nil {
			return usagef("preview", "%s %q is not an RFC 3339 instant such as 2026-03-29T00:00:00Z", d.flag, d.value)
		}
		*d.dst = &t
	}
	fires, err := s.client.Preview(ctx, in)
	if err != nil {
		return err
	}
	for _, f := range fires {
		fmt.Fprintln(env.stdout, f)
	}
	return nil
}
