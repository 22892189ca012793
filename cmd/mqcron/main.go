// Command mqcron runs mqcron locally against real servers and manages
// schedules from the command line.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

var usage = `usage: mqcron COMMAND [flags]

Commands:
  local     start ActiveMQ, dynalite and mosquitto, then serve the API and run the dispatcher
  preview   print the next fires of a schedule expression, offline (--remote: ask the API)
  servers   start the local servers on test ports, run a command, stop them
  resync    rebuild the broker's jobs from DynamoDB (--dry-run shows the plan)

API commands (flags: --api URL or MQCRON_API, --auth none|iam|token, --owner, --region):
` + apiUsage() + `
Run 'mqcron COMMAND -h' for the flags of a command.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	// Ctrl-C also ends a pipe reader such as tee; with SIGPIPE ignored, log
	// writes to it fail quietly and the local servers are still stopped.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "local":
		err = runLocal(ctx, args)
	case "preview":
		err = runPreviewCommand(ctx, args, osEnv())
	case "servers":
		err = runServers(ctx, args)
	case "resync":
		err = runResync(ctx, args)
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		var found bool
		found, err = runAPICommand(ctx, cmd, args, osEnv())
		if !found {
			fmt.Fprintf(os.Stderr, "mqcron: unknown command %q\n\n%s", cmd, usage)
			os.Exit(2)
		}
	}
	if code := reportError(os.Stderr, os.Args[1], err); code != 0 {
		os.Exit(code)
	}
}
