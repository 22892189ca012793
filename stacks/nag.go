package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// AddNagChecks runs the cdk-nag AwsSolutions rules on every stack in scope
// at synthesis. A finding that no suppression covers becomes an error
// annotation, which fails cdk synth.
func AddNagChecks(scope constructs.Construct) {
	awscdk.Aspects_Of(scope).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
}

// customResourceProviderID is the construct id of the function that CDK
// shares between all AwsCustomResource instances of a stack.
const customResourceProviderID = "AWS679f53fac002430cb0da5b7982bd2287"

// addNagSuppressions records, on each construct it concerns, why a finding
// of the AwsSolutions rules is accepted.
func addNagSuppressions(stack awscdk.Stack, s *Settings, m *MqcronStack) {
	suppress(m.Broker.Secret, false, "AwsSolutions-SMG4",
		"Amazon MQ cannot rotate broker users through Secrets Manager: a new password must be set on the broker user and applied by a reboot, so rotation is a documented manual procedure.")

	eniReason := "Lambda needs these EC2 network interface actions on any resource to attach a function to the VPC; AWS documents them with Resource * (as in AWSLambdaVPCAccessExecutionRole)."
	suppress(m.Functions.SchedulerRole, true, "AwsSolutions-IAM5", eniReason, "Resource::*")
	suppress(m.Functions.DispatcherRole, true, "AwsSolutions-IAM5", eniReason, "Resource::*")
	for _, prefix := range s.TopicPrefixes {
		suppress(m.Functions.DispatcherRole, true, "AwsSolutions-IAM5",
			"iot:Publish is granted on every topic under a configured prefix, because devices are addressed by topic and are not known when the stack is deployed.",
			"Resource::arn:<AWS::Partition>:iot:<AWS::Region>:<AWS::AccountId>:topic/"+prefix+"*")
	}

	suppress(m.API.RestAPI.Node().FindChild(jsii.String("CloudWatchRole")), true, "AwsSolutions-IAM4",
		"API Gateway writes execution logs through one account-level role; AWS provides AmazonAPIGatewayPushToCloudWatchLogs for exactly that role.",
		"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs")
	if pool := m.API.UserPool; pool != nil && m.API.UserPoolClient != nil {
		suppress(pool, true, "AwsSolutions-COG8",
			"The Plus feature plan is billed per monthly active user; the pool requires MFA, has no self sign-up and enforces a 12-character password policy.")
	}
	if s.API.Auth == AuthIAM {
		suppressMethods(m.API.RestAPI, "AwsSolutions-COG4",
			"api.auth is iam: callers sign requests with SigV4 and IAM policies decide access, so no Cognito authorizer is attached.")
	}

	if lookup := stack.Node().TryFindChild(jsii.String(iotEndpointLookupID)); lookup != nil {
		suppress(lookup, true, "AwsSolutions-IAM5",
			"iot:DescribeEndpoint has no resource-level permissions, so it can only be granted on *.", "Resource::*")
	}
	if provider := stack.Node().TryFindChild(jsii.String(customResourceProviderID)); provider != nil {
		suppress(provider, true, "AwsSolutions-L1",
			"CDK picks the Node.js runtime of its AwsCustomResource provider, which runs only during deployments to look up the IoT endpoint.")
		suppress(provider, true, "AwsSolutions-IAM4",
			"CDK's AwsCustomResource provider writes its logs through AWSLambdaBasicExecutionRole; it runs only during deployments.",
			"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
	}
}

// suppress adds one suppression with a reason to construct, limited to the
// findings in appliesTo when given.
func suppress(construct constructs.IConstruct, applyToChildren bool, rule, reason string, appliesTo ...string) {
	suppression := &cdknag.NagPackSuppression{Id: jsii.String(rule), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		findings := make([]any, len(appliesTo))
		for i, finding := range appliesTo {
			findings[i] = finding
		}
		suppression.AppliesTo = &findings
	}
	cdknag.NagSuppressions_AddResourceSuppressions(construct, &[]*cdknag.NagPackSuppression{suppression}, jsii.Bool(applyToChildren))
}

// suppressMethods suppresses rule on every method of api.
func suppressMethods(api awsapigateway.RestApi, rule, reason string) {
	for _, method := range *api.Methods() {
		suppress(method, false, rule, reason)
	}
}
