// Command mqcron is the CDK app of mqcron. It reads the environment name
// from the "env" context key (dev unless -c env=prod), loads that
// environment's settings from the "mqcron" context key of cdk.json,
// creates the stack and checks it with the cdk-nag AwsSolutions rules.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/mqcron/mqcron/stacks"
)

func main() {
	app := awscdk.NewApp(nil)
	if err := addStack(app); err != nil {
		fmt.Fprintln(os.Stderr, "mqcron:", err)
		jsii.Close()
		os.Exit(1)
	}
	app.Synth(nil)
	jsii.Close()
}

// addStack adds the stack of the selected environment to app.
func addStack(app awscdk.App) error {
	env := "dev"
	if value := app.Node().TryGetContext(jsii.String("env")); value != nil {
		name, ok := value.(string)
		if !ok {
			return fmt.Errorf("context key env: invalid value %v; allowed values: dev, prod", value)
		}
		env = name
	}
	settings, err := stacks.LoadSettings(env, app.Node().TryGetContext(jsii.String("mqcron")))
	if err != nil {
		return err
	}
	stacks.NewMqcronStack(app, "Mqcron", &stacks.MqcronStackProps{Settings: settings})
	stacks.AddNagChecks(app)
	return nil
}
