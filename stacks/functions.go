package stacks

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Functions are the two Lambda functions and the dispatcher's event source
// mapping.
type Functions struct {
	Scheduler      awslambda.Function
	Dispatcher     awslambda.Function
	SchedulerRole  awsiam.Role
	DispatcherRole awsiam.Role
	EventSource    awslambda.CfnEventSourceMapping
}

// functionDeps are the resources the functions use.
type functionDeps struct {
	settings    *Settings
	network     *Network
	broker      *Broker
	table       awsdynamodb.Table
	iotEndpoint *string
}

// tableActions are the DynamoDB actions of the store; neither function
// scans, creates or deletes tables.
var tableActions = []string{
	"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query",
	"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
	"dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable",
}

// Function timeouts. API Gateway ends an integration after 29 s, so the
// scheduler stops well before. The dispatcher gets time for a batch of 100
// publishes with retries.
const (
	schedulerTimeoutSeconds  = 15
	dispatcherTimeoutSeconds = 60
)

func newFunctions(scope constructs.Construct, d *functionDeps) *Functions {
	f := &Functions{}
	f.Scheduler, f.SchedulerRole = newGoFunction(scope, "Scheduler", d, d.settings.SchedulerMemoryMB, schedulerTimeoutSeconds, schedulerEnvironment(d))
	f.Dispatcher, f.DispatcherRole = newGoFunction(scope, "Dispatcher", d, d.settings.DispatcherMemoryMB, dispatcherTimeoutSeconds, dispatcherEnvironment(d))
	grantScheduler(f.SchedulerRole, d)
	grantDispatcher(f.DispatcherRole, d)
	f.EventSource = newDispatchEventSource(scope, f, d)
	return f
}

// newGoFunction creates a function from AssetDir/NAME/bootstrap (lower-case
// name) with its own role, log group and the functions' security group.
func newGoFunction(scope constructs.Construct, id string, d *functionDeps, memoryMB int, timeoutSeconds float64, env map[string]*string) (awslambda.Function, awsiam.Role) {
	s := d.settings
	logGroup := awslogs.NewLogGroup(scope, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention:     retention(s),
		RemovalPolicy: removalPolicy(s),
	})
	role := awsiam.NewRole(scope, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("mqcron " + strings.ToLower(id) + " function"),
	})
	logGroup.GrantWrite(role)
	grantNetworkInterfaces(role)
	fn := awslambda.NewFunction(scope, jsii.String(id), &awslambda.FunctionProps{
		Runtime:        awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:   awslambda.Architecture_ARM_64(),
		Handler:        jsii.String("bootstrap"),
		Code:           awslambda.Code_FromAsset(jsii.String(filepath.Join(s.AssetDir, strings.ToLower(id))), nil),
		MemorySize:     jsii.Number(memoryMB),
		Timeout:        awscdk.Duration_Seconds(jsii.Number(timeoutSeconds)),
		Role:           role,
		LogGroup:       logGroup,
		Vpc:            d.network.VPC,
		VpcSubnets:     d.network.Private,
		SecurityGroups: &[]awsec2.ISecurityGroup{d.network.FunctionSG},
		Environment:    &env,
	})
	return fn, role
}

// grantNetworkInterfaces gives a VPC function's role what Lambda needs to
// attach it to the VPC, and what the Amazon MQ poller needs for its own
// network interfaces. These EC2 actions support no resource-level
// restriction that Lambda can work with.
func grantNetworkInterfaces(role awsiam.Role) {
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings(
			"ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface",
			"ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups",
			"ec2:DescribeSubnets", "ec2:DescribeVpcs",
			"ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses",
		),
		Resources: jsii.Strings("*"),
	}))
}

func schedulerEnvironment(d *functionDeps) map[string]*string {
	s := d.settings
	return map[string]*string{
		"TABLE_NAME":           d.table.TableName(),
		"BROKER_SECRET_ARN":    d.broker.Secret.SecretArn(),
		"BROKER_ENDPOINT":      d.broker.Endpoint,
		"DISPATCH_QUEUE":       jsii.String(s.DispatchQueue),
		"OWNER_SOURCE":         jsii.String(s.API.Auth),
		"CORS_ORIGINS":         jsii.String(strings.Join(s.API.CORSOrigins, ",")),
		"MAX_SCHEDULER_REPEAT": jsii.String(fmt.Sprint(s.Broker.MaxSchedulerRepeat)),
	}
}

func dispatcherEnvironment(d *functionDeps) map[string]*string {
	s := d.settings
	return map[string]*string{
		"TABLE_NAME":          d.table.TableName(),
		"BROKER_SECRET_ARN":   d.broker.Secret.SecretArn(),
		"BROKER_ENDPOINT":     d.broker.Endpoint,
		"DISPATCH_QUEUE":      jsii.String(s.DispatchQueue),
		"IOT_ENDPOINT":        d.iotEndpoint,
		"PUBLISH_CONCURRENCY": jsii.String(fmt.Sprint(s.PublishConcurrency)),
		"TOPIC_PREFIXES":      jsii.String(strings.Join(s.TopicPrefixes, ",")),
		// The dispatcher sends jobs too: it replaces drifted rate jobs.
		"MAX_SCHEDULER_REPEAT": jsii.String(fmt.Sprint(s.Broker.MaxSchedulerRepeat)),
	}
}

// grantScheduler lets the scheduler read and write the table and its index
// and read the broker secret.
func grantScheduler(role awsiam.Role, d *functionDeps) {
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings(tableActions...),
		Resources: &[]*string{
			d.table.TableArn(),
			jsii.String(*d.table.TableArn() + "/index/" + OwnerIndex),
		},
	}))
	d.broker.Secret.GrantRead(role, nil)
}

// grantDispatcher lets the dispatcher read and write the table (not the
// index), read the broker secret, describe the broker for its event source
// mapping and publish under the configured topic prefixes.
func grantDispatcher(role awsiam.Role, d *functionDeps) {
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(tableActions...),
		Resources: &[]*string{d.table.TableArn()},
	}))
	d.broker.Secret.GrantRead(role, nil)
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("mq:DescribeBroker"),
		Resources: &[]*string{d.broker.Broker.AttrArn()},
	}))
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("iot:Publish"),
		Resources: topicPublishArns(role, d.settings),
	}))
}

// newDispatchEventSource connects the dispatch queue to the dispatcher. The
// mapping checks its permissions when it is created, so it waits for the
// dispatcher's policy.
func newDispatchEventSource(scope constructs.Construct, f *Functions, d *functionDeps) awslambda.CfnEventSourceMapping {
	esm := awslambda.NewCfnEventSourceMapping(scope, jsii.String("DispatchEventSource"), &awslambda.CfnEventSourceMappingProps{
		FunctionName:   f.Dispatcher.FunctionArn(),
		EventSourceArn: d.broker.Broker.AttrArn(),
		Queues:         jsii.Strings(d.settings.DispatchQueue),
		BatchSize:      jsii.Number(d.settings.BatchSize),
		SourceAccessConfigurations: &[]*awslambda.CfnEventSourceMapping_SourceAccessConfigurationProperty{{
			Type: jsii.String("BASIC_AUTH"),
			Uri:  d.broker.Secret.SecretArn(),
		}},
	})
	esm.Node().AddDependency(f.DispatcherRole)
	return esm
}
