package lambdas_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The Lambda binaries must not link the CDK or the jsii runtime, which need
// Node.js and would add tens of megabytes.
func TestLambdas_LinkNoCDK(t *testing.T) {
	for _, pkg := range []string{"./scheduler", "./dispatcher"} {
		cmd := exec.Command("go", "list", "-deps", pkg)
		cmd.Env = append(cmd.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 50 {
			t.Fatalf("go list -deps %s listed %d packages; expected the full dependency list", pkg, len(deps))
		}
		for _, dep := range deps {
			if strings.Contains(dep, "aws-cdk-go") || strings.Contains(dep, "jsii-runtime-go") || strings.Contains(dep, "constructs-go") {
				t.Errorf("%s links %s", pkg, dep)
			}
		}
	}
}
