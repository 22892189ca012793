package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mqcron/mqcron/internal/wire"
)

func TestReadItems_Formats(t *testing.T) {
	tests := []struct {
		name, file, content string
		wantNames           []string
		wantLines           []int
	}{
		{"JSONArray", "a.json", "[\n  {\"name\": \"a\"},\n\n  {\"name\": \"b\"}\n]\n", []string{"a", "b"}, []int{2, 4}},
		{"JSONLines", "a.jsonl", "{\"name\":\"a\"}\n{\"name\":\"b\"}\n\n{\"name\":\"c\"}\n", []string{"a", "b", "c"}, []int{1, 2, 4}},
		{"YAMLList", "a.yaml", "- name: a\n  qos: 1\n- name: b\n", []string{"a", "b"}, []int{1, 3}},
		{"YAMLDocuments", "a.yml", "name: a\n---\nname: b\n", []string{"a", "b"}, []int{1, 3}},
		{"YAMLWithoutExtension", "list", "- {name: a}\n- {name: b}\n", []string{"a", "b"}, []int{1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := readItems(MustWriteFile(t, tt.file, tt.content), &cliEnv{})
			if err != nil {
				t.Fatalf("readItems: %v", err)
			}
			if len(items) != len(tt.wantNames) {
				t.Fatalf("got %d items, want %d", len(items), len(tt.wantNames))
			}
			for i, item := range items {
				if item.index != i {
					t.Errorf("item %d: index %d", i, item.index)
				}
				if item.name != tt.wantNames[i] {
					t.Errorf("item %d: name %q, want %q", i, item.name, tt.wantNames[i])
				}
				if item.line != tt.wantLines[i] {
					t.Errorf("item %d: line %d, want %d", i, item.line, tt.wantLines[i])
				}
			}
		})
	}
}

func TestReadItems_InvalidJSON(t *testing.T) {
	_, err := readItems(MustWriteFile(t, "a.json", `[{"name":"a"}, {"name":]`), &cliEnv{})
	if err == nil || !strings.Contains(err.Error(), "item 1 (line 1)") {
		t.Errorf("error = %v, want one naming item 1 on line 1", err)
	}
}

func TestReadDocument_YAMLToJSON(t *testing.T) {
	yamlText := "name: n\nstartDate: 2026-03-29T01:00:00Z\ntarget:\n  userProperties: {1: one}\n  payload: [1, 2.5, true, null, \"{{fireId}}\"]\n"
	got, err := readDocument(MustWriteFile(t, "s.yaml", yamlText), &cliEnv{})
	if err != nil {
		t.Fatalf("readDocument: %v", err)
	}
	want := `{"name":"n","startDate":"2026-03-29T01:00:00Z","target":{"payload":[1,2.5,true,null,"{{fireId}}"],"userProperties":{"1":"one"}}}`
	if string(got) != want {
		t.Errorf("JSON = %s, want %s", got, want)
	}
}

func TestReadDocument_JSONUnchanged(t *testing.T) {
	text := `{"name": "n", "b": 1e400}`
	got, err := readDocument(MustWriteFile(t, "s.json", text+"\n"), &cliEnv{})
	if err != nil {
		t.Fatalf("readDocument: %v", err)
	}
	if string(got) != text {
		t.Errorf("JSON = %s, want the file's text %s", got, text)
	}
}

func TestReadDocument_Stdin(t *testing.T) {
	got, err := readDocument("-", &cliEnv{stdin: strings.NewReader("name: n\n")})
	if err != nil {
		t.Fatalf("readDocument: %v", err)
	}
	if string(got) != `{"name":"n"}` {
		t.Errorf("JSON = %s", got)
	}
}

func TestCLI_UsageErrors(t *testing.T) {
	file := MustWriteFile(t, "s.json", `{"id":"other","name":"n"}`)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"create"}, "-f FILE is required"},
		{[]string{"get"}, "got 0 arguments"},
		{[]string{"get", "a", "b"}, "got 2 arguments"},
		{[]string{"list", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"list", "-o", "xml"}, `-o is "xml"`},
		{[]string{"list", "--auth", "basic"}, `--auth is "basic"`},
		{[]string{"list", "--auth", "token"}, "MQCRON_TOKEN"},
		{[]string{"list", "--api", "localhost:8080"}, "--api"},
		{[]string{"delete", "s1", "--if-match", "abc"}, `--if-match is "abc"`},
		{[]string{"update", "s1", "-f", file}, `contains schedule "other", not "s1"`},
		{[]string{"import", "-f", file, "--concurrency", "0"}, "--concurrency is 0"},
		{[]string{"preview", "rate(1 hour)", "rate(2 hours)"}, "give exactly one expression"},
		{[]string{"preview", "rate(1 hour)", "--bogus"}, "flag provided but not defined: -bogus"},
	}
	for _, tt := range tests {
		// No request reaches this address: every case fails before the
		// first call.
		r := runCLI(t, "http://127.0.0.1:9", tt.args...)
		if r.code != 2 {
			t.Errorf("%v: exit = %d, want 2 (stderr %q)", tt.args, r.code, r.stderr)
		}
		if !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%v: stderr = %q, want it to contain %q", tt.args, r.stderr, tt.want)
		}
		if !strings.Contains(r.stderr, fmt.Sprintf("Run 'mqcron %s -h' for usage.", tt.args[0])) {
			t.Errorf("%v: stderr = %q, want the -h hint", tt.args, r.stderr)
		}
	}
}

func TestCLI_PreviewFlagsAfterExpression(t *testing.T) {
	r := runCLI(t, "http://127.0.0.1:9", "preview", "cron(30 2 * * ? *)",
		"--timezone", "Europe/Berlin", "--count", "3", "--after", "2026-03-27T00:00:00Z")
	if r.code != 0 {
		t.Fatalf("exit = %d, want 0 (stderr %q)", r.code, r.stderr)
	}
	// 02:30 does not exist on 29 March in Berlin; the fire comes at the
	// end of the gap.
	want := "2026-03-27T02:30:00+01:00\n2026-03-28T02:30:00+01:00\n2026-03-29T03:00:00+02:00\n"
	if r.stdout != want {
		t.Errorf("stdout = %q, want %q", r.stdout, want)
	}
}

func TestCLI_HelpExitsZero(t *testing.T) {
	r := runCLI(t, "http://127.0.0.1:9", "import", "-h")
	if r.code != 0 {
		t.Errorf("exit = %d, want 0", r.code)
	}
	if !strings.Contains(r.stdout, "usage: mqcron import -f FILE") || !strings.Contains(r.stdout, "-concurrency") {
		t.Errorf("stdout = %q, want the usage and flags of import", r.stdout)
	}
}

func TestParseArgs_Interspersed(t *testing.T) {
	fs := newFlagSet("x", "")
	note := fs.String("note", "", "")
	got, err := parseArgs(fs, []string{"a", "--note", "n", "b", "--", "--c"}, &cliEnv{})
	if err != nil {
		t.Fatalf("parseArgs: %v", err)
	}
	if strings.Join(got, " ") != "a b --c" {
		t.Errorf("positional = %q, want a b --c", got)
	}
	if *note != "n" {
		t.Errorf("note = %q, want n", *note)
	}
}

func TestProgress_Terminal(t *testing.T) {
	var out strings.Builder
	env := &cliEnv{stderr: &out, stderrTerminal: true}
	p := startProgress(env, 3)
	p.add(false)
	p.add(true)
	time.Sleep(250 * time.Millisecond)
	p.add(false)
	p.stop()
	got := out.String()
	if !strings.Contains(got, "\rimport: 2/3 done, 1 failed") {
		t.Errorf("output = %q, want an in-place line for 2/3", got)
	}
	if !strings.HasSuffix(got, "\rimport: 3/3 done, 1 failed\n") {
		t.Errorf("output = %q, want it to end with the final line and a newline", got)
	}
}

func TestProgress_PlainLines(t *testing.T) {
	var out strings.Builder
	env := &cliEnv{stderr: &out, progressEvery: time.Hour}
	p := startProgress(env, 2)
	p.add(false)
	p.add(false)
	p.stop()
	if got := out.String(); got != "import: 2/2 done, 0 failed\n" {
		t.Errorf("output = %q, want one final line without carriage returns", got)
	}
}

func TestParseLocalFlags_CORSOrigins(t *testing.T) {
	f, err := parseLocalFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := wire.SplitList(f.corsOrigins); len(got) != 0 {
		t.Errorf("default origins = %q, want none", got)
	}
	f, err = parseLocalFlags([]string{"--cors-origins", " http://localhost:5173, ,http://127.0.0.1:3000 "})
	if err != nil {
		t.Fatal(err)
	}
	got := wire.SplitList(f.corsOrigins)
	if len(got) != 2 || got[0] != "http://localhost:5173" || got[1] != "http://127.0.0.1:3000" {
		t.Errorf("origins = %q, want [http://localhost:5173 http://127.0.0.1:3000]", got)
	}
}
