package timing

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

var updateDocs = flag.Bool("update-docs", false,
	"rewrite the waste figures in docs/expressions.md from the corpus")

// ActiveMQ's parser as Debian's activemq 5.17.2 package installs it.
const (
	activemqClientJar = "/usr/share/activemq/lib/activemq-client.jar"
	jmsSpecJar        = "/usr/share/activemq/lib/geronimo-jms_1.1_spec.jar"
)

// corpusSpan is how long each corpus schedule is followed: a year and a
// day, so that every schedule crosses both offset changes of its zone.
const corpusSpan = 366 * 24 * time.Hour

type corpusCase struct {
	line  int // 0 for a random expression
	zone  string
	expr  string
	spec  *Spec
	sent  time.Time
	cron  string
	fires []time.Time
}

func (c *corpusCase) String() string {
	if c.line == 0 {
		return fmt.Sprintf("random %q in %s (broker cron %q, sent %s)",
			c.expr, c.zone, c.cron, c.sent.UTC().Format(time.RFC3339Nano))
	}
	return fmt.Sprintf("corpus.txt:%d %q in %s (broker cron %q, sent %s)",
		c.line, c.expr, c.zone, c.cron, c.sent.UTC().Format(time.RFC3339Nano))
}

// loadCorpus parses testdata/corpus.txt and compiles each line for a job
// sent at an instant derived from the line, spread over early 2026 and
// over all minutes, seconds and milliseconds.
func loadCorpus(t testing.TB) []*corpusCase {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "corpus.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var out []*corpusCase
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		zone, expr, ok := strings.Cut(line, " | ")
		if !ok {
			t.Fatalf("corpus.txt:%d: want \"zone | expression\", got %q", i+1, line)
		}
		spec, err := Parse(expr, Options{Timezone: zone})
		if err != nil {
			t.Fatalf("corpus.txt:%d: %v", i+1, err)
		}
		h := fnv.New64a()
		h.Write([]byte(line))
		n := h.Sum64()
		sent := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).
			Add(time.Duration(n%(10*24*60)) * time.Minute).
			Add(time.Duration(n/7%60) * time.Second).
			Add(time.Duration(n/11%1000) * time.Millisecond)
		form, err := spec.Broker(sent, 1000)
		if err != nil {
			t.Fatalf("corpus.txt:%d: %v", i+1, err)
		}
		out = append(out, &corpusCase{line: i + 1, zone: zone, expr: expr, spec: spec, sent: sent, cron: form.Cron})
	}
	return out
}

// runActiveMQ compiles testdata/AmqCron.java and returns the broker's fires
// for each case, as Unix milliseconds, computed by ActiveMQ's own parser in
// one JVM.
func runActiveMQ(t *testing.T, cases []*corpusCase) [][]int64 {
	t.Helper()
	javac, errJavac := exec.LookPath("javac")
	java, errJava := exec.LookPath("java")
	_, errJar := os.Stat(activemqClientJar)
	_, errSpec := os.Stat(jmsSpecJar)
	if errJavac != nil || errJava != nil || errJar != nil || errSpec != nil {
		t.Fatalf("this test needs a JDK (javac and java) and ActiveMQ's parser in %s: "+
			"install the Debian packages activemq and openjdk-17-jdk-headless "+
			"(javac: %v, java: %v, jar: %v, jms spec: %v)",
			activemqClientJar, errJavac, errJava, errJar, errSpec)
	}

	dir := t.TempDir()
	classpath := activemqClientJar + ":" + jmsSpecJar
	out, err := exec.Command(javac, "-nowarn", "-cp", classpath, "-d", dir,
		filepath.Join("testdata", "AmqCron.java")).CombinedOutput()
	if err != nil {
		t.Fatalf("javac: %v\n%s", err, out)
	}

	var input bytes.Buffer
	for _, c := range cases {
		until := c.sent.Add(corpusSpan).UnixMilli()
		fmt.Fprintf(&input, "%s\t%d\t%d\t%d\n", c.cron, c.sent.UnixMilli(), until, amqLatency)
	}
	cmd := exec.Command(java, "-Duser.timezone=UTC", "-XX:+UseSerialGC", "-cp", dir+":"+classpath, "AmqCron")
	cmd.Stdin = &input
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	results := make([][]int64, 0, len(cases))
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "ERR ") {
			t.Errorf("%v: ActiveMQ: %s", cases[len(results)], line[4:])
			results = append(results, nil)
			continue
		}
		fields := strings.Fields(line)
		fires := make([]int64, len(fields))
		for i, f := range fields {
			if fires[i], err = strconv.ParseInt(f, 10, 64); err != nil {
				t.Fatalf("harness output: %v", err)
			}
		}
		results = append(results, fires)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("java: %v\n%s", err, stderr.String())
	}
	if len(results) != len(cases) {
		t.Fatalf("harness returned %d lines for %d inputs", len(results), len(cases))
	}
	return results
}

// trueFires returns the fires of c in (sent, sent+corpusSpan].
func trueFires(c *corpusCase) []time.Time {
	until := c.sent.Add(corpusSpan)
	var fires []time.Time
	for t, ok := c.spec.Next(c.sent); ok && !t.After(until); t, ok = c.spec.Next(t) {
		fires = append(fires, t)
	}
	return fires
}

// randomCases returns n random Vixie crons in random corpus zones, sent at
// random instants, each with at most 20,000 fires a year.
func randomCases(t *testing.T, corpus []*corpusCase, n int) []*corpusCase {
	t.Helper()
	r := rand.New(rand.NewPCG(3, 4))
	var out []*corpusCase
	for len(out) < n {
		expr := randomVixie(r)
		zone := corpus[r.IntN(len(corpus))].zone
		spec, err := Parse(expr, Options{Timezone: zone})
		if err != nil {
			continue
		}
		sent := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.Int64N(int64(90 * 24 * time.Hour))))
		if len(spec.Fires(sent, 20_001)) > 20_000 {
			continue
		}
		form, err := spec.Broker(sent, 1000)
		if err != nil {
			continue
		}
		out = append(out, &corpusCase{zone: zone, expr: expr, spec: spec, sent: sent, cron: form.Cron})
	}
	return out
}

// ordinary are corpus expressions whose waste must stay at most 2 in
// every zone except Australia/Lord_Howe: daily and hourly crons, minute
// steps and weekdays. Lord Howe's clocks move by 30 minutes, so a daily
// time maps to two UTC minutes in two UTC hours, and the broker's product
// of minutes and hours wakes up to four times a day.
var ordinary = map[string]bool{
	"0 9 * * *": true, "30 1 * * *": true, "0 12 * * *": true, "@daily": true, "@midnight": true,
	"@hourly": true, "*/15 * * * *": true, "0,30 * * * *": true, "15 * * * *": true,
	"0 */3 * * *": true, "0 9 * * 1-5": true, "*/15 9-17 * * 1-5": true, "0 8-18 * * MON-FRI": true,
	"cron(0 12 * * ? *)": true, "cron(0 18 ? * MON-FRI *)": true, "cron(0/10 * ? * MON-FRI *)": true,
	"cron(0/5 * * * ? *)": true, "0 9,17 * * *": true,
}

func TestSpec_BrokerCoversTrueFiresInActiveMQ(t *testing.T) {
	corpus := loadCorpus(t)
	if len(corpus) < 200 {
		t.Fatalf("corpus has %d expressions, want at least 200", len(corpus))
	}
	cases := append(corpus, randomCases(t, corpus, 150)...)

	// The true fires are computed while the JVM runs.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, c := range cases {
			c.fires = trueFires(c)
		}
	}()
	began := time.Now()
	broker := runActiveMQ(t, cases)
	t.Logf("ActiveMQ's parser: %v", time.Since(began))
	<-done
	t.Logf("true fires: %v", time.Since(began))

	var rows []wasteRow
	for i, c := range cases {
		wakes := broker[i]
		if wakes == nil {
			continue
		}

		// Every true fire has a wake-up that Match maps to it.
		matched := make(map[int64]bool, len(c.fires))
		for _, ms := range wakes {
			if f, ok := c.spec.Match(time.UnixMilli(ms)); ok {
				matched[f.UnixMilli()] = true
			}
		}
		missing := 0
		for _, f := range c.fires {
			if !matched[f.UnixMilli()] {
				if missing < 3 {
					t.Errorf("%v: true fire %s has no broker wake-up", c, f.Format(time.RFC3339))
				}
				missing++
			}
		}
		if missing > 0 {
			t.Errorf("%v: %d of %d true fires missing", c, missing, len(c.fires))
		}

		// The Go port of the parser, which Waste uses, agrees with it.
		port, err := amqFires(c.cron, c.sent, c.sent.Add(corpusSpan).UnixMilli(), len(wakes)+1)
		if err != nil {
			t.Errorf("%v: port: %v", c, err)
		} else if !slices.Equal(port, wakes) {
			t.Errorf("%v: port computes %d wake-ups, ActiveMQ %d; first difference %s",
				c, len(port), len(wakes), firstDifference(port, wakes))
		}

		waste := float64(len(wakes)) / float64(max(len(c.fires), 1))
		if ordinary[c.expr] && c.zone != "Australia/Lord_Howe" && waste > 2.05 {
			t.Errorf("%v: waste %.2f, want at most 2 for an ordinary expression", c, waste)
		}
		if c.line > 0 {
			rows = append(rows, wasteRow{zone: c.zone, expr: c.expr, cron: c.cron, waste: waste})
		}
	}
	if t.Failed() {
		return
	}
	checkWasteDoc(t, rows)
}

func firstDifference(a, b []int64) string {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return fmt.Sprintf("#%d: port %s, ActiveMQ %s", i,
				time.UnixMilli(a[i]).UTC().Format(time.RFC3339Nano), time.UnixMilli(b[i]).UTC().Format(time.RFC3339Nano))
		}
	}
	return "in length"
}

type wasteRow struct {
	zone, expr, cron string
	waste            float64
}

const (
	wasteBegin = "<!-- waste figures: generated by go test ./timing -run BrokerCovers -update-docs -->"
	wasteEnd   = "<!-- end of waste figures -->"
)

// checkWasteDoc renders the waste figures and writes them into
// docs/expressions.md with -update-docs, or checks that the file holds
// them.
func checkWasteDoc(t *testing.T, rows []wasteRow) {
	t.Helper()
	text := renderWaste(rows)
	path := filepath.Join("..", "docs", "expressions.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	begin := bytes.Index(doc, []byte(wasteBegin))
	end := bytes.Index(doc, []byte(wasteEnd))
	if begin < 0 || end < begin {
		t.Fatalf("%s: missing the markers %q and %q", path, wasteBegin, wasteEnd)
	}
	current := string(doc[begin+len(wasteBegin) : end])
	if current == text {
		return
	}
	if !*updateDocs {
		t.Errorf("%s: waste figures are stale; run go test ./timing -run BrokerCovers -update-docs\nwant:%s", path, text)
		return
	}
	updated := string(doc[:begin+len(wasteBegin)]) + text + string(doc[end:])
	if err := os.WriteFile(path, []byte(updated), 0o644); err != nil {
		t.Fatal(err)
	}
}

// renderWaste summarizes waste per corpus line: median, distribution and
// the worst expressions.
func renderWaste(rows []wasteRow) string {
	sorted := slices.Clone(rows)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].waste > sorted[j].waste })
	values := make([]float64, len(rows))
	for i, r := range rows {
		values[i] = r.waste
	}
	slices.Sort(values)
	median := values[len(values)/2]
	if len(values)%2 == 0 {
		median = (values[len(values)/2-1] + values[len(values)/2]) / 2
	}
	atMost := func(limit float64) int {
		n := 0
		for _, v := range values {
			if v <= limit+1e-9 {
				n++
			}
		}
		return n
	}

	var b strings.Builder
	fmt.Fprintf(&b, "\n\nOver the %d schedules of `timing/testdata/corpus.txt`, each followed for "+
		"366 days from a send instant in January 2026:\n\n", len(rows))
	fmt.Fprintf(&b, "- median waste: %.2f wake-ups per fire\n", median)
	fmt.Fprintf(&b, "- waste at most 1.05: %d schedules; at most 2.05: %d; at most 5: %d; above 5: %d\n",
		atMost(1.05), atMost(2.05), atMost(5), len(values)-atMost(5))
	fmt.Fprintf(&b, "- worst: %.2f\n\n", sorted[0].waste)
	b.WriteString("The 12 worst:\n\n| waste | zone | expression | broker cron |\n| ---: | --- | --- | --- |\n")
	for _, r := range sorted[:min(12, len(sorted))] {
		fmt.Fprintf(&b, "| %.2f | %s | `%s` | `%s` |\n", r.waste, r.zone, r.expr, r.cron)
	}
	b.WriteString("\n")
	return b.String()
}
