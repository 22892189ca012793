package stacks_test

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// brokerXML is the part of the ActiveMQ configuration the tests read.
type brokerXML struct {
	XMLName                   xml.Name `xml:"broker"`
	SchedulerSupport          string   `xml:"schedulerSupport,attr"`
	MaxSchedulerRepeatAllowed string   `xml:"maxSchedulerRepeatAllowed,attr"`
	Policies                  []struct {
		Queue               string `xml:"queue,attr"`
		ProducerFlowControl string `xml:"producerFlowControl,attr"`
		DeadLetter          struct {
			Individual struct {
				QueuePrefix string `xml:"queuePrefix,attr"`
			} `xml:"individualDeadLetterStrategy"`
		} `xml:"deadLetterStrategy"`
	} `xml:"destinationPolicy>policyMap>policyEntries>policyEntry"`
}

// brokerConfiguration decodes the Data of the only
// AWS::AmazonMQ::Configuration of s.
func brokerConfiguration(t *testing.T, s *synthesized) brokerXML {
	t.Helper()
	configs := s.resourcesOfType("AWS::AmazonMQ::Configuration")
	if len(configs) != 1 {
		t.Fatalf("AWS::AmazonMQ::Configuration count = %d, want 1", len(configs))
	}
	var config brokerXML
	for id, r := range configs {
		data, ok := r.Properties["Data"].(string)
		if !ok {
			t.Fatalf("%s: Data = %v, want a base64 string", id, r.Properties["Data"])
		}
		decoded, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			t.Fatalf("%s: decode Data: %v", id, err)
		}
		if err := xml.Unmarshal(decoded, &config); err != nil {
			t.Fatalf("%s: parse XML: %v\n%s", id, err, decoded)
		}
	}
	return config
}

func TestBrokerConfiguration_SchedulerSupport(t *testing.T) {
	// GIVEN the dev stack
	s := synth(t, "dev")

	// WHEN the broker configuration XML is decoded
	config := brokerConfiguration(t, s)

	// THEN the job scheduler is on, with the default repeat limit
	if config.SchedulerSupport != "true" {
		t.Errorf("schedulerSupport = %q, want \"true\"", config.SchedulerSupport)
	}
	if config.MaxSchedulerRepeatAllowed != "1000000000" {
		t.Errorf("maxSchedulerRepeatAllowed = %q, want \"1000000000\"", config.MaxSchedulerRepeatAllowed)
	}
	hasResourceProperties(t, s.template, "AWS::AmazonMQ::Broker", map[string]any{
		"Configuration": map[string]any{
			"Id":       s.resolve(s.stack.Broker.Configuration.AttrId()),
			"Revision": s.resolve(s.stack.Broker.Configuration.AttrRevision()),
		},
	})
}

func TestBrokerConfiguration_DispatchQueuePolicy(t *testing.T) {
	// GIVEN the dev stack
	s := synth(t, "dev")

	// WHEN the broker configuration XML is decoded
	config := brokerConfiguration(t, s)

	// THEN the dispatch queue has flow control and its own dead-letter queue
	found := false
	for _, p := range config.Policies {
		if p.Queue != "mqcron.dispatch" {
			continue
		}
		found = true
		if p.ProducerFlowControl != "true" {
			t.Errorf("producerFlowControl = %q, want \"true\"", p.ProducerFlowControl)
		}
		if p.DeadLetter.Individual.QueuePrefix != "DLQ." {
			t.Errorf("dead-letter queuePrefix = %q, want \"DLQ.\"", p.DeadLetter.Individual.QueuePrefix)
		}
	}
	if !found {
		t.Errorf("no policyEntry for queue mqcron.dispatch in %+v", config.Policies)
	}
}

func TestEventSourceMapping_BrokerQueueSecret(t *testing.T) {
	// GIVEN the dev stack
	s := synth(t, "dev")

	// WHEN the event source mapping is compared with the broker and secret
	want := map[string]any{
		"EventSourceArn": s.resolve(s.stack.Broker.Broker.AttrArn()),
		"FunctionName":   s.resolve(s.stack.Functions.Dispatcher.FunctionArn()),
		"Queues":         []any{"mqcron.dispatch"},
		"BatchSize":      100,
		"SourceAccessConfigurations": []any{map[string]any{
			"Type": "BASIC_AUTH",
			"URI":  s.resolve(s.stack.Broker.Secret.SecretArn()),
		}},
	}

	// THEN it reads the dispatch queue of the broker with the secret
	hasResourceProperties(t, s.template, "AWS::Lambda::EventSourceMapping", want)
	if got := len(s.resourcesOfType("AWS::Lambda::EventSourceMapping")); got != 1 {
		t.Errorf("AWS::Lambda::EventSourceMapping count = %d, want 1", got)
	}
}

func TestBroker_NotPubliclyAccessible(t *testing.T) {
	for _, variant := range []string{"dev", "prod"} {
		t.Run(variant, func(t *testing.T) {
			// GIVEN the stack
			s := synth(t, variant)

			// WHEN the brokers are read
			brokers := s.resourcesOfType("AWS::AmazonMQ::Broker")

			// THEN there is one, not public, with its password as a
			// Secrets Manager dynamic reference
			if len(brokers) != 1 {
				t.Fatalf("AWS::AmazonMQ::Broker count = %d, want 1", len(brokers))
			}
			hasResourceProperties(t, s.template, "AWS::AmazonMQ::Broker", map[string]any{
				"PubliclyAccessible": false,
				"EngineType":         "ACTIVEMQ",
			})
			for id, b := range brokers {
				users := asJSON(b.Properties["Users"])
				if !strings.Contains(users, "{{resolve:secretsmanager:") {
					t.Errorf("%s: Users = %s, want a secretsmanager dynamic reference", id, users)
				}
			}
		})
	}
}

func TestDispatcherPolicy_IoTPublishScoped(t *testing.T) {
	// GIVEN the dev stack, whose topic prefix is devices/
	s := synth(t, "dev")

	// WHEN every IAM statement that allows iot:Publish is collected
	var resources []string
	for id, r := range s.resourcesOfType("AWS::IAM::Policy") {
		for _, statement := range policyStatements(r) {
			actions := asStrings(statement["Action"])
			for _, action := range actions {
				if action == "*" || strings.HasPrefix(action, "iot:*") {
					t.Errorf("%s: action %q grants all IoT actions", id, action)
				}
			}
			if contains(actions, "iot:Publish") {
				resources = append(resources, renderArns(statement["Resource"])...)
			}
		}
	}

	// THEN the only resource is the topic prefix
	want := []string{"arn:${AWS::Partition}:iot:${AWS::Region}:${AWS::AccountId}:topic/devices/*"}
	if !reflect.DeepEqual(resources, want) {
		t.Errorf("iot:Publish resources = %q, want %q", resources, want)
	}
	hasResourceProperties(t, s.template, "AWS::IAM::Policy", map[string]any{
		"Roles": []any{s.resolve(s.stack.Functions.DispatcherRole.RoleName())},
		"PolicyDocument": map[string]any{
			"Statement": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{"Action": "iot:Publish", "Effect": "Allow"}),
			}),
		},
	})
}

// policyStatements returns the statements of an AWS::IAM::Policy.
func policyStatements(r resource) []map[string]any {
	document, _ := r.Properties["PolicyDocument"].(map[string]any)
	list, _ := document["Statement"].([]any)
	statements := make([]map[string]any, 0, len(list))
	for _, item := range list {
		if statement, ok := item.(map[string]any); ok {
			statements = append(statements, statement)
		}
	}
	return statements
}

// asStrings returns an IAM Action or Resource value as a list.
func asStrings(v any) []string {
	switch value := v.(type) {
	case string:
		return []string{value}
	case []any:
		var out []string
		for _, item := range value {
			if s, ok := item.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func contains(values []string, want string) bool {
	for _, v := range values {
		if v == want {
			return true
		}
	}
	return false
}

// renderArns renders an IAM Resource value, writing each Ref inside an
// Fn::Join as ${Name}.
func renderArns(v any) []string {
	if list, ok := v.([]any); ok {
		var out []string
		for _, item := range list {
			out = append(out, renderArns(item)...)
		}
		return out
	}
	return []string{render(v)}
}

func render(v any) string {
	switch value := v.(type) {
	case string:
		return value
	case map[string]any:
		if ref, ok := value["Ref"].(string); ok {
			return "${" + ref + "}"
		}
		if join, ok := value["Fn::Join"].([]any); ok && len(join) == 2 {
			separator, _ := join[0].(string)
			parts, _ := join[1].([]any)
			rendered := make([]string, len(parts))
			for i, part := range parts {
				rendered[i] = render(part)
			}
			return strings.Join(rendered, separator)
		}
	}
	return fmt.Sprintf("%v", asJSON(v))
}

func TestStack_SynthesizesWithoutAssets(t *testing.T) {
	// GIVEN the dev stack synthesized from placeholder assets
	s := synth(t, "dev")

	// WHEN its functions are counted
	functions := s.template.FindResources(jsii.String("AWS::Lambda::Function"), map[string]any{
		"Properties": map[string]any{"Runtime": "provided.al2023", "Architectures": []any{"arm64"}, "Handler": "bootstrap"},
	})

	// THEN the scheduler and the dispatcher are Go functions on arm64
	if got := len(*functions); got != 2 {
		t.Errorf("provided.al2023 arm64 functions = %d, want 2", got)
	}
}
