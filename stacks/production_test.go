package stacks_test

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
)

// goFunctions returns the scheduler and dispatcher functions of s by
// logical id.
func goFunctions(s *synthesized) map[string]resource {
	found := map[string]resource{}
	for id, r := range s.resourcesOfType("AWS::Lambda::Function") {
		if r.Properties["Runtime"] == "provided.al2023" {
			found[id] = r
		}
	}
	return found
}

func environmentOf(t *testing.T, s *synthesized, prefix string) map[string]any {
	t.Helper()
	for id, r := range goFunctions(s) {
		if strings.HasPrefix(id, prefix) {
			env, _ := r.Properties["Environment"].(map[string]any)
			variables, _ := env["Variables"].(map[string]any)
			return variables
		}
	}
	t.Fatalf("no function with logical id prefix %s", prefix)
	return nil
}

func TestFunctions_RunInVPC(t *testing.T) {
	for _, variant := range []string{"dev", "prod"} {
		t.Run(variant, func(t *testing.T) {
			// GIVEN the stack; WHEN its Go functions are read
			functions := goFunctions(synth(t, variant))

			// THEN both have subnets and security groups
			if len(functions) != 2 {
				t.Fatalf("Go functions = %d, want 2", len(functions))
			}
			for id, f := range functions {
				vpc, _ := f.Properties["VpcConfig"].(map[string]any)
				subnets, _ := vpc["SubnetIds"].([]any)
				groups, _ := vpc["SecurityGroupIds"].([]any)
				if len(subnets) < 2 || len(groups) != 1 {
					t.Errorf("%s: VpcConfig = %s, want at least 2 subnets and 1 security group", id, asJSON(vpc))
				}
			}
		})
	}
}

func TestFunctions_EnvironmentWithoutSecret(t *testing.T) {
	// GIVEN the dev stack
	s := synth(t, "dev")

	// WHEN the environment variables of both functions are read
	scheduler := environmentOf(t, s, "Scheduler")
	dispatcher := environmentOf(t, s, "Dispatcher")

	// THEN each has exactly the variables its code reads, the secret only
	// by ARN, and the broker endpoint from the STOMP endpoints
	wantScheduler := []string{"BROKER_ENDPOINT", "BROKER_SECRET_ARN", "CORS_ORIGINS", "DISPATCH_QUEUE", "MAX_SCHEDULER_REPEAT", "OWNER_SOURCE", "TABLE_NAME"}
	wantDispatcher := []string{"BROKER_ENDPOINT", "BROKER_SECRET_ARN", "DISPATCH_QUEUE", "IOT_ENDPOINT", "MAX_SCHEDULER_REPEAT", "PUBLISH_CONCURRENCY", "TABLE_NAME", "TOPIC_PREFIXES"}
	if got := sortedKeys(scheduler); !reflect.DeepEqual(got, wantScheduler) {
		t.Errorf("scheduler variables = %q, want %q", got, wantScheduler)
	}
	if got := sortedKeys(dispatcher); !reflect.DeepEqual(got, wantDispatcher) {
		t.Errorf("dispatcher variables = %q, want %q", got, wantDispatcher)
	}
	secretRef := asJSON(s.resolve(s.stack.Broker.Secret.SecretArn()))
	for name, env := range map[string]map[string]any{"scheduler": scheduler, "dispatcher": dispatcher} {
		if got := asJSON(env["BROKER_SECRET_ARN"]); got != secretRef {
			t.Errorf("%s BROKER_SECRET_ARN = %s, want %s", name, got, secretRef)
		}
		if got := asJSON(env["BROKER_ENDPOINT"]); !strings.Contains(got, "StompEndpoints") {
			t.Errorf("%s BROKER_ENDPOINT = %s, want it derived from StompEndpoints", name, got)
		}
		if all := asJSON(env); strings.Contains(all, "resolve:secretsmanager") || strings.Contains(all, "SecretString") {
			t.Errorf("%s environment contains a secret value: %s", name, all)
		}
	}
	if scheduler["OWNER_SOURCE"] != "cognito" || scheduler["MAX_SCHEDULER_REPEAT"] != "1000000000" {
		t.Errorf("scheduler OWNER_SOURCE=%v MAX_SCHEDULER_REPEAT=%v", scheduler["OWNER_SOURCE"], scheduler["MAX_SCHEDULER_REPEAT"])
	}
	if dispatcher["TOPIC_PREFIXES"] != "devices/" || dispatcher["DISPATCH_QUEUE"] != "mqcron.dispatch" {
		t.Errorf("dispatcher TOPIC_PREFIXES=%v DISPATCH_QUEUE=%v", dispatcher["TOPIC_PREFIXES"], dispatcher["DISPATCH_QUEUE"])
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestOutputs_NamedAndWithoutSecret(t *testing.T) {
	// GIVEN the prod stack; WHEN its outputs are read
	s := synth(t, "prod")

	// THEN the operational values are there and no secret value is
	for _, name := range []string{"ApiUrl", "BrokerId", "BrokerStompEndpoints", "BrokerOpenWireEndpoints", "TableName", "DispatchQueue", "DeadLetterQueue", "IotDataEndpoint", "UserPoolId", "UserPoolClientId"} {
		if _, ok := s.outputs[name]; !ok {
			t.Errorf("output %s missing", name)
		}
	}
	if all := asJSON(s.outputs); strings.Contains(all, "resolve:secretsmanager") || strings.Contains(all, "SecretString") {
		t.Errorf("outputs contain a secret value: %s", all)
	}
}

func TestNetwork_EndpointsInProd(t *testing.T) {
	// GIVEN the prod stack, network endpoints
	s := synth(t, "prod")

	// WHEN its VPC endpoints and NAT gateways are read
	var services []string
	for _, r := range s.resourcesOfType("AWS::EC2::VPCEndpoint") {
		services = append(services, render(r.Properties["ServiceName"]))
	}
	sort.Strings(services)

	// THEN DynamoDB, Lambda, Secrets Manager, STS and IoT data have
	// endpoints and there is no way to the internet
	want := []string{
		"com.amazonaws.${AWS::Region}.dynamodb",
		"com.amazonaws.${AWS::Region}.iot.data",
		"com.amazonaws.${AWS::Region}.lambda",
		"com.amazonaws.${AWS::Region}.secretsmanager",
		"com.amazonaws.${AWS::Region}.sts",
	}
	if !reflect.DeepEqual(services, want) {
		t.Errorf("endpoint services = %q, want %q", services, want)
	}
	for _, kind := range []string{"AWS::EC2::NatGateway", "AWS::EC2::InternetGateway"} {
		if got := len(s.resourcesOfType(kind)); got != 0 {
			t.Errorf("%s count = %d, want 0", kind, got)
		}
	}
	for id, r := range s.resourcesOfType("AWS::EC2::VPCEndpoint") {
		iotData := strings.HasSuffix(render(r.Properties["ServiceName"]), ".iot.data")
		if dns, _ := r.Properties["PrivateDnsEnabled"].(bool); iotData && dns {
			t.Errorf("%s: iot.data endpoint has PrivateDnsEnabled true; IoT Core supports no private DNS", id)
		}
	}
	iotEndpoint := environmentOf(t, s, "Dispatcher")["IOT_ENDPOINT"]
	hasResourceProperties(t, s.template, "AWS::Route53::HostedZone", map[string]any{
		"Name": map[string]any{"Fn::Join": []any{"", []any{iotEndpoint, "."}}},
		"VPCs": assertions.Match_AnyValue(),
	})
}

func TestNetwork_NATInDev(t *testing.T) {
	// GIVEN the dev stack, network nat; WHEN its gateways are counted
	s := synth(t, "dev")

	// THEN one NAT gateway serves both functions, DynamoDB still has its
	// gateway endpoint, and no IoT data hosted zone is needed
	if got := len(s.resourcesOfType("AWS::EC2::NatGateway")); got != 1 {
		t.Errorf("NAT gateways = %d, want 1", got)
	}
	if got := len(s.resourcesOfType("AWS::EC2::VPCEndpoint")); got != 1 {
		t.Errorf("VPC endpoints = %d, want 1 (DynamoDB)", got)
	}
	if got := len(s.resourcesOfType("AWS::Route53::HostedZone")); got != 0 {
		t.Errorf("hosted zones = %d, want 0", got)
	}
}

func strPtr(s string) *string { return &s }

func TestAPI_AuthorizesEveryMethod(t *testing.T) {
	cases := map[string]string{"dev": "COGNITO_USER_POOLS", "iam": "AWS_IAM"}
	for variant, want := range cases {
		t.Run(variant, func(t *testing.T) {
			// GIVEN the stack; WHEN its API methods are read
			methods := synth(t, variant).resourcesOfType("AWS::ApiGateway::Method")

			// THEN every method except the CORS preflight needs the
			// configured authorization
			routed := 0
			for id, m := range methods {
				if m.Properties["HttpMethod"] == "OPTIONS" {
					continue
				}
				routed++
				if got := m.Properties["AuthorizationType"]; got != want {
					t.Errorf("%s: AuthorizationType = %v, want %s", id, got, want)
				}
			}
			if routed != 2 {
				t.Errorf("methods other than OPTIONS = %d, want 2 (/schedules and /schedules/{proxy+})", routed)
			}
		})
	}
}

func TestAPI_StageThrottledAndLogged(t *testing.T) {
	// GIVEN the prod stack
	s := synth(t, "prod")

	// WHEN its stage is compared with the prod throttling settings
	want := map[string]any{
		"StageName": "v1",
		"AccessLogSetting": map[string]any{
			"DestinationArn": assertions.Match_AnyValue(),
			"Format":         assertions.Match_StringLikeRegexp(strPtr("requestId")),
		},
		"MethodSettings": []any{map[string]any{
			"HttpMethod": "*", "ResourcePath": "/*",
			"ThrottlingRateLimit": 200, "ThrottlingBurstLimit": 400,
			"LoggingLevel": "ERROR", "DataTraceEnabled": false, "MetricsEnabled": true,
		}},
	}

	// THEN throttling, access logs and error logs are on, bodies unlogged
	hasResourceProperties(t, s.template, "AWS::ApiGateway::Stage", want)
}

func TestAPI_WebACLBoundsRequestSize(t *testing.T) {
	// GIVEN the prod stack, api.waf true and maxRequestBytes 65536
	s := synth(t, "prod")

	// WHEN its web ACL is compared with the bound
	want := map[string]any{
		"Scope": "REGIONAL",
		"AssociationConfig": map[string]any{"RequestBody": map[string]any{
			"API_GATEWAY": map[string]any{"DefaultSizeInspectionLimit": "KB_64"},
		}},
		"Rules": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
			"Name":   "BodySizeLimit",
			"Action": map[string]any{"Block": map[string]any{}},
			"Statement": map[string]any{"SizeConstraintStatement": assertions.Match_ObjectLike(&map[string]any{
				"ComparisonOperator": "GT",
				"Size":               65536,
				"FieldToMatch":       map[string]any{"Body": map[string]any{"OversizeHandling": "MATCH"}},
			})},
		})}),
	}

	// THEN larger bodies are blocked at the stage
	hasResourceProperties(t, s.template, "AWS::WAFv2::WebACL", want)
	if got := len(s.resourcesOfType("AWS::WAFv2::WebACLAssociation")); got != 1 {
		t.Errorf("web ACL associations = %d, want 1", got)
	}
	if got := len(synth(t, "dev").resourcesOfType("AWS::WAFv2::WebACL")); got != 0 {
		t.Errorf("dev web ACLs = %d, want 0 (api.waf false)", got)
	}
}

func TestTable_ProtectedInProd(t *testing.T) {
	// GIVEN both stacks
	prod := synth(t, "prod")
	dev := synth(t, "dev")

	// WHEN their tables are read
	want := map[string]any{
		"BillingMode":                      "PAY_PER_REQUEST",
		"SSESpecification":                 map[string]any{"SSEEnabled": true},
		"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
		"TimeToLiveSpecification":          map[string]any{"AttributeName": "expiresAt", "Enabled": true},
		"GlobalSecondaryIndexes": []any{map[string]any{
			"IndexName": "owner-index",
			"KeySchema": []any{
				map[string]any{"AttributeName": "gsi1pk", "KeyType": "HASH"},
				map[string]any{"AttributeName": "gsi1sk", "KeyType": "RANGE"},
			},
			"Projection": map[string]any{"ProjectionType": "ALL"},
		}},
	}

	// THEN both are encrypted with PITR and TTL; prod alone is protected
	// from deletion and retained with the stack
	hasResourceProperties(t, prod.template, "AWS::DynamoDB::Table", want)
	hasResourceProperties(t, dev.template, "AWS::DynamoDB::Table", want)
	for variant, s := range map[string]*synthesized{"prod": prod, "dev": dev} {
		for id, table := range s.resourcesOfType("AWS::DynamoDB::Table") {
			protected, _ := table.Properties["DeletionProtectionEnabled"].(bool)
			wantPolicy := map[string]string{"prod": "Retain", "dev": "Delete"}[variant]
			if protected != (variant == "prod") {
				t.Errorf("%s %s: DeletionProtectionEnabled = %v", variant, id, protected)
			}
			if table.DeletionPolicy != wantPolicy {
				t.Errorf("%s %s: DeletionPolicy = %q, want %q", variant, id, table.DeletionPolicy, wantPolicy)
			}
		}
	}
}

func TestBroker_ProdSettings(t *testing.T) {
	// GIVEN the prod stack
	s := synth(t, "prod")

	// WHEN its broker is compared with the prod settings
	want := map[string]any{
		"DeploymentMode":          "ACTIVE_STANDBY_MULTI_AZ",
		"HostInstanceType":        "mq.m5.large",
		"AutoMinorVersionUpgrade": true,
		"Logs":                    map[string]any{"General": true, "Audit": true},
		"MaintenanceWindowStartTime": map[string]any{
			"DayOfWeek": "SUNDAY", "TimeOfDay": "03:00", "TimeZone": "UTC",
		},
	}

	// THEN it is an active/standby pair in two subnets with logs on
	hasResourceProperties(t, s.template, "AWS::AmazonMQ::Broker", want)
	for id, b := range s.resourcesOfType("AWS::AmazonMQ::Broker") {
		if subnets, _ := b.Properties["SubnetIds"].([]any); len(subnets) != 2 {
			t.Errorf("%s: SubnetIds = %s, want 2 subnets", id, asJSON(subnets))
		}
	}
	if got := len(s.resourcesOfType("AWS::Logs::ResourcePolicy")); got != 1 {
		t.Errorf("log resource policies = %d, want 1 (Amazon MQ log delivery)", got)
	}
}

func TestAlarms_CoverFailures(t *testing.T) {
	// GIVEN the prod stack, alarms enabled
	s := synth(t, "prod")

	// WHEN the metric names of its alarms are collected
	var names []string
	for _, alarm := range s.resourcesOfType("AWS::CloudWatch::Alarm") {
		names = append(names, asJSON(alarm.Properties))
	}
	all := strings.Join(names, "\n")

	// THEN each failure that operators must see has an alarm
	if len(names) != 10 {
		t.Errorf("alarms = %d, want 10", len(names))
	}
	if !strings.Contains(all, `"CanaryDelivered"`) || !strings.Contains(all, `"LessThanThreshold"`) || !strings.Contains(all, `"breaching"`) {
		t.Error("no canary alarm that fires when CanaryDelivered stops (LessThanThreshold, missing data breaching)")
	}
	for _, metric := range []string{`"Errors"`, `"DeadLettered"`, `"FireDelay"`, `"5XXError"`, `"CpuUtilization"`, `"HeapUsage"`, `"JobSchedulerStorePercentUsage"`, `"DLQ.mqcron.dispatch"`, `"mqcron.dispatch"`} {
		if !strings.Contains(all, metric) {
			t.Errorf("no alarm on %s", metric)
		}
	}
	if !strings.Contains(all, `mqcron-prod-2`) {
		t.Errorf("broker alarms do not cover the standby instance mqcron-prod-2")
	}
	if got := len(s.resourcesOfType("AWS::CloudWatch::Dashboard")); got != 1 {
		t.Errorf("dashboards = %d, want 1", got)
	}
	if got := len(synth(t, "dev").resourcesOfType("AWS::CloudWatch::Alarm")); got != 0 {
		t.Errorf("dev alarms = %d, want 0 (alarms.enabled false)", got)
	}
}

func TestAlarms_NotifyTopic(t *testing.T) {
	// GIVEN the iam variant, alarms mailed to ops@example.com
	s := synth(t, "iam")

	// WHEN its topic and alarms are read
	hasResourceProperties(t, s.template, "AWS::SNS::Subscription", map[string]any{
		"Protocol": "email", "Endpoint": "ops@example.com",
	})
	hasResourceProperties(t, s.template, "AWS::SNS::Topic", map[string]any{
		"KmsMasterKeyId": assertions.Match_AnyValue(),
	})

	// THEN every alarm notifies the topic
	for id, alarm := range s.resourcesOfType("AWS::CloudWatch::Alarm") {
		if actions, _ := alarm.Properties["AlarmActions"].([]any); len(actions) != 1 {
			t.Errorf("%s: AlarmActions = %s, want the topic", id, asJSON(actions))
		}
	}
}

// statementsOf returns the statements of the policies attached to role.
func statementsOf(t *testing.T, s *synthesized, role any) []map[string]any {
	t.Helper()
	ref := asJSON(s.resolve(role))
	var statements []map[string]any
	for _, p := range s.resourcesOfType("AWS::IAM::Policy") {
		if strings.Contains(asJSON(p.Properties["Roles"]), ref) {
			statements = append(statements, policyStatements(p)...)
		}
	}
	return statements
}

// allowed returns the actions and rendered resources of statements.
func allowed(statements []map[string]any) (actions, resources []string) {
	for _, st := range statements {
		actions = append(actions, asStrings(st["Action"])...)
		resources = append(resources, renderArns(st["Resource"])...)
	}
	return actions, resources
}

func TestRoles_LeastPrivilege(t *testing.T) {
	// GIVEN the dev stack
	s := synth(t, "dev")

	// WHEN the statements of both function roles are collected
	schedulerActions, schedulerResources := allowed(statementsOf(t, s, s.stack.Functions.SchedulerRole.RoleName()))
	dispatcherActions, dispatcherResources := allowed(statementsOf(t, s, s.stack.Functions.DispatcherRole.RoleName()))

	// THEN the dispatcher has what the Amazon MQ mapping needs and the
	// scheduler has no broker or IoT actions
	for _, action := range []string{"mq:DescribeBroker", "secretsmanager:GetSecretValue", "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeVpcs", "iot:Publish", "dynamodb:PutItem", "logs:PutLogEvents"} {
		if !contains(dispatcherActions, action) {
			t.Errorf("dispatcher role lacks %s", action)
		}
	}
	for _, action := range schedulerActions {
		if strings.HasPrefix(action, "mq:") || strings.HasPrefix(action, "iot:") || strings.HasSuffix(action, ":*") {
			t.Errorf("scheduler role has %s", action)
		}
	}
	for _, action := range dispatcherActions {
		if strings.HasSuffix(action, ":*") || action == "*" {
			t.Errorf("dispatcher role has %s", action)
		}
	}
	if !containsSuffix(schedulerResources, "/index/owner-index") {
		t.Errorf("scheduler resources %q lack the owner-index", schedulerResources)
	}
	if containsSuffix(dispatcherResources, "/index/owner-index") {
		t.Errorf("dispatcher resources %q include the owner-index", dispatcherResources)
	}
	for _, role := range s.resourcesOfType("AWS::IAM::Role") {
		if managed := asJSON(role.Properties["ManagedPolicyArns"]); strings.Contains(managed, "FullAccess") {
			t.Errorf("role has a FullAccess managed policy: %s", managed)
		}
	}
}

func containsSuffix(values []string, suffix string) bool {
	for _, v := range values {
		if strings.HasSuffix(v, suffix) {
			return true
		}
	}
	return false
}

func TestIoTEndpoint_LookupOrSetting(t *testing.T) {
	// GIVEN dev (lookup) and iam (iotEndpoint set)
	dev := synth(t, "dev")
	iam := synth(t, "iam")

	// WHEN the dispatcher's IOT_ENDPOINT is read
	devEndpoint := asJSON(environmentOf(t, dev, "Dispatcher")["IOT_ENDPOINT"])
	iamEndpoint := environmentOf(t, iam, "Dispatcher")["IOT_ENDPOINT"]

	// THEN dev reads it from DescribeEndpoint iot:Data-ATS and iam uses
	// the setting with no custom resource
	if !strings.Contains(devEndpoint, "endpointAddress") {
		t.Errorf("dev IOT_ENDPOINT = %s, want the lookup's endpointAddress", devEndpoint)
	}
	hasResourceProperties(t, dev.template, "Custom::AWS", map[string]any{
		"Create": assertions.Match_SerializedJson(map[string]any{
			"service": "Iot", "action": "describeEndpoint",
			"parameters":         map[string]any{"endpointType": "iot:Data-ATS"},
			"physicalResourceId": map[string]any{"id": "iot-data-ats"},
		}),
	})
	if iamEndpoint != "abc123-ats.iot.eu-west-1.amazonaws.com" {
		t.Errorf("iam IOT_ENDPOINT = %v, want the setting", iamEndpoint)
	}
	if got := len(iam.resourcesOfType("Custom::AWS")); got != 0 {
		t.Errorf("iam Custom::AWS count = %d, want 0", got)
	}
}

func TestNag_SuppressionsHaveReasons(t *testing.T) {
	for _, variant := range []string{"dev", "prod", "iam"} {
		t.Run(variant, func(t *testing.T) {
			// GIVEN the stack; WHEN its cdk-nag suppressions are read
			s := synth(t, variant)
			count := 0
			for id, r := range s.resources {
				nag, _ := r.Metadata["cdk_nag"].(map[string]any)
				rules, _ := nag["rules_to_suppress"].([]any)
				for _, item := range rules {
					rule, _ := item.(map[string]any)
					count++
					// THEN each one has a reason of at least a sentence
					if reason, _ := rule["reason"].(string); len(reason) < 40 {
						t.Errorf("%s: suppression of %v has reason %q", id, rule["id"], reason)
					}
				}
			}
			if count == 0 {
				t.Errorf("no suppressions found; the metadata layout may have changed")
			}
		})
	}
}
