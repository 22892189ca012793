package stacks_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/mqcron/mqcron/stacks"
)

// synthesized is one environment's stack, synthesized once per test binary
// because each synthesis costs seconds of jsii work.
type synthesized struct {
	stack       *stacks.MqcronStack
	template    assertions.Template
	annotations assertions.Annotations
	// resources is the template's Resources section as plain JSON.
	resources map[string]resource
	outputs   map[string]any
}

// resource is one entry of a template's Resources section.
type resource struct {
	Type           string         `json:"Type"`
	Properties     map[string]any `json:"Properties"`
	Metadata       map[string]any `json:"Metadata"`
	DeletionPolicy string         `json:"DeletionPolicy"`
}

var (
	synthOnce   = map[string]*sync.Once{"dev": {}, "prod": {}, "iam": {}}
	synthResult = map[string]*synthesized{}
	synthErr    = map[string]error{}
	assetDir    string
)

func TestMain(m *testing.M) {
	os.Setenv("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
	dir, err := makeAssetDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, "stacks_test:", err)
		os.Exit(1)
	}
	assetDir = dir
	code := m.Run()
	jsii.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// makeAssetDir creates placeholder bootstrap files, so that synthesis does
// not depend on the Lambda build.
func makeAssetDir() (string, error) {
	dir, err := os.MkdirTemp("", "mqcron-assets-")
	if err != nil {
		return "", fmt.Errorf("create asset dir: %w", err)
	}
	for _, name := range []string{"scheduler", "dispatcher"} {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			return "", fmt.Errorf("create asset dir: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "bootstrap"), []byte("placeholder"), 0o755); err != nil {
			return "", fmt.Errorf("create asset dir: %w", err)
		}
	}
	return dir, nil
}

// cdkContext returns the "mqcron" context object of the repository's
// cdk.json.
func cdkContext(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile("../cdk.json")
	if err != nil {
		t.Fatalf("read cdk.json: %v", err)
	}
	var file struct {
		Context struct {
			Mqcron map[string]any `json:"mqcron"`
		} `json:"context"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatalf("parse cdk.json: %v", err)
	}
	return file.Context.Mqcron
}

// synth returns the stack of variant. The "dev" and "prod" variants use
// cdk.json as shipped. The "iam" variant is dev with IAM auth, no CORS, a
// fixed IoT endpoint and alarms mailed to an address.
func synth(t *testing.T, variant string) *synthesized {
	t.Helper()
	synthOnce[variant].Do(func() {
		synthResult[variant], synthErr[variant] = synthVariant(t, variant)
	})
	if err := synthErr[variant]; err != nil {
		t.Fatalf("synthesize %s: %v", variant, err)
	}
	return synthResult[variant]
}

func synthVariant(t *testing.T, variant string) (*synthesized, error) {
	t.Helper()
	env := variant
	if variant == "iam" {
		env = "dev"
	}
	settings, err := stacks.LoadSettings(env, cdkContext(t))
	if err != nil {
		return nil, err
	}
	settings.AssetDir = assetDir
	if variant == "iam" {
		settings.API.Auth = stacks.AuthIAM
		settings.API.CORSOrigins = nil
		settings.IoTEndpoint = "abc123-ats.iot.eu-west-1.amazonaws.com"
		settings.Alarms.Enabled = true
		settings.Alarms.Email = "ops@example.com"
	}

	app := awscdk.NewApp(&awscdk.AppProps{AnalyticsReporting: jsii.Bool(false)})
	stack := stacks.NewMqcronStack(app, "Mqcron", &stacks.MqcronStackProps{Settings: settings})
	stacks.AddNagChecks(app)
	s := &synthesized{
		stack:       stack,
		template:    assertions.Template_FromStack(stack.Stack, nil),
		annotations: assertions.Annotations_FromStack(stack.Stack),
	}

	var parsed struct {
		Resources map[string]resource `json:"Resources"`
		Outputs   map[string]any      `json:"Outputs"`
	}
	data, err := json.Marshal(s.template.ToJSON())
	if err != nil {
		return nil, fmt.Errorf("encode template: %w", err)
	}
	if err := json.Unmarshal(data, &parsed); err != nil {
		return nil, fmt.Errorf("decode template: %w", err)
	}
	s.resources = parsed.Resources
	s.outputs = parsed.Outputs
	return s, nil
}

// resourcesOfType returns the logical ids and resources of type kind.
func (s *synthesized) resourcesOfType(kind string) map[string]resource {
	found := map[string]resource{}
	for id, r := range s.resources {
		if r.Type == kind {
			found[id] = r
		}
	}
	return found
}

// resolve returns the CloudFormation form of a token, such as
// {"Fn::GetAtt": [...]}, for comparison with template values.
func (s *synthesized) resolve(token any) any {
	return s.stack.Resolve(token)
}

// hasResourceProperties runs Template.HasResourceProperties and turns its
// panic on mismatch into a test error.
func hasResourceProperties(t *testing.T, tmpl assertions.Template, kind string, props any) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("no %s with the expected properties: %v", kind, r)
		}
	}()
	tmpl.HasResourceProperties(jsii.String(kind), props)
}

// asJSON returns v encoded as JSON, for comparisons and messages.
func asJSON(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(data)
}
