package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mqcron/mqcron/activemq"
	"github.com/mqcron/mqcron/apitest"
	"github.com/mqcron/mqcron/dynamo"
	"github.com/mqcron/mqcron/httpapi"
	"github.com/mqcron/mqcron/localstack"
	"github.com/mqcron/mqcron/scheduler"
)

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// MustStartAPI serves the real REST API on a private table and broker
// queue of the local servers and returns its URL.
func MustStartAPI(tb testing.TB) string {
	tb.Helper()
	stompAddr, dynamoURL, _ := apitest.Servers(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	table := "cli-" + randomSuffix()
	if err := localstack.EnsureTable(ctx, dynamoURL, table); err != nil {
		tb.Fatalf("create table: %v", err)
	}
	store := dynamo.New(localstack.NewDynamoDBClient(dynamoURL), table)
	broker := activemq.New(activemq.Config{Addr: stompAddr, Queue: "cli.dispatch." + randomSuffix()})
	tb.Cleanup(func() { broker.Close() })
	svc := scheduler.New(scheduler.Config{Store: store, Broker: broker})
	api := httptest.NewServer(httpapi.New(httpapi.Config{Service: svc, Owner: httpapi.DevOwner}))
	tb.Cleanup(api.Close)
	return api.URL
}

// cliResult is the outcome of one command.
type cliResult struct {
	stdout, stderr string
	code           int
}

// runCLI runs `mqcron ARGS...` in-process with MQCRON_API set to api and
// returns its output and exit status.
func runCLI(tb testing.TB, api string, args ...string) cliResult {
	tb.Helper()
	return runCLIEnv(tb, &cliEnv{}, map[string]string{"MQCRON_API": api}, args...)
}

func runCLIEnv(tb testing.TB, env *cliEnv, vars map[string]string, args ...string) cliResult {
	tb.Helper()
	var stdout, stderr bytes.Buffer
	env.stdout, env.stderr = &stdout, &stderr
	if env.stdin == nil {
		env.stdin = strings.NewReader("")
	}
	env.getenv = func(key string) string { return vars[key] }
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var err error
	if args[0] == "preview" {
		err = runPreviewCommand(ctx, args[1:], env)
	} else if found, runErr := runAPICommand(ctx, args[0], args[1:], env); !found {
		tb.Fatalf("unknown command %q", args[0])
	} else {
		err = runErr
	}
	code := reportError(&stderr, args[0], err)
	return cliResult{stdout.String(), stderr.String(), code}
}

// MustWriteFile writes content to name in a test folder and returns its
// path.
func MustWriteFile(tb testing.TB, name, content string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

func compact(tb testing.TB, raw json.RawMessage) string {
	tb.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		tb.Fatalf("compact %q: %v", raw, err)
	}
	return b.String()
}

type scheduleOut struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Owner     string   `json:"owner"`
	Version   int64    `json:"version"`
	State     string   `json:"state"`
	StateNote string   `json:"stateNote"`
	NextFires []string `json:"nextFires"`
	Target    struct {
		Topics  []string        `json:"topics"`
		Payload json.RawMessage `json:"payload"`
	} `json:"target"`
	Description string `json:"description"`
}

func mustDecode(tb testing.TB, r cliResult, v any) {
	tb.Helper()
	if r.code != 0 {
		tb.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		tb.Fatalf("decode stdout %q: %v", r.stdout, err)
	}
}

const yamlSchedule = `name: %s
description: thermostat set point
scheduleExpression: rate(1 hour)
scheduleExpressionTimezone: Europe/Berlin
target:
  topics: [cli/%s/cmd]
  qos: 1
  payload:
    setpoint: 21.5
    fire: "{{fireId}}"
`

func TestCLI_ScheduleLifecycle(t *testing.T) {
	api := MustStartAPI(t)
	name := "lifecycle-" + randomSuffix()
	file := MustWriteFile(t, "s.yaml", fmt.Sprintf(yamlSchedule, name, name))

	// create reads YAML and prints the stored schedule.
	var created scheduleOut
	mustDecode(t, runCLI(t, api, "create", "-f", file), &created)
	if created.ID == "" || created.Name != name || created.Version != 1 || created.State != "ENABLED" {
		t.Fatalf("created = %+v, want id, name %s, version 1, ENABLED", created, name)
	}
	if compact(t, created.Target.Payload) != `{"fire":"{{fireId}}","setpoint":21.5}` {
		t.Errorf("payload = %s, want the YAML payload as JSON", created.Target.Payload)
	}
	if created.Owner != "local" {
		t.Errorf("owner = %q, want local", created.Owner)
	}

	// get returns the same schedule; flags may follow the id.
	var got scheduleOut
	mustDecode(t, runCLI(t, api, "get", created.ID, "--timeout", "10s"), &got)
	if got.ID != created.ID || got.Version != 1 {
		t.Errorf("get = %+v, want %s version 1", got, created.ID)
	}

	// list prints a table row with id, name, state, expression, zone and
	// next fire.
	r := runCLI(t, api, "list", "--name-prefix", name)
	if r.code != 0 {
		t.Fatalf("list exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("list printed %d lines, want header and 1 row:\n%s", len(lines), r.stdout)
	}
	if fields := strings.Fields(lines[0]); strings.Join(fields, " ") != "ID NAME STATE EXPRESSION ZONE NEXT FIRE" {
		t.Errorf("header = %q", lines[0])
	}
	row := strings.Fields(lines[1])
	wantRow := []string{created.ID, name, "ENABLED", "rate(1", "hour)", "Europe/Berlin"}
	if len(row) != 7 || strings.Join(row[:6], " ") != strings.Join(wantRow, " ") {
		t.Errorf("row = %q, want %q then the next fire", row, wantRow)
	}
	if len(row) == 7 {
		if _, err := time.Parse(time.RFC3339, row[6]); err != nil {
			t.Errorf("next fire %q is not RFC 3339: %v", row[6], err)
		}
	}

	// update with a stale --if-match fails with 412 and exit status 1.
	getOut := runCLI(t, api, "get", created.ID).stdout
	edited := MustWriteFile(t, "edit.json", strings.Replace(getOut, "thermostat set point", "new description", 1))
	r = runCLI(t, api, "update", created.ID, "-f", edited, "--if-match", "7")
	if r.code != 1 || !strings.Contains(r.stderr, "412 Schedule changed") {
		t.Errorf("stale update: exit %d, stderr %q; want 1 and 412 Schedule changed", r.code, r.stderr)
	}

	// update with the output of get: server fields are dropped and the
	// file's version guards the write.
	var updated scheduleOut
	mustDecode(t, runCLI(t, api, "update", created.ID, "-f", edited), &updated)
	if updated.Description != "new description" || updated.Version != 2 {
		t.Errorf("updated = %+v, want the new description at version 2", updated)
	}
	r = runCLI(t, api, "update", created.ID, "-f", edited)
	if r.code != 1 || !strings.Contains(r.stderr, "412") {
		t.Errorf("second update from the version 1 file: exit %d, stderr %q; want 1 and 412", r.code, r.stderr)
	}

	// patch applies a YAML merge patch with If-Match; the payload object is
	// merged, so its other members stay.
	patch := MustWriteFile(t, "p.yaml", "description: null\ntarget:\n  payload: {setpoint: 19}\n")
	var patched scheduleOut
	mustDecode(t, runCLI(t, api, "patch", created.ID, "-f", patch, "--if-match", `"2"`), &patched)
	if patched.Description != "" || compact(t, patched.Target.Payload) != `{"fire":"{{fireId}}","setpoint":19}` || patched.Version != 3 {
		t.Errorf("patched = %+v, payload %s; want no description, setpoint 19, version 3", patched, patched.Target.Payload)
	}

	// pause and resume store the note.
	var paused scheduleOut
	mustDecode(t, runCLI(t, api, "pause", created.ID, "--note", "maintenance window"), &paused)
	if paused.State != "DISABLED" || paused.StateNote != "maintenance window" {
		t.Errorf("paused = %+v, want DISABLED with the note", paused)
	}
	r = runCLI(t, api, "list", "--state", "DISABLED", "-o", "json", "--name-prefix", name)
	var page struct {
		Schedules []scheduleOut `json:"schedules"`
	}
	mustDecode(t, r, &page)
	if len(page.Schedules) != 1 || page.Schedules[0].ID != created.ID {
		t.Errorf("DISABLED schedules = %+v, want only %s", page.Schedules, created.ID)
	}
	var resumed scheduleOut
	mustDecode(t, runCLI(t, api, "resume", created.ID), &resumed)
	if resumed.State != "ENABLED" {
		t.Errorf("resumed state = %s, want ENABLED", resumed.State)
	}

	// trigger queues one fire now.
	var fire struct {
		FireAt string `json:"fireAt"`
		FireID string `json:"fireId"`
	}
	mustDecode(t, runCLI(t, api, "trigger", created.ID), &fire)
	if !strings.HasPrefix(fire.FireID, created.ID+"@") {
		t.Errorf("fire id = %q, want one of %s", fire.FireID, created.ID)
	}

	// runs prints a table header even with no runs recorded.
	r = runCLI(t, api, "runs", created.ID)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "FIRE AT") {
		t.Errorf("runs: exit %d, stdout %q", r.code, r.stdout)
	}

	// delete, then get returns 404 with exit status 1.
	if r := runCLI(t, api, "delete", created.ID); r.code != 0 || r.stdout != "" {
		t.Errorf("delete: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, api, "get", created.ID)
	if r.code != 1 || !strings.Contains(r.stderr, "mqcron get: 404 Schedule not found") {
		t.Errorf("get after delete: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestCLI_ValidationErrorPrinted(t *testing.T) {
	api := MustStartAPI(t)
	file := MustWriteFile(t, "bad.json", `{"name":"bad","scheduleExpression":"rate(1 hour)",
		"target":{"topics":["a/+/b"],"qos":5},"color":"red"}`)
	r := runCLI(t, api, "create", "-f", file)
	if r.code != 1 {
		t.Errorf("exit = %d, want 1", r.code)
	}
	if !strings.HasPrefix(r.stderr, "mqcron create: 400 Invalid request") {
		t.Errorf("stderr = %q, want it to start with the status and title", r.stderr)
	}
	if !strings.Contains(r.stderr, "\n  /color: ") {
		t.Errorf("stderr = %q, want a /color field error line", r.stderr)
	}
}

func TestCLI_ListAllFollowsNextToken(t *testing.T) {
	api := MustStartAPI(t)
	prefix := "page-" + randomSuffix() + "-"
	for i := range 3 {
		file := MustWriteFile(t, "s.yaml", fmt.Sprintf(yamlSchedule, prefix+fmt.Sprint(i), prefix))
		if r := runCLI(t, api, "create", "-f", file); r.code != 0 {
			t.Fatalf("create %d: %s", i, r.stderr)
		}
	}
	r := runCLI(t, api, "list", "--name-prefix", prefix, "--limit", "2")
	if got := strings.Count(strings.TrimSpace(r.stdout), "\n"); got != 2 {
		t.Errorf("first page has %d rows, want 2:\n%s", got, r.stdout)
	}
	if !strings.Contains(r.stderr, "--next-token ") {
		t.Errorf("stderr = %q, want a hint naming --next-token", r.stderr)
	}
	var page struct {
		Schedules []scheduleOut `json:"schedules"`
		NextToken string        `json:"nextToken"`
	}
	mustDecode(t, runCLI(t, api, "list", "--name-prefix", prefix, "--limit", "2", "--all", "-o", "json"), &page)
	if len(page.Schedules) != 3 || page.NextToken != "" {
		t.Errorf("--all listed %d schedules with next token %q, want 3 and none", len(page.Schedules), page.NextToken)
	}
}

func TestCLI_OwnerIsolation(t *testing.T) {
	api := MustStartAPI(t)
	name := "owned-" + randomSuffix()
	file := MustWriteFile(t, "s.yaml", fmt.Sprintf(yamlSchedule, name, name))
	var created scheduleOut
	mustDecode(t, runCLI(t, api, "create", "-f", file, "--owner", "alice"), &created)
	if created.Owner != "alice" {
		t.Errorf("owner = %q, want alice", created.Owner)
	}
	r := runCLIEnv(t, &cliEnv{}, map[string]string{"MQCRON_API": api, "MQCRON_OWNER": "bob"}, "get", created.ID)
	if r.code != 1 || !strings.Contains(r.stderr, "404") {
		t.Errorf("bob's get: exit %d, stderr %q; want 1 and 404", r.code, r.stderr)
	}
}

func TestCLI_RemotePreview(t *testing.T) {
	api := MustStartAPI(t)
	args := []string{"preview", "--count", "2", "--timezone", "Europe/Berlin", "--after", "2026-03-28T12:00:00Z", "cron(30 2 * * ? *)"}
	offline := runCLI(t, api, args...)
	remote := runCLI(t, api, append(args, "--remote")...)
	if offline.code != 0 || remote.code != 0 {
		t.Fatalf("exit offline %d (%s), remote %d (%s)", offline.code, offline.stderr, remote.code, remote.stderr)
	}
	if remote.stdout != offline.stdout || strings.Count(remote.stdout, "\n") != 2 {
		t.Errorf("remote preview = %q, offline = %q; want the same 2 fires", remote.stdout, offline.stdout)
	}
}

// importFile returns a YAML list of n schedules named prefix-INDEX; the
// items at the indexes in invalid get a topic with a '+' wildcard.
func importFile(prefix string, n int, invalid map[int]bool) string {
	var b strings.Builder
	b.WriteString("# bulk import\n")
	for i := range n {
		topic := fmt.Sprintf("cli/%s/%d/cmd", prefix, i)
		if invalid[i] {
			topic = "cli/+/cmd"
		}
		fmt.Fprintf(&b, "- name: %s-%d\n  scheduleExpression: rate(1 hour)\n  target:\n    topics: [%q]\n    qos: 1\n    payload: {n: %d}\n",
			prefix, i, topic, i)
	}
	return b.String()
}

func TestCLI_ImportReportsFailuresAndIsIdempotent(t *testing.T) {
	api := MustStartAPI(t)
	prefix := "bulk-" + randomSuffix()
	file := MustWriteFile(t, "fleet.yaml", importFile(prefix, 50, map[int]bool{7: true, 31: true}))

	countCreated := func() int {
		t.Helper()
		var page struct {
			Schedules []scheduleOut `json:"schedules"`
		}
		mustDecode(t, runCLI(t, api, "list", "--name-prefix", prefix, "--all", "-o", "json"), &page)
		return len(page.Schedules)
	}

	for run := 1; run <= 2; run++ {
		r := runCLI(t, api, "import", "-f", file, "--concurrency", "8")
		if r.code != 1 {
			t.Errorf("run %d: exit = %d, want 1 because 2 items failed", run, r.code)
		}
		if !strings.Contains(r.stderr, "import: 50 items, 48 succeeded, 2 failed\n") {
			t.Errorf("run %d: stderr lacks the summary line:\n%s", run, r.stderr)
		}
		// Each item is 6 lines after the comment line, so item i starts on
		// line 2 + 6i.
		for _, want := range []string{
			fmt.Sprintf("item 7 (line 44, name %q): 400 Invalid request", prefix+"-7"),
			fmt.Sprintf("item 31 (line 188, name %q): 400 Invalid request", prefix+"-31"),
			"  /target/topics/0: ",
		} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("run %d: stderr lacks %q:\n%s", run, want, r.stderr)
			}
		}
		if got := strings.Count(r.stderr, "400 Invalid request"); got != 2 {
			t.Errorf("run %d: %d failures reported, want 2", run, got)
		}
		if got := countCreated(); got != 48 {
			t.Errorf("after run %d: %d schedules exist, want 48", run, got)
		}
	}
}

func TestCLI_ImportKeyReuseDetected(t *testing.T) {
	api := MustStartAPI(t)
	prefix := "reuse-" + randomSuffix()
	first := MustWriteFile(t, "same.json", fmt.Sprintf(
		`[{"name":"%s-a","scheduleExpression":"rate(1 hour)","target":{"topics":["cli/r"],"qos":0,"payload":1}}]`, prefix))
	if r := runCLI(t, api, "import", "-f", first); r.code != 0 {
		t.Fatalf("first import: exit %d, %s", r.code, r.stderr)
	}

	// A different file with the same base name reuses the keys; the item
	// at index 0 now has another body, which the API rejects with 422.
	second := MustWriteFile(t, "same.json", fmt.Sprintf(
		`[{"name":"%s-b","scheduleExpression":"rate(1 hour)","target":{"topics":["cli/r"],"qos":0,"payload":1}}]`, prefix))
	r := runCLI(t, api, "import", "-f", second)
	if r.code != 1 || !strings.Contains(r.stderr, "422 Idempotency key reused") {
		t.Errorf("second import: exit %d, stderr %q; want 1 and the key reuse", r.code, r.stderr)
	}
	if r := runCLI(t, api, "import", "-f", second, "--key-prefix", "fresh-"+prefix); r.code != 0 {
		t.Errorf("import with a new --key-prefix: exit %d, %s", r.code, r.stderr)
	}
}
