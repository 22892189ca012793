package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/mqcron/mqcron/client"
)

// cliEnv is the input, output and environment of an API command besides
// its arguments, so that tests can run commands in-process.
type cliEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// stderrTerminal selects the in-place progress line of import.
	stderrTerminal bool
	// progressEvery is the period of import's progress lines when stderr
	// is not a terminal.
	progressEvery time.Duration
	// httpClient, when not nil, replaces the client's default.
	httpClient *http.Client
}

// osEnv returns the environment of the running process.
func osEnv() *cliEnv {
	return &cliEnv{
		stdin:          os.Stdin,
		stdout:         os.Stdout,
		stderr:         os.Stderr,
		getenv:         os.Getenv,
		stderrTerminal: isTerminal(os.Stderr),
		progressEvery:  5 * time.Second,
	}
}

// isTerminal reports whether f is a character device, such as a terminal.
func isTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// apiCommand is one subcommand that calls the REST API.
type apiCommand struct {
	run     func(ctx context.Context, args []string, env *cliEnv) error
	summary string
}

// apiCommands lists the API subcommands in the order of the usage text.
var apiCommands = []struct {
	name string
	apiCommand
}{
	{"create", apiCommand{runCreate, "create a schedule from a JSON or YAML file"}},
	{"list", apiCommand{runList, "list schedules as a table or JSON"}},
	{"get", apiCommand{runGet, "print one schedule as JSON"}},
	{"update", apiCommand{runUpdate, "replace a schedule with the contents of a file (PUT)"}},
	{"patch", apiCommand{runPatch, "apply a JSON merge patch from a file (PATCH)"}},
	{"delete", apiCommand{runDelete, "delete a schedule"}},
	{"pause", apiCommand{runPause, "disable a schedule, with an optional note"}},
	{"resume", apiCommand{runResume, "enable a schedule, with an optional note"}},
	{"trigger", apiCommand{runTrigger, "fire a schedule once now, outside its expression"}},
	{"runs", apiCommand{runRuns, "list the latest runs of a schedule"}},
	{"import", apiCommand{runImport, "create many schedules from a file, concurrently"}},
}

// apiUsage is the part of the usage text that lists the API commands.
func apiUsage() string {
	var b strings.Builder
	for _, c := range apiCommands {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	return b.String()
}

// runAPICommand runs the API subcommand name, and reports whether it
// exists.
func runAPICommand(ctx context.Context, name string, args []string, env *cliEnv) (bool, error) {
	for _, c := range apiCommands {
		if c.name == name {
			return true, c.run(ctx, args, env)
		}
	}
	return false, nil
}

// usageError is a mistake on the command line; mqcron exits with status 2.
type usageError struct {
	command string
	err     error
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(command, format string, args ...any) error {
	return &usageError{command: command, err: fmt.Errorf(format, args...)}
}

// errReported is returned by a command that already printed why it
// failed; mqcron exits with status 1 and prints nothing more.
var errReported = errors.New("failure already reported")

// reportError prints err for command to w and returns the exit status: 0
// for a help request, 2 for a usage error and 1 for anything else. An
// *client.APIError is printed with its title, detail and field errors.
func reportError(w io.Writer, command string, err error) int {
	var apiErr *client.APIError
	var usage *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errReported):
		return 1
	case errors.As(err, &apiErr):
		printProblem(w, "mqcron "+command+": ", apiErr)
		return 1
	case errors.As(err, &usage):
		fmt.Fprintf(w, "mqcron %s: %v\nRun 'mqcron %s -h' for usage.\n", command, usage.err, usage.command)
		return 2
	default:
		fmt.Fprintf(w, "mqcron %s: %v\n", command, err)
		return 1
	}
}

// printProblem writes an API error as the API sent it: the status and
// title, the detail, then one "pointer: detail" line per field error.
func printProblem(w io.Writer, prefix string, e *client.APIError) {
	line := fmt.Sprintf("%s%d %s", prefix, e.StatusCode, e.Problem.Title)
	if e.Problem.Detail != "" {
		line += ": " + e.Problem.Detail
	}
	fmt.Fprintln(w, line)
	for _, f := range e.Problem.Errors {
		pointer := f.Pointer
		if pointer == "" {
			pointer = "(body)"
		}
		fmt.Fprintf(w, "  %s: %s\n", pointer, f.Message)
	}
}

// globalFlags are the connection flags that every API command accepts.
type globalFlags struct {
	api     string
	owner   string
	auth    string
	region  string
	timeout time.Duration
}

const defaultAPI = "http://127.0.0.1:8080"

// addGlobalFlags registers the connection flags on fs, with defaults from
// the MQCRON_* variables.
func addGlobalFlags(fs *flag.FlagSet, env *cliEnv) *globalFlags {
	g := &globalFlags{}
	fs.StringVar(&g.api, "api", envOr(env, "MQCRON_API", defaultAPI), "API root URL (env MQCRON_API)")
	fs.StringVar(&g.owner, "owner", env.getenv("MQCRON_OWNER"),
		"owner sent in the X-Mqcron-Dev-Owner header; local API with --auth none only (env MQCRON_OWNER)")
	fs.StringVar(&g.auth, "auth", envOr(env, "MQCRON_AUTH", "none"),
		"none, iam (SigV4 with the AWS default credential chain) or token (Cognito token from MQCRON_TOKEN) (env MQCRON_AUTH)")
	fs.StringVar(&g.region, "region", "", "AWS region for --auth iam (default: AWS_REGION, the AWS profile, or the execute-api host name)")
	fs.DurationVar(&g.timeout, "timeout", 30*time.Second, "time limit of each HTTP request")
	return g
}

func envOr(env *cliEnv, key, fallback string) string {
	if v := env.getenv(key); v != "" {
		return v
	}
	return fallback
}

// newClient builds the API client that g describes.
func newClient(ctx context.Context, command string, fs *flag.FlagSet, g *globalFlags, env *cliEnv) (*client.Client, error) {
	cfg := client.Config{BaseURL: g.api, HTTPClient: env.httpClient, UserAgent: "mqcron-cli"}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: g.timeout}
	}
	ownerFlag := false
	fs.Visit(func(f *flag.Flag) { ownerFlag = ownerFlag || f.Name == "owner" })

	switch g.auth {
	case "none":
		cfg.DevOwner = g.owner
	case "token":
		token := env.getenv("MQCRON_TOKEN")
		if token == "" {
			return nil, usagef(command, "--auth token needs a Cognito ID or access token in MQCRON_TOKEN")
		}
		cfg.Auth = client.BearerToken(token)
	case "iam":
		auth, err := sigV4(ctx, command, g)
		if err != nil {
			return nil, err
		}
		cfg.Auth = auth
	default:
		return nil, usagef(command, "--auth is %q; use none, iam or token", g.auth)
	}
	if ownerFlag && g.auth != "none" {
		return nil, usagef(command, "--owner applies only to a local API with --auth none; "+
			"a deployed API takes the owner from the caller's identity")
	}
	c, err := client.New(cfg)
	if err != nil {
		return nil, usagef(command, "--api: %v", err)
	}
	return c, nil
}

// sigV4 loads credentials from the AWS default chain and picks the region
// from --region, the AWS configuration, or the execute-api host name.
func sigV4(ctx context.Context, command string, g *globalFlags) (*client.SigV4, error) {
	var opts []func(*config.LoadOptions) error
	if g.region != "" {
		opts = append(opts, config.WithRegion(g.region))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	region := awsCfg.Region
	if region == "" {
		if u, err := url.Parse(g.api); err == nil {
			region = client.RegionFromHost(u.Hostname())
		}
	}
	if region == "" {
		return nil, usagef(command, "--auth iam needs a region: set --region or AWS_REGION")
	}
	return client.NewSigV4(awsCfg.Credentials, region), nil
}

// parseArgs parses flags that may appear before, between or after the
// positional arguments, and returns the positional ones. Everything after
// "--" is positional.
func parseArgs(fs *flag.FlagSet, args []string, env *cliEnv) ([]string, error) {
	fs.SetOutput(io.Discard)
	var positional []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(env.stdout)
			fs.Usage()
			return nil, err
		}
		if err != nil {
			return nil, &usageError{command: fs.Name(), err: err}
		}
		rest := fs.Args()
		consumed := args[:len(args)-len(rest)]
		if len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// newFlagSet returns a flag set whose usage text starts with synopsis.
func newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: mqcron %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}
