package stacks_test

import (
	"strings"
	"testing"

	"github.com/mqcron/mqcron/stacks"
)

func TestLoadSettings_CDKJSON(t *testing.T) {
	// GIVEN the mqcron context of cdk.json
	context := cdkContext(t)

	// WHEN both environments are loaded
	dev, err := stacks.LoadSettings("dev", context)
	if err != nil {
		t.Fatalf("load dev: %v", err)
	}
	prod, err := stacks.LoadSettings("prod", context)
	if err != nil {
		t.Fatalf("load prod: %v", err)
	}

	// THEN prod is the redundant, retained variant and dev the cheap one
	if dev.Network != stacks.NetworkNAT || prod.Network != stacks.NetworkEndpoints {
		t.Errorf("network dev=%q prod=%q, want nat and endpoints", dev.Network, prod.Network)
	}
	if prod.Broker.DeploymentMode != stacks.DeploymentActiveStandby {
		t.Errorf("prod broker.deploymentMode = %q, want %q", prod.Broker.DeploymentMode, stacks.DeploymentActiveStandby)
	}
	if dev.RetainData || !prod.RetainData {
		t.Errorf("retainData dev=%v prod=%v, want false and true", dev.RetainData, prod.RetainData)
	}
	if dev.DeletionProtection || !prod.DeletionProtection {
		t.Errorf("deletionProtection dev=%v prod=%v, want false and true", dev.DeletionProtection, prod.DeletionProtection)
	}
	if dev.Alarms.Enabled || !prod.Alarms.Enabled {
		t.Errorf("alarms.enabled dev=%v prod=%v, want false and true", dev.Alarms.Enabled, prod.Alarms.Enabled)
	}
	if dev.StackName != "mqcron-dev" || prod.StackName != "mqcron-prod" {
		t.Errorf("stackName dev=%q prod=%q", dev.StackName, prod.StackName)
	}
}

func TestLoadSettings_Errors(t *testing.T) {
	cases := []struct {
		name    string
		env     string
		context any
		// want are substrings of the error: the key and the accepted values.
		want []string
	}{
		{"unknown env", "staging", nil,
			[]string{"context key env", `"staging"`, "dev, prod"}},
		{"unknown environment object", "dev", map[string]any{"qa": map[string]any{}},
			[]string{"mqcron.qa", "dev, prod"}},
		{"unknown key", "dev", map[string]any{"dev": map[string]any{"netwrok": "nat"}},
			[]string{"mqcron.dev", `unknown field "netwrok"`}},
		{"wrong type", "prod", map[string]any{"prod": map[string]any{"maxAzs": "two"}},
			[]string{"mqcron.prod", "maxAzs"}},
		{"network", "dev", map[string]any{"dev": map[string]any{"network": "vpn"}},
			[]string{"mqcron.dev.network", `"vpn"`, "endpoints, nat"}},
		{"deployment mode", "dev", map[string]any{"dev": map[string]any{"broker": map[string]any{"deploymentMode": "CLUSTER"}}},
			[]string{"mqcron.dev.broker.deploymentMode", "SINGLE_INSTANCE, ACTIVE_STANDBY_MULTI_AZ"}},
		{"micro instance with standby", "dev", map[string]any{"dev": map[string]any{"broker": map[string]any{"deploymentMode": "ACTIVE_STANDBY_MULTI_AZ"}}},
			[]string{"mqcron.dev.broker.instanceType", "mq.t3.micro"}},
		{"auth", "prod", map[string]any{"prod": map[string]any{"api": map[string]any{"auth": "apikey"}}},
			[]string{"mqcron.prod.api.auth", "cognito, iam"}},
		{"wildcard topic prefix", "dev", map[string]any{"dev": map[string]any{"topicPrefixes": []any{"devices/#"}}},
			[]string{"mqcron.dev.topicPrefixes[0]", "wildcard"}},
		{"empty topic prefix", "dev", map[string]any{"dev": map[string]any{"topicPrefixes": []any{""}}},
			[]string{"topicPrefixes[0]", "every topic"}},
		{"reserved topic prefix", "dev", map[string]any{"dev": map[string]any{"topicPrefixes": []any{"$aws/"}}},
			[]string{"topicPrefixes[0]", "reserved"}},
		{"log retention", "dev", map[string]any{"dev": map[string]any{"logRetentionDays": 10}},
			[]string{"mqcron.dev.logRetentionDays", "7, 14, 30"}},
		{"maintenance day", "prod", map[string]any{"prod": map[string]any{"broker": map[string]any{"maintenanceDay": "sunday"}}},
			[]string{"broker.maintenanceDay", "SUNDAY"}},
		{"account without region", "dev", map[string]any{"dev": map[string]any{"account": "123456789012"}},
			[]string{"mqcron.dev.account", "region"}},
		{"request size", "prod", map[string]any{"prod": map[string]any{"api": map[string]any{"maxRequestBytes": 1 << 20}}},
			[]string{"api.maxRequestBytes", "1024 to 65536"}},
		{"email and topic", "prod", map[string]any{"prod": map[string]any{"alarms": map[string]any{"email": "a@example.com", "topicArn": "arn:aws:sns:eu-west-1:123456789012:t"}}},
			[]string{"alarms.email", "not both"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// GIVEN an invalid setting; WHEN it is loaded
			_, err := stacks.LoadSettings(tc.env, tc.context)

			// THEN the error names the key and what it accepts
			if err == nil {
				t.Fatalf("LoadSettings(%q) returned no error", tc.env)
			}
			for _, part := range tc.want {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not contain %q", err, part)
				}
			}
		})
	}
}

func TestLoadSettings_Overrides(t *testing.T) {
	// GIVEN a context that changes nested and list settings of prod
	context := map[string]any{"prod": map[string]any{
		"topicPrefixes": []any{"fleet/", "lab/"},
		"broker":        map[string]any{"maxSchedulerRepeat": 5000},
		"api":           map[string]any{"auth": "iam"},
	}}

	// WHEN prod is loaded
	s, err := stacks.LoadSettings("prod", context)
	if err != nil {
		t.Fatalf("LoadSettings: %v", err)
	}

	// THEN the given keys change and the others keep the prod defaults
	if strings.Join(s.TopicPrefixes, ",") != "fleet/,lab/" {
		t.Errorf("topicPrefixes = %q", s.TopicPrefixes)
	}
	if s.Broker.MaxSchedulerRepeat != 5000 {
		t.Errorf("broker.maxSchedulerRepeat = %d, want 5000", s.Broker.MaxSchedulerRepeat)
	}
	if s.API.Auth != stacks.AuthIAM {
		t.Errorf("api.auth = %q, want iam", s.API.Auth)
	}
	if s.Broker.InstanceType != "mq.m5.large" {
		t.Errorf("broker.instanceType = %q, want the prod default mq.m5.large", s.Broker.InstanceType)
	}
}

func TestBrokerConfigurationXML_UsesSettings(t *testing.T) {
	// GIVEN settings whose queue name and repeat limit differ from the defaults
	s := stacks.DefaultSettings("dev")
	s.DispatchQueue = "fleet.dispatch"
	s.Broker.MaxSchedulerRepeat = 42

	// WHEN the configuration is rendered
	xml := stacks.BrokerConfigurationXML(&s)

	// THEN it carries both
	for _, want := range []string{`maxSchedulerRepeatAllowed="42"`, `queue="fleet.dispatch"`, `schedulerSupport="true"`} {
		if !strings.Contains(xml, want) {
			t.Errorf("configuration does not contain %s:\n%s", want, xml)
		}
	}
}
