package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/mqcron/mqcron/client"
	"github.com/mqcron/mqcron/schedule"
)

func runList(ctx context.Context, args []string, env *cliEnv) error {
	fs := newFlagSet("list", "[flags]")
	var o client.ListOptions
	fs.StringVar(&o.NamePrefix, "name-prefix", "", "only schedules whose name starts with this")
	fs.StringVar(&o.TopicPrefix, "topic-prefix", "", "only schedules with a topic that starts with this")
	state := fs.String("state", "", "only schedules in this state: ENABLED, DISABLED or COMPLETED")
	fs.IntVar(&o.Limit, "limit", 0, "page size, 1 to 100 (default: the API's, 50)")
	fs.StringVar(&o.NextToken, "next-token", "", "start at the page that a previous list named")
	all := fs.Bool("all", false, "follow nextToken and list every page")
	output := fs.String("o", "table", "output format: table or json")
	g := addGlobalFlags(fs, env)
	s, err := setup(ctx, fs, g, args, 0, env)
	if err != nil {
		return err
	}
	if *output != "table" && *output != "json" {
		return usagef("list", "-o is %q; use table or json", *output)
	}
	o.State = schedule.State(*state)

	page := &client.ListPage{}
	if *all {
		for sched, err := range s.client.AllSchedules(ctx, o) {
			if err != nil {
				return err
			}
			page.Schedules = append(page.Schedules, sched)
		}
	} else if page, err = s.client.ListSchedules(ctx, o); err != nil {
		return err
	}
	if page.Schedules == nil {
		page.Schedules = []*schedule.Schedule{}
	}

	if *output == "json" {
		return printJSON(env.stdout, page)
	}
	if err := printScheduleTable(env, page.Schedules); err != nil {
		return err
	}
	if page.NextToken != "" {
		fmt.Fprintf(env.stderr, "more schedules: add --next-token %s, or --all for every page\n", page.NextToken)
	}
	return nil
}

// printScheduleTable writes one row per schedule. NEXT FIRE is the first
// of the schedule's nextFires, or "-" when it has none.
func printScheduleTable(env *cliEnv, schedules []*schedule.Schedule) error {
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSTATE\tEXPRESSION\tZONE\tNEXT FIRE")
	for _, s := range schedules {
		zone := s.ScheduleExpressionTimezone
		if zone == "" {
			zone = "UTC"
		}
		next := "-"
		if len(s.NextFires) > 0 {
			next = s.NextFires[0].Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Name, s.State, s.ScheduleExpression, zone, next)
	}
	return tw.Flush()
}
