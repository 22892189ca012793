package localstack

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockName is the file in the data folder on which a running stack keeps an
// exclusive flock. The kernel releases a flock when its last descriptor
// closes, and Go opens files close-on-exec, so the servers do not inherit
// it: the lock ends with the process that took it, even after a crash.
const lockName = "stack.lock"

// lockDir takes the data folder's lock and writes this process's id into
// the lock file. It fails while another process has the lock, because a
// start would kill that process's servers as leftovers.
func lockDir(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("localstack: create data folder: %w", err)
	}
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("localstack: open %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		data, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("localstack: data folder %s is in use by another mqcron process (pid %s); "+
				"stop that one first, or give this one its own folder (mqcron local --data-dir)",
				dir, orUnknown(strings.TrimSpace(string(data))))
		}
		return nil, fmt.Errorf("localstack: lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
