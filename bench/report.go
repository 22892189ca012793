package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// row is one measured figure: its value in each repetition and the target
// it is compared with.
type row struct {
	key     string
	section string
	label   string
	unit    string
	digits  int
	target  string
	// meets reports whether a median meets the target; nil when the row
	// has no target.
	meets  func(float64) bool
	values []float64
}

// results are the rows of one bench run, in the order they were first
// recorded.
type results struct {
	rows  []*row
	index map[string]*row
}

func newResults() *results {
	return &results{index: map[string]*row{}}
}

// rowSpec describes a row without its values.
type rowSpec struct {
	section, label, unit string
	digits               int
	target               string
	meets                func(float64) bool
}

// put appends value to the row key, creating the row from spec on first
// use.
func (r *results) put(key string, spec rowSpec, value float64) {
	rw, ok := r.index[key]
	if !ok {
		rw = &row{key: key, section: spec.section, label: spec.label, unit: spec.unit,
			digits: spec.digits, target: spec.target, meets: spec.meets}
		r.index[key] = rw
		r.rows = append(r.rows, rw)
	}
	rw.values = append(rw.values, value)
}

// median returns the median of row key, or NaN when it has no value.
func (r *results) median(key string) float64 {
	rw, ok := r.index[key]
	if !ok {
		return math.NaN()
	}
	return summarize(rw.values).median
}

// latest returns the value of row key from the latest repetition, or NaN
// when it has none.
func (r *results) latest(key string) float64 {
	rw, ok := r.index[key]
	if !ok || len(rw.values) == 0 {
		return math.NaN()
	}
	return rw.values[len(rw.values)-1]
}

// atMost, atLeast and below build target checks.
func atMost(limit float64) func(float64) bool  { return func(v float64) bool { return v <= limit } }
func atLeast(limit float64) func(float64) bool { return func(v float64) bool { return v >= limit } }
func below(limit float64) func(float64) bool   { return func(v float64) bool { return v < limit } }

// writeTables writes one Markdown table per section, in the order of
// sections, and then any other section in the order first recorded.
func (r *results) writeTables(w io.Writer, sections []string) {
	for _, rw := range r.rows {
		if !slices.Contains(sections, rw.section) {
			sections = append(sections, rw.section)
		}
	}
	for _, section := range sections {
		header := false
		for _, rw := range r.rows {
			if rw.section != section {
				continue
			}
			if !header {
				header = true
				fmt.Fprintf(w, "\n### %s\n\n", section)
				fmt.Fprintln(w, "| measurement | unit | median | min | max | runs | target | met |")
				fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: | --- | --- |")
			}
			rw.write(w)
		}
	}
}

func (rw *row) write(w io.Writer) {
	s := summarize(rw.values)
	met := ""
	if rw.meets != nil {
		switch {
		case math.IsNaN(s.median):
			met = "n/a"
		case rw.meets(s.median):
			met = "yes"
		default:
			met = "**no**"
		}
	}
	fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %d | %s | %s |\n", rw.label, rw.unit,
		format(s.median, rw.digits), format(s.min, rw.digits), format(s.max, rw.digits),
		countValid(rw.values), rw.target, met)
}

func countValid(values []float64) int {
	n := 0
	for _, v := range values {
		if !math.IsNaN(v) {
			n++
		}
	}
	return n
}

// format writes v with the given decimals and thousands separators.
func format(v float64, digits int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	s := fmt.Sprintf("%.*f", digits, v)
	whole, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(whole, "-")
	whole = strings.TrimPrefix(whole, "-")
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if neg {
		out = "-" + out
	}
	if frac != "" {
		out += "." + frac
	}
	return out
}

// machine describes where and how the bench ran.
type machine struct {
	commit   string
	cores    int
	memory   string
	cpu      string
	kernel   string
	versions string
	command  string
	started  time.Time
	finished time.Time
}

// describeMachine reads the commit, the machine and the server versions.
func describeMachine(command, toolsDir string, started time.Time) machine {
	m := machine{cores: runtime.NumCPU(), command: command, started: started}
	m.commit = gitCommit()
	m.memory = memTotal()
	m.cpu = cpuModel()
	m.kernel = strings.TrimSpace(readFirst("/proc/sys/kernel/osrelease"))
	m.versions = serverVersions(toolsDir)
	return m
}

// gitCommit returns the short commit of HEAD, with "-dirty" when the work
// tree has changes, or "unknown" outside a repository.
func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	commit := strings.TrimSpace(string(out))
	status, err := exec.Command("git", "status", "--porcelain").Output()
	if err == nil && len(strings.TrimSpace(string(status))) > 0 {
		commit += "-dirty"
	}
	return commit
}

// memTotal returns MemTotal from /proc/meminfo in GiB.
func memTotal() string {
	for _, line := range strings.Split(readFirst("/proc/meminfo"), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(v), "%f", &kb)
			return fmt.Sprintf("%.1f GiB", kb/(1<<20))
		}
	}
	return "unknown"
}

// cpuModel returns the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	for _, line := range strings.Split(readFirst("/proc/cpuinfo"), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// serverVersions returns the versions of ActiveMQ, mosquitto, dynalite,
// Java and Go.
func serverVersions(toolsDir string) string {
	var parts []string
	for _, pkg := range []string{"activemq", "mosquitto"} {
		out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", pkg).Output()
		if err == nil {
			parts = append(parts, pkg+" "+strings.TrimSpace(string(out)))
		}
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if json.Unmarshal([]byte(readFirst(toolsDir+"/node_modules/dynalite/package.json")), &pkg) == nil && pkg.Version != "" {
		parts = append(parts, "dynalite "+pkg.Version)
	}
	if out, err := exec.Command("java", "-version").CombinedOutput(); err == nil {
		first, _, _ := strings.Cut(string(out), "\n")
		parts = append(parts, strings.TrimSpace(first))
	}
	parts = append(parts, runtime.Version())
	return strings.Join(parts, ", ")
}

func readFirst(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(b)
}

// writeBusiest writes, for each measurement with CPU rows, the process
// that used the most CPU and the total over all processes (medians).
func (r *results) writeBusiest(w io.Writer) {
	type phase struct {
		name            string
		busiest         string
		maxCores, total float64
	}
	var phases []*phase
	byName := map[string]*phase{}
	for _, rw := range r.rows {
		rest, ok := strings.CutPrefix(rw.key, "cpu.")
		if !ok {
			continue
		}
		i := strings.LastIndexByte(rest, '.')
		name, part := rest[:i], rest[i+1:]
		p, ok := byName[name]
		if !ok {
			p = &phase{name: name}
			byName[name] = p
			phases = append(phases, p)
		}
		cores := summarize(rw.values).median
		if math.IsNaN(cores) {
			continue
		}
		p.total += cores
		if cores > p.maxCores {
			p.maxCores, p.busiest = cores, part
		}
	}
	if len(phases) == 0 {
		return
	}
	fmt.Fprint(w, "\n### Busiest process per measurement\n\n")
	fmt.Fprint(w, "dynalite (Node.js) and mosquitto handle requests on one thread, so about 1 core is their ceiling.\n\n")
	fmt.Fprintln(w, "| measurement | busiest process | its cores | all processes' cores |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: |")
	for _, p := range phases {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", p.name, p.busiest, format(p.maxCores, 2), format(p.total, 2))
	}
}
