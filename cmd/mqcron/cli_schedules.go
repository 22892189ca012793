package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mqcron/mqcron/client"
)

// commandSetup is the parsed command line of an API command.
type commandSetup struct {
	client     *client.Client
	positional []string
}

// setup parses args on fs, checks that there are exactly wantArgs
// positional arguments, and builds the client.
func setup(ctx context.Context, fs *flag.FlagSet, g *globalFlags, args []string, wantArgs int, env *cliEnv) (*commandSetup, error) {
	positional, err := parseArgs(fs, args, env)
	if err != nil {
		return nil, err
	}
	if len(positional) != wantArgs {
		return nil, usagef(fs.Name(), "got %d arguments (%s); want %d", len(positional), strings.Join(positional, " "), wantArgs)
	}
	c, err := newClient(ctx, fs.Name(), fs, g, env)
	if err != nil {
		return nil, err
	}
	return &commandSetup{client: c, positional: positional}, nil
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// parseIfMatch accepts a version as 3, "3" or W/"3", the forms that an
// ETag header and a schedule's version field take. "" means no If-Match.
func parseIfMatch(command, value string) (int64, error) {
	if value == "" {
		return 0, nil
	}
	v := strings.Trim(strings.TrimPrefix(strings.TrimSpace(value), "W/"), `"`)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, usagef(command, "--if-match is %q; give the schedule's version, such as 3", value)
	}
	return n, nil
}

func runCreate(ctx context.Context, args []string, env *cliEnv) error {
	fs := newFlagSet("create", "-f FILE [flags]")
	file := fs.String("f", "", "JSON or YAML file with one schedule; - reads stdin")
	key := fs.String("idempotency-key", "", "Idempotency-Key header: a retry with the same key returns the first result")
	g := addGlobalFlags(fs, env)
	s, err := setup(ctx, fs, g, args, 0, env)
	if err != nil {
		return err
	}
	if *file == "" {
		return usagef("create", "-f FILE is required")
	}
	body, err := readDocument(*file, env)
	if err != nil {
		return err
	}
	sched, err := s.client.CreateScheduleJSON(ctx, body, *key)
	if err != nil {
		return err
	}
	return printJSON(env.stdout, sched)
}

func runGet(ctx context.Context, args []string, env *cliEnv) error {
	fs := newFlagSet("get", "ID [flags]")
	g := addGlobalFlags(fs, env)
	s, err := setup(ctx, fs, g, args, 1, env)
	if err != nil {
		return err
	}
	sched, err := s.client.GetSchedule(ctx, s.positional[0])
	if err != nil {
		return err
	}
	return printJSON(env.stdout, sched)
}

// serverFields are the schedule fields that the server maintains. update
// removes them from its file, so the output of get can be edited and sent
// back.
var serverFields = []string{"id", "owner", "version", "createdAt", "updatedAt", "nextFires", "lastRun", "runCount"}

func runUpdate(ctx context.Context, args []string, env *cliEnv) error {
	fs := newFlagSet("update", "ID -f FILE [flags]")
	file := fs.String("f", "", "JSON or YAML file with the whole new schedule; - reads stdin")
	ifMatch := fs.String("if-match", "", "send If-Match with this version; the update fails with 412 when the schedule changed "+
		"(default: the file's version field, if any)")
	g := addGlobalFlags(fs, env)
	s, err := setup(ctx, fs, g, args, 1, env)
	if err != nil {
		return err
	}
	if *file == "" {
		return usagef("update", "-f FILE is required")
	}
	id := s.positional[0]
	version, err := parseIfMatch("update", *ifMatch)
	if err != nil {
		return err
	}
	body, err := readDocument(*file, env)
	if err != nil {
		return err
	}

	// Drop the fields that get prints but the API rejects on input. The
	// file's version, when present, guards the update unless --if-match
	// overrides it.
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err == nil {
		var fileID string
		if raw, ok := doc["id"]; ok && json.Unmarshal(raw, &fileID) == nil && fileID != "" && fileID != id {
			return usagef("update", "%s contains schedule %q, not %q; check the ID and the file", *file, fileID, id)
		}
		var fileVersion int64
		if raw, ok := doc["version"]; ok && version == 0 && json.Unmarshal(raw, &fileVersion) == nil {
			version = fileVersion
		}
		for _, name := range serverFields {
			delete(doc, name)
		}
		if body, err = json.Marshal(doc); err != nil {
			return err
		}
	}
	sched, err := s.client.ReplaceScheduleJSON(ctx, id, body, version)
	if err != nil {
		return err
	}
	return printJSON(env.stdout, sched)
}

func runPatch(ctx context.Context, args []string, env *cliEnv) error {
	fs := newFlagSet("patch", "ID -f FILE [flags]")
	file := fs.String("f", "", "JSON or YAML file with a JSON merge patch (RFC 7396); null removes a field; - reads stdin")
	ifMatch := fs.String("if-match", "", "send If-Match with this version; the patch fails with 412 when the schedule changed")
	g := addGlobalFlags(fs, env)
	s, err := setup(ctx, fs, g, args, 1, env)
	if err != nil {
		return err
	}
	if *file == "" {
		return usagef("patch", "-f FILE is required")
	}
	version, err := parseIfMatch("patch", *ifMatch)
	if err != nil {
		return err
	}
	body, err := readDocument(*file, env)
	if err != nil {
		return err
	}
	sched, err := s.client.PatchSchedule(ctx, s.positional[0], body, version)
	if err != nil {
		return err
	}
	return printJSON(env.stdout, sched)
}

func runDelete(ctx context.Context, args []string, env *cliEnv) error {
	fs := newFlagSet("delete", "ID [flags]")
	ifMatch := fs.String("if-match", "", "send If-Match with this version; the delete fails with 412 when the schedule changed")
	g := addGlobalFlags(fs, env)
	s, err := setup(ctx, fs, g, args, 1, env)
	if err != nil {
		return err
	}
	version, err := parseIfMatch("delete", *ifMatch)
	if err != nil {
		return err
	}
	return s.client.DeleteSchedule(ctx, s.positional[0], version)
}

func runPause(ctx context.Context, args []string, env *cliEnv) error {
	return runSetState(ctx, "pause", args, env)
}

func runResume(ctx context.Context, args []string, env *cliEnv) error {
	return runSetState(ctx, "resume", args, env)
}

func runSetState(ctx context.Context, command string, args []string, env *cliEnv) error {
	fs := newFlagSet(command, "ID [flags]")
	note := fs.String("note", "", "reason, stored as the schedule's stateNote")
	ifMatch := fs.String("if-match", "", "send If-Match with this version; the call fails with 412 when the schedule changed")
	g := addGlobalFlags(fs, env)
	s, err := setup(ctx, fs, g, args, 1, env)
	if err != nil {
		return err
	}
	version, err := parseIfMatch(command, *ifMatch)
	if err != nil {
		return err
	}
	call := s.client.PauseSchedule
	if command == "resume" {
		call = s.client.ResumeSchedule
	}
	sched, err := call(ctx, s.positional[0], *note, version)
	if err != nil {
		return err
	}
	return printJSON(env.stdout, sched)
}

func runTrigger(ctx context.Context, args []string, env *cliEnv) error {
	fs := newFlagSet("trigger", "ID [flags]")
	g := addGlobalFlags(fs, env)
	s, err := setup(ctx, fs, g, args, 1, env)
	if err != nil {
		return err
	}
	fire, err := s.client.TriggerSchedule(ctx, s.positional[0])
	if err != nil {
		return err
	}
	return printJSON(env.stdout, fire)
}

func runRuns(ctx context.Context, args []string, env *cliEnv) error {
	fs := newFlagSet("runs", "ID [flags]")
	limit := fs.Int("limit", 20, "number of runs, 1 to 100")
	output := fs.String("o", "table", "output format: table or json")
	g := addGlobalFlags(fs, env)
	s, err := setup(ctx, fs, g, args, 1, env)
	if err != nil {
		return err
	}
	if *output != "table" && *output != "json" {
		return usagef("runs", "-o is %q; use table or json", *output)
	}
	runs, err := s.client.ListRuns(ctx, s.positional[0], *limit)
	if err != nil {
		return err
	}
	if *output == "json" {
		return printJSON(env.stdout, map[string]any{"runs": runs})
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FIRE AT\tATTEMPT\tTOPICS\tOUTCOME\tFIRE ID\tERROR")
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\n", r.FireAt.Format(time.RFC3339Nano), r.Attempt, r.Topics, r.Outcome, r.FireID, strings.Join(strings.Fields(r.Error), " "))
	}
	return tw.Flush()
}
