// Package stacks defines the mqcron CDK stack: a VPC, an Amazon MQ for
// ActiveMQ broker with the job scheduler on, a DynamoDB table, the scheduler
// function behind an API Gateway REST API and the dispatcher function fed
// by the broker's dispatch queue.
package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// MqcronStackProps configures NewMqcronStack.
type MqcronStackProps struct {
	awscdk.StackProps
	Settings Settings
}

// MqcronStack is the synthesized stack with handles on its main parts, for
// tests and for the CDK app.
type MqcronStack struct {
	awscdk.Stack
	Network    *Network
	Broker     *Broker
	Functions  *Functions
	API        *API
	Monitoring *Monitoring
}

// NewMqcronStack creates the mqcron stack in scope.
func NewMqcronStack(scope constructs.Construct, id string, props *MqcronStackProps) *MqcronStack {
	s := props.Settings
	stackProps := props.StackProps
	if stackProps.StackName == nil {
		stackProps.StackName = jsii.String(s.StackName)
	}
	if stackProps.Env == nil && s.Account != "" {
		stackProps.Env = &awscdk.Environment{Account: jsii.String(s.Account), Region: jsii.String(s.Region)}
	}
	stack := awscdk.NewStack(scope, jsii.String(id), &stackProps)
	awscdk.Tags_Of(stack).Add(jsii.String("app"), jsii.String("mqcron"), nil)
	awscdk.Tags_Of(stack).Add(jsii.String("env"), jsii.String(s.Env), nil)

	m := &MqcronStack{Stack: stack}
	m.Network = newNetwork(stack, &s)
	m.Broker = newBroker(stack, &s, m.Network)
	table := newTable(stack, &s)
	iotEndpoint := iotDataEndpoint(stack, &s)
	if m.Network.IoTData != nil {
		newIoTDataZone(stack, m.Network, iotEndpoint)
	}
	m.Functions = newFunctions(stack, &functionDeps{
		settings:    &s,
		network:     m.Network,
		broker:      m.Broker,
		table:       table,
		iotEndpoint: iotEndpoint,
	})
	m.API = newAPI(stack, &s, m.Functions.Scheduler)
	m.Monitoring = newMonitoring(stack, &monitoredParts{settings: &s, funcs: m.Functions, api: m.API})
	addOutputs(stack, &s, m, table.TableName(), iotEndpoint)
	addNagSuppressions(stack, &s, m)
	return m
}
