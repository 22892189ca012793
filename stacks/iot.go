package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53targets"
	"github.com/aws/aws-cdk-go/awscdk/v2/customresources"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// iotEndpointLookupID is the construct id of the custom resource that calls
// IoT DescribeEndpoint.
const iotEndpointLookupID = "IotEndpointLookup"

// iotDataEndpoint returns the account's iot:Data-ATS endpoint host: the
// iotEndpoint setting when set, otherwise the result of IoT DescribeEndpoint
// called at deploy time.
func iotDataEndpoint(scope constructs.Construct, s *Settings) *string {
	if s.IoTEndpoint != "" {
		return jsii.String(s.IoTEndpoint)
	}
	call := &customresources.AwsSdkCall{
		Service:            jsii.String("Iot"),
		Action:             jsii.String("describeEndpoint"),
		Parameters:         map[string]any{"endpointType": "iot:Data-ATS"},
		PhysicalResourceId: customresources.PhysicalResourceId_Of(jsii.String("iot-data-ats")),
	}
	lookup := customresources.NewAwsCustomResource(scope, jsii.String(iotEndpointLookupID), &customresources.AwsCustomResourceProps{
		OnCreate:            call,
		OnUpdate:            call,
		InstallLatestAwsSdk: jsii.Bool(false),
		// DescribeEndpoint has no resource-level permissions.
		Policy: customresources.AwsCustomResourcePolicy_FromStatements(&[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("iot:DescribeEndpoint"),
				Resources: jsii.Strings("*"),
			}),
		}),
	})
	return lookup.GetResponseField(jsii.String("endpointAddress"))
}

// newIoTDataZone makes the IoT data endpoint host resolve to the iot.data
// interface endpoint inside the VPC, since that endpoint cannot use private
// DNS.
func newIoTDataZone(scope constructs.Construct, n *Network, host *string) {
	zone := awsroute53.NewPrivateHostedZone(scope, jsii.String("IotDataZone"), &awsroute53.PrivateHostedZoneProps{
		ZoneName: host,
		Vpc:      n.VPC,
		Comment:  jsii.String("mqcron: IoT data endpoint through the VPC interface endpoint"),
	})
	awsroute53.NewARecord(scope, jsii.String("IotDataRecord"), &awsroute53.ARecordProps{
		Zone:   zone,
		Target: awsroute53.RecordTarget_FromAlias(awsroute53targets.NewInterfaceVpcEndpointTarget(n.IoTData)),
	})
}

// topicPublishArns returns the iot:Publish resources, one topic/PREFIX* ARN
// per configured prefix.
func topicPublishArns(scope constructs.Construct, s *Settings) *[]*string {
	stack := awscdk.Stack_Of(scope)
	arns := make([]*string, 0, len(s.TopicPrefixes))
	for _, prefix := range s.TopicPrefixes {
		arns = append(arns, stack.FormatArn(&awscdk.ArnComponents{
			Service:      jsii.String("iot"),
			Resource:     jsii.String("topic"),
			ResourceName: jsii.String(prefix + "*"),
			ArnFormat:    awscdk.ArnFormat_SLASH_RESOURCE_NAME,
		}))
	}
	return &arns
}
