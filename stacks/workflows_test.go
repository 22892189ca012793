package stacks_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// actionlintVersion is the actionlint release the test runs when no
// actionlint binary is installed.
const actionlintVersion = "v1.7.7"

// runActionlint runs actionlint on files in dir, with its shellcheck and pyflakes
// integrations off so that the result does not depend on what else the
// machine has installed. It returns the output and whether it passed.
func runActionlint(t *testing.T, dir string, files ...string) (string, bool) {
	t.Helper()
	args := append([]string{"-no-color", "-shellcheck=", "-pyflakes="}, files...)
	var cmd *exec.Cmd
	if path, err := exec.LookPath("actionlint"); err == nil {
		cmd = exec.Command(path, args...)
	} else if gopath, err := exec.Command("go", "env", "GOPATH").Output(); err == nil &&
		fileExists(filepath.Join(strings.TrimSpace(string(gopath)), "bin", "actionlint")) {
		cmd = exec.Command(filepath.Join(strings.TrimSpace(string(gopath)), "bin", "actionlint"), args...)
	} else {
		cmd = exec.Command("go", append([]string{"run", "github.com/rhysd/actionlint/cmd/actionlint@" + actionlintVersion}, args...)...)
	}
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if _, isExit := err.(*exec.ExitError); err != nil && !isExit {
		t.Fatalf("run %s: %v\n%s", cmd, err, out)
	}
	return string(out), err == nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func TestWorkflows_Actionlint(t *testing.T) {
	// GIVEN the repository's workflows
	for _, name := range []string{"check.yml", "deploy.yml"} {
		if !fileExists(filepath.Join("..", ".github", "workflows", name)) {
			t.Errorf("workflow %s missing", name)
		}
	}

	// WHEN actionlint checks them
	files, err := filepath.Glob(filepath.Join("..", ".github", "workflows", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("list workflows: %v (found %d)", err, len(files))
	}
	for i, f := range files {
		files[i] = strings.TrimPrefix(f, "../")
	}
	out, ok := runActionlint(t, "..", files...)

	// THEN it finds no problem
	if !ok {
		t.Errorf("actionlint reported problems:\n%s", out)
	}
}

func TestWorkflows_ActionlintRejectsBrokenWorkflow(t *testing.T) {
	// GIVEN a workflow that reads an undefined input
	dir := t.TempDir()
	workflows := filepath.Join(dir, ".github", "workflows")
	if err := os.MkdirAll(workflows, 0o755); err != nil {
		t.Fatal(err)
	}
	broken := "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ inputs.missing }}\n"
	if err := os.WriteFile(filepath.Join(workflows, "broken.yml"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}

	// WHEN actionlint checks it
	out, ok := runActionlint(t, dir, filepath.Join(".github", "workflows", "broken.yml"))

	// THEN it fails and names the input, so the test above can fail too
	if ok {
		t.Errorf("actionlint passed a broken workflow:\n%s", out)
	}
	if !strings.Contains(out, "missing") {
		t.Errorf("actionlint output does not name the undefined input:\n%s", out)
	}
}
