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

// lockName is the file in the data folder that a running stack holds an
// exclusive flock on. The kernel releases the lock when the process ends,
// however it ends, so a stack left by a crashed run never blocks a new one.
const lockName = "stack.lock"

// lockDir takes the data folder's lock and writes this process's id into
// the lock file. It fails when another process holds the lock, because
// starting would kill that process's servers as leftovers.
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
