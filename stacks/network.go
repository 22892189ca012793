package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Network is the VPC that contains the broker and both functions.
type Network struct {
	VPC awsec2.Vpc
	// Private selects the subnets of the broker and the functions.
	Private *awsec2.SubnetSelection
	// BrokerSG is attached to the broker and, because Lambda's Amazon MQ
	// poller reuses the broker's network settings, to the poller's network
	// interfaces.
	BrokerSG awsec2.SecurityGroup
	// FunctionSG is attached to both functions.
	FunctionSG awsec2.SecurityGroup
	// IoTData is the iot.data interface endpoint in NetworkEndpoints mode,
	// nil with NetworkNAT.
	IoTData awsec2.InterfaceVpcEndpoint
}

// Ports of Amazon MQ for ActiveMQ.
const (
	stompSSLPort    = 61614
	openWireSSLPort = 61617
)

func newNetwork(scope constructs.Construct, s *Settings) *Network {
	n := &Network{}
	n.VPC = newVPC(scope, s)
	n.Private = privateSubnets(s)
	n.BrokerSG, n.FunctionSG = newSecurityGroups(scope, n.VPC)
	if s.Network == NetworkEndpoints {
		n.IoTData = newServiceEndpoints(scope, n)
	}
	return n
}

func privateSubnets(s *Settings) *awsec2.SubnetSelection {
	subnetType := awsec2.SubnetType_PRIVATE_WITH_EGRESS
	if s.Network == NetworkEndpoints {
		subnetType = awsec2.SubnetType_PRIVATE_ISOLATED
	}
	return &awsec2.SubnetSelection{SubnetType: subnetType}
}

// newVPC creates the VPC with flow logs and a DynamoDB gateway endpoint. In
// NetworkNAT mode it has public subnets and one NAT gateway; in
// NetworkEndpoints mode it has isolated subnets only.
func newVPC(scope constructs.Construct, s *Settings) awsec2.Vpc {
	subnets := []*awsec2.SubnetConfiguration{{
		Name:       jsii.String("private"),
		SubnetType: privateSubnets(s).SubnetType,
		CidrMask:   jsii.Number(22),
	}}
	natGateways := 0
	if s.Network == NetworkNAT {
		subnets = append(subnets, &awsec2.SubnetConfiguration{
			Name:       jsii.String("public"),
			SubnetType: awsec2.SubnetType_PUBLIC,
			CidrMask:   jsii.Number(24),
		})
		// NOTE: one NAT gateway makes egress depend on a single
		// Availability Zone; NetworkEndpoints has no such dependency.
		natGateways = 1
	}
	flowLogs := awslogs.NewLogGroup(scope, jsii.String("FlowLogs"), &awslogs.LogGroupProps{
		Retention:     retention(s),
		RemovalPolicy: removalPolicy(s),
	})
	return awsec2.NewVpc(scope, jsii.String("Vpc"), &awsec2.VpcProps{
		IpAddresses:         awsec2.IpAddresses_Cidr(jsii.String("10.40.0.0/16")),
		MaxAzs:              jsii.Number(s.MaxAZs),
		NatGateways:         jsii.Number(natGateways),
		SubnetConfiguration: &subnets,
		GatewayEndpoints: &map[string]*awsec2.GatewayVpcEndpointOptions{
			"DynamoDB": {Service: awsec2.GatewayVpcEndpointAwsService_DYNAMODB()},
		},
		FlowLogs: &map[string]*awsec2.FlowLogOptions{
			"All": {
				Destination: awsec2.FlowLogDestination_ToCloudWatchLogs(flowLogs, nil),
				TrafficType: awsec2.FlowLogTrafficType_REJECT,
			},
		},
	})
}

// newSecurityGroups returns the broker's and the functions' security
// groups. Egress on 443 goes to any address: in NetworkEndpoints mode the
// subnets have no route to the internet, so only the VPC endpoints are reachable.
func newSecurityGroups(scope constructs.Construct, vpc awsec2.Vpc) (awsec2.SecurityGroup, awsec2.SecurityGroup) {
	brokerSG := awsec2.NewSecurityGroup(scope, jsii.String("BrokerSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              vpc,
		Description:      jsii.String("Amazon MQ broker and the Lambda poller of the dispatch queue"),
		AllowAllOutbound: jsii.Bool(false),
	})
	functionSG := awsec2.NewSecurityGroup(scope, jsii.String("FunctionSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              vpc,
		Description:      jsii.String("mqcron scheduler and dispatcher functions"),
		AllowAllOutbound: jsii.Bool(false),
	})

	stomp := awsec2.Port_Tcp(jsii.Number(stompSSLPort))
	openWire := awsec2.Port_Tcp(jsii.Number(openWireSSLPort))
	https := awsec2.Port_Tcp(jsii.Number(443))

	brokerSG.AddIngressRule(functionSG, stomp, jsii.String("functions to broker, STOMP over TLS"), nil)
	functionSG.AddEgressRule(brokerSG, stomp, jsii.String("functions to broker, STOMP over TLS"), nil)
	functionSG.AddEgressRule(awsec2.Peer_AnyIpv4(), https, jsii.String("functions to AWS APIs"), nil)

	// Lambda's poller connects from interfaces that carry the broker's
	// security group, and needs HTTPS to Lambda, STS and Secrets Manager.
	brokerSG.AddIngressRule(brokerSG, openWire, jsii.String("Lambda poller to broker, OpenWire over TLS"), nil)
	brokerSG.AddEgressRule(brokerSG, openWire, jsii.String("Lambda poller to broker, OpenWire over TLS"), nil)
	brokerSG.AddEgressRule(awsec2.Peer_AnyIpv4(), https, jsii.String("Lambda poller to Lambda, STS and Secrets Manager"), nil)
	return brokerSG, functionSG
}

// newServiceEndpoints creates the interface endpoints that replace a NAT
// gateway: Secrets Manager (functions and poller), Lambda and STS (poller)
// and IoT data (dispatcher). It returns the IoT data endpoint, whose DNS
// name needs a private hosted zone because IoT Core endpoints do not
// support private DNS.
func newServiceEndpoints(scope constructs.Construct, n *Network) awsec2.InterfaceVpcEndpoint {
	endpointSG := awsec2.NewSecurityGroup(scope, jsii.String("EndpointSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              n.VPC,
		Description:      jsii.String("VPC interface endpoints, reachable from the functions and the Lambda poller"),
		AllowAllOutbound: jsii.Bool(false),
	})
	https := awsec2.Port_Tcp(jsii.Number(443))
	endpointSG.AddIngressRule(n.FunctionSG, https, jsii.String("functions to AWS APIs"), nil)
	endpointSG.AddIngressRule(n.BrokerSG, https, jsii.String("Lambda poller to Lambda, STS and Secrets Manager"), nil)
	options := func(service awsec2.IInterfaceVpcEndpointService, privateDNS bool) *awsec2.InterfaceVpcEndpointOptions {
		return &awsec2.InterfaceVpcEndpointOptions{
			Service:           service,
			Subnets:           n.Private,
			SecurityGroups:    &[]awsec2.ISecurityGroup{endpointSG},
			Open:              jsii.Bool(false),
			PrivateDnsEnabled: jsii.Bool(privateDNS),
		}
	}
	services := map[string]awsec2.InterfaceVpcEndpointAwsService{
		"SecretsManager": awsec2.InterfaceVpcEndpointAwsService_SECRETS_MANAGER(),
		"Lambda":         awsec2.InterfaceVpcEndpointAwsService_LAMBDA(),
		"Sts":            awsec2.InterfaceVpcEndpointAwsService_STS(),
	}
	for _, id := range []string{"SecretsManager", "Lambda", "Sts"} {
		n.VPC.AddInterfaceEndpoint(jsii.String(id), options(services[id], true))
	}
	iotData := awsec2.NewInterfaceVpcEndpointAwsService(jsii.String("iot.data"), nil, nil, nil)
	return n.VPC.AddInterfaceEndpoint(jsii.String("IotData"), options(iotData, false))
}

func removalPolicy(s *Settings) awscdk.RemovalPolicy {
	if s.RetainData {
		return awscdk.RemovalPolicy_RETAIN
	}
	return awscdk.RemovalPolicy_DESTROY
}

func retention(s *Settings) awslogs.RetentionDays {
	return logRetention[s.LogRetentionDays]
}
