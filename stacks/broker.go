package stacks

import (
	"encoding/base64"
	"fmt"
	"html"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsamazonmq"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Broker is the Amazon MQ for ActiveMQ broker and its credentials.
type Broker struct {
	Broker        awsamazonmq.CfnBroker
	Configuration awsamazonmq.CfnConfiguration
	// Secret is a JSON secret {"username", "password"} of the broker user.
	Secret awssecretsmanager.Secret
	// Endpoint is host:port of the first instance's STOMP over TLS endpoint.
	Endpoint *string
}

// excludedPasswordCharacters are left out of generated broker passwords:
// Amazon MQ rejects commas, colons and equal signs, and the others keep the
// password safe to paste into URLs, JSON and shells.
const excludedPasswordCharacters = ",:=\"'\\/@`$ "

func newBroker(scope constructs.Construct, s *Settings, n *Network) *Broker {
	b := &Broker{}
	b.Secret = newBrokerSecret(scope, s)
	b.Configuration = awsamazonmq.NewCfnConfiguration(scope, jsii.String("BrokerConfiguration"), &awsamazonmq.CfnConfigurationProps{
		Name:                   jsii.String(s.Broker.Name),
		EngineType:             jsii.String("ACTIVEMQ"),
		EngineVersion:          jsii.String(s.Broker.EngineVersion),
		AuthenticationStrategy: jsii.String("SIMPLE"),
		Data:                   jsii.String(base64.StdEncoding.EncodeToString([]byte(BrokerConfigurationXML(s)))),
		Description:            jsii.String("mqcron: job scheduler on, dispatch queue dead-letter and flow control policy"),
	})
	logPolicy := newBrokerLogPolicy(scope)
	b.Broker = awsamazonmq.NewCfnBroker(scope, jsii.String("Broker"), &awsamazonmq.CfnBrokerProps{
		BrokerName:              jsii.String(s.Broker.Name),
		EngineType:              jsii.String("ACTIVEMQ"),
		EngineVersion:           jsii.String(s.Broker.EngineVersion),
		HostInstanceType:        jsii.String(s.Broker.InstanceType),
		DeploymentMode:          jsii.String(s.Broker.DeploymentMode),
		AutoMinorVersionUpgrade: jsii.Bool(true),
		AuthenticationStrategy:  jsii.String("SIMPLE"),
		PubliclyAccessible:      jsii.Bool(false),
		SubnetIds:               brokerSubnets(s, n),
		SecurityGroups:          &[]*string{n.BrokerSG.SecurityGroupId()},
		Configuration: &awsamazonmq.CfnBroker_ConfigurationIdProperty{
			Id:       b.Configuration.AttrId(),
			Revision: b.Configuration.AttrRevision(),
		},
		Users: &[]*awsamazonmq.CfnBroker_UserProperty{{
			Username: jsii.String(s.Broker.Username),
			// A dynamic reference: CloudFormation resolves it at deploy
			// time, so the password is not in the template.
			Password:      b.Secret.SecretValueFromJson(jsii.String("password")).UnsafeUnwrap(),
			ConsoleAccess: jsii.Bool(false),
		}},
		Logs: &awsamazonmq.CfnBroker_LogListProperty{
			General: jsii.Bool(true),
			Audit:   jsii.Bool(s.Broker.AuditLogs),
		},
		MaintenanceWindowStartTime: &awsamazonmq.CfnBroker_MaintenanceWindowProperty{
			DayOfWeek: jsii.String(s.Broker.MaintenanceDay),
			TimeOfDay: jsii.String(s.Broker.MaintenanceTime),
			TimeZone:  jsii.String(s.Broker.MaintenanceTimeZone),
		},
		EncryptionOptions: &awsamazonmq.CfnBroker_EncryptionOptionsProperty{UseAwsOwnedKey: jsii.Bool(true)},
	})
	b.Broker.Node().AddDependency(logPolicy)
	b.Endpoint = brokerHostPort(b.Broker)
	return b
}

// newBrokerSecret generates the broker user's credentials.
func newBrokerSecret(scope constructs.Construct, s *Settings) awssecretsmanager.Secret {
	secret := awssecretsmanager.NewSecret(scope, jsii.String("BrokerSecret"), &awssecretsmanager.SecretProps{
		Description: jsii.String("mqcron broker user; JSON with username and password"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			SecretStringTemplate: jsii.String(fmt.Sprintf(`{"username":%q}`, s.Broker.Username)),
			GenerateStringKey:    jsii.String("password"),
			ExcludeCharacters:    jsii.String(excludedPasswordCharacters),
			PasswordLength:       jsii.Number(32),
		},
		RemovalPolicy: removalPolicy(s),
	})
	return secret
}

// newBrokerLogPolicy lets Amazon MQ write to its /aws/amazonmq/ log groups;
// the broker fails to create with logs on unless this policy exists.
func newBrokerLogPolicy(scope constructs.Construct) awslogs.ResourcePolicy {
	stack := awscdk.Stack_Of(scope)
	return awslogs.NewResourcePolicy(scope, jsii.String("BrokerLogPolicy"), &awslogs.ResourcePolicyProps{
		PolicyStatements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("mq.amazonaws.com"), nil)},
			Actions:    jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
			Resources: jsii.Strings(*stack.FormatArn(&awscdk.ArnComponents{
				Service:      jsii.String("logs"),
				Resource:     jsii.String("log-group"),
				ResourceName: jsii.String("/aws/amazonmq/*"),
				ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
			})),
			Conditions: &map[string]any{
				"StringEquals": map[string]any{"aws:SourceAccount": stack.Account()},
			},
		})},
	})
}

// brokerSubnets returns one private subnet for a single-instance broker and
// two, in different Availability Zones, for an active/standby pair.
func brokerSubnets(s *Settings, n *Network) *[]*string {
	ids := *n.VPC.SelectSubnets(n.Private).SubnetIds
	count := 1
	if s.Broker.DeploymentMode == DeploymentActiveStandby {
		count = 2
	}
	selected := ids[:count]
	return &selected
}

// brokerHostPort joins the broker's STOMP endpoints
// (stomp+ssl://HOST:61614, two of them for an active/standby pair) with
// commas. The functions connect to whichever of them accepts connections,
// so they follow a failover.
func brokerHostPort(broker awsamazonmq.CfnBroker) *string {
	return awscdk.Fn_Join(jsii.String(","), broker.AttrStompEndpoints())
}

// BrokerConfigurationXML returns the ActiveMQ broker configuration: the job
// scheduler on, the repeat limit from the settings, and for the dispatch
// queue an individual dead-letter queue and producer flow control. Expired
// wake-ups are dropped rather than dead-lettered (processExpired false), so
// the dead-letter queue contains only wake-ups that the dispatcher failed.
func BrokerConfigurationXML(s *Settings) string {
	queue := html.EscapeString(s.DispatchQueue)
	prefix := html.EscapeString(s.Broker.DeadLetterPrefix)
	return fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<broker xmlns="http://activemq.apache.org/schema/core" schedulerSupport="true" maxSchedulerRepeatAllowed="%d">
  <destinationPolicy>
    <policyMap>
      <policyEntries>
        <policyEntry queue="%s" producerFlowControl="true" prioritizedMessages="false">
          <deadLetterStrategy>
            <individualDeadLetterStrategy queuePrefix="%s" useQueueForQueueMessages="true" processExpired="false"/>
          </deadLetterStrategy>
        </policyEntry>
        <policyEntry topic="&gt;">
          <pendingMessageLimitStrategy>
            <constantPendingMessageLimitStrategy limit="3000"/>
          </pendingMessageLimitStrategy>
        </policyEntry>
      </policyEntries>
    </policyMap>
  </destinationPolicy>
</broker>
`, s.Broker.MaxSchedulerRepeat, queue, prefix)
}
