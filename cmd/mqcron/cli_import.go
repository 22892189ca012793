package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/mqcron/mqcron/client"
)

// Import limits.
const (
	maxImportConcurrency = 64
	importAttempts       = 3
	maxRetryWait         = 10 * time.Second
)

func runImport(ctx context.Context, args []string, env *cliEnv) error {
	fs := newFlagSet("import", "-f FILE [flags]")
	file := fs.String("f", "", "JSON array, JSON lines, YAML list or YAML documents of schedules; - reads stdin")
	concurrency := fs.Int("concurrency", 8, fmt.Sprintf("requests in flight, 1 to %d", maxImportConcurrency))
	keyPrefix := fs.String("key-prefix", "", "prefix of each item's Idempotency-Key, followed by -INDEX "+
		"(default: derived from the file name, so a rerun of the same file creates nothing twice)")
	g := addGlobalFlags(fs, env)
	s, err := setup(ctx, fs, g, args, 0, env)
	if err != nil {
		return err
	}
	if *file == "" {
		return usagef("import", "-f FILE is required")
	}
	if *concurrency < 1 || *concurrency > maxImportConcurrency {
		return usagef("import", "--concurrency is %d; give 1 to %d", *concurrency, maxImportConcurrency)
	}
	if *keyPrefix == "" {
		*keyPrefix = importKeyPrefix(*file)
	}
	if len(*keyPrefix) > 100 || strings.ContainsFunc(*keyPrefix, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
		return usagef("import", "--key-prefix must be 1 to 100 printable ASCII characters without spaces")
	}
	items, err := readItems(*file, env)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return fmt.Errorf("%s contains no schedules", *file)
	}

	errs := importItems(ctx, s.client, items, *keyPrefix, *concurrency, env)
	if !printImportSummary(env.stderr, items, errs) {
		return errReported
	}
	return nil
}

// importKeyPrefix derives the Idempotency-Key prefix from the file's base
// name, so that the keys stay the same when the file is imported again
// from another folder.
func importKeyPrefix(path string) string {
	name := filepath.Base(path)
	if path == "-" {
		name = "stdin"
	}
	sum := sha256.Sum256([]byte(name))
	return "import-" + hex.EncodeToString(sum[:8])
}

// importItems creates every item with up to concurrency requests in
// flight and returns each item's error, nil on success.
func importItems(ctx context.Context, c *client.Client, items []importItem, keyPrefix string, concurrency int, env *cliEnv) []error {
	errs := make([]error, len(items))
	progress := startProgress(env, len(items))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(concurrency, len(items)) {
		wg.Go(func() {
			for i := range next {
				errs[i] = importItemOnce(ctx, c, items[i], fmt.Sprintf("%s-%d", keyPrefix, items[i].index))
				progress.add(errs[i] != nil)
			}
		})
	}
	for i := range items {
		next <- i
	}
	close(next)
	wg.Wait()
	progress.stop()
	return errs
}

// errKeyReused is an item whose Idempotency-Key returned a schedule with
// another name. The API rejects a key sent with another body (422), so
// this is a second check against an API that returns the first result.
var errKeyReused = errors.New("idempotency key already used")

// importItemOnce creates one item. A 503 response or a network error is
// retried, which the Idempotency-Key makes safe.
func importItemOnce(ctx context.Context, c *client.Client, item importItem, key string) error {
	if item.err != nil {
		return item.err
	}
	for attempt := 1; ; attempt++ {
		sched, err := c.CreateScheduleJSON(ctx, item.body, key)
		if err == nil {
			if item.name != "" && sched.Name != item.name {
				return fmt.Errorf("%w: key %s returned schedule %s named %q, created by an earlier import "+
					"(keys are kept 24 hours); rerun with another --key-prefix", errKeyReused, key, sched.ID, sched.Name)
			}
			return nil
		}
		wait, retry := retryDelay(err, attempt)
		if !retry || attempt == importAttempts || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// retryDelay reports whether err is worth another attempt and how long to
// wait first.
func retryDelay(err error, attempt int) (time.Duration, bool) {
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		if apiErr.StatusCode != 503 {
			return 0, false
		}
		if apiErr.RetryAfter > 0 {
			return min(apiErr.RetryAfter, maxRetryWait), true
		}
	}
	if errors.Is(err, context.Canceled) {
		return 0, false
	}
	return time.Duration(attempt) * time.Second, true
}

// printImportSummary writes the counts and one entry per failed item, and
// reports whether every item succeeded.
func printImportSummary(w io.Writer, items []importItem, errs []error) bool {
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
		}
	}
	fmt.Fprintf(w, "import: %d items, %d succeeded, %d failed\n", len(items), len(items)-failed, failed)
	for i, err := range errs {
		if err == nil {
			continue
		}
		prefix := fmt.Sprintf("item %d (line %d, name %q): ", items[i].index, items[i].line, items[i].name)
		var apiErr *client.APIError
		if errors.As(err, &apiErr) {
			printProblem(w, prefix, apiErr)
			continue
		}
		fmt.Fprintf(w, "%s%v\n", prefix, err)
	}
	return failed == 0
}

// progress writes "import: DONE/TOTAL done, N failed" to stderr: in place
// every 100 ms on a terminal, otherwise as a new line every
// env.progressEvery, and once more at the end.
type progress struct {
	env          *cliEnv
	mu           sync.Mutex
	total, done  int
	failed       int
	last         string
	quit, exited chan struct{}
}

func startProgress(env *cliEnv, total int) *progress {
	p := &progress{env: env, total: total, quit: make(chan struct{}), exited: make(chan struct{})}
	every := env.progressEvery
	if env.stderrTerminal {
		every = 100 * time.Millisecond
	}
	go func() {
		defer close(p.exited)
		if every <= 0 {
			<-p.quit
			return
		}
		ticker := time.NewTicker(every)
		defer ticker.Stop()
		for {
			select {
			case <-p.quit:
				return
			case <-ticker.C:
				p.print(false)
			}
		}
	}()
	return p
}

func (p *progress) add(failed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if failed {
		p.failed++
	}
}

func (p *progress) stop() {
	close(p.quit)
	<-p.exited
	p.print(true)
}

func (p *progress) print(final bool) {
	p.mu.Lock()
	line := fmt.Sprintf("import: %d/%d done, %d failed", p.done, p.total, p.failed)
	p.mu.Unlock()
	if line == p.last && !(final && p.env.stderrTerminal) {
		return
	}
	p.last = line
	switch {
	case !p.env.stderrTerminal:
		fmt.Fprintln(p.env.stderr, line)
	case final:
		fmt.Fprintf(p.env.stderr, "\r%s\n", line)
	default:
		fmt.Fprintf(p.env.stderr, "\r%s", line)
	}
}
