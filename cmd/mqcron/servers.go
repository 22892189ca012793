package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/mqcron/mqcron/localstack"
)

// runServers starts the local servers in a temporary folder, runs a
// command with their addresses in MQCRON_TEST_* variables, and stops the
// servers when the command ends. The test suite runs under it.
func runServers(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("servers", flag.ContinueOnError)
	host := fs.String("host", "127.0.0.1", "address every server listens on")
	stompPort := fs.Int("stomp-port", 61623, "port of ActiveMQ's STOMP connector")
	dynamoPort := fs.Int("dynamo-port", 8010, "port of dynalite")
	mqttPort := fs.Int("mqtt-port", 1893, "port of mosquitto")
	toolsDir := fs.String("tools-dir", "tools", "folder whose node_modules contains dynalite")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: mqcron servers [flags] -- COMMAND [ARGS...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("give the command to run after --")
	}
	dir, err := os.MkdirTemp("", "mqcron-servers-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tools, err := filepath.Abs(*toolsDir)
	if err != nil {
		return err
	}

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	stack, err := localstack.Start(ctx, localstack.Config{
		Dir: dir, Host: *host, STOMPPort: *stompPort, DynamoPort: *dynamoPort,
		MQTTPort: *mqttPort, ToolsDir: tools, Logger: log,
	})
	if err != nil {
		return err
	}
	defer stack.Stop()
	ep := stack.Endpoints()

	cmd := exec.CommandContext(ctx, fs.Arg(0), fs.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(),
		"MQCRON_TEST_STOMP="+ep.STOMPAddr,
		"MQCRON_TEST_DYNAMO="+ep.DynamoDBURL,
		"MQCRON_TEST_MQTT="+ep.MQTTAddr,
		"MQCRON_TEST_SERVERS_DIR="+dir,
		"MQCRON_REQUIRE_SERVERS=1",
	)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	return nil
}
