package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// addOutputs declares the stack outputs. None of them carries a secret: the
// broker password stays in Secrets Manager.
func addOutputs(stack awscdk.Stack, s *Settings, m *MqcronStack, tableName, iotEndpoint *string) {
	output := func(id string, value *string, description string) {
		awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{
			Value:       value,
			Description: jsii.String(description),
		})
	}
	output("ApiUrl", m.API.RestAPI.Url(), "Base URL of the scheduler API; append schedules")
	output("BrokerId", m.Broker.Broker.Ref(), "Amazon MQ broker id")
	output("BrokerStompEndpoints", awscdk.Fn_Join(jsii.String(","), m.Broker.Broker.AttrStompEndpoints()), "STOMP over TLS endpoints, one per broker instance")
	output("BrokerOpenWireEndpoints", awscdk.Fn_Join(jsii.String(","), m.Broker.Broker.AttrOpenWireEndpoints()), "OpenWire over TLS endpoints, one per broker instance")
	output("BrokerSecretArn", m.Broker.Secret.SecretArn(), "Secrets Manager secret of the broker user (ARN only)")
	output("TableName", tableName, "DynamoDB table of schedules and runs")
	output("DispatchQueue", jsii.String(s.DispatchQueue), "ActiveMQ queue that receives wake-ups")
	output("DeadLetterQueue", jsii.String(s.DeadLetterQueue()), "ActiveMQ queue of wake-ups the dispatcher failed")
	output("IotDataEndpoint", iotEndpoint, "IoT Core data endpoint that the dispatcher publishes to")
	if m.API.UserPool != nil {
		output("UserPoolId", m.API.UserPool.UserPoolId(), "Cognito user pool that authorizes API calls")
	}
	if m.API.UserPoolClient != nil {
		output("UserPoolClientId", m.API.UserPoolClient.UserPoolClientId(), "Cognito app client for API users")
	}
}
