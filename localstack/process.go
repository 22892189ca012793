package localstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// part is one server of the stack and the process group that runs it.
type part struct {
	name     string
	log      *slog.Logger
	host     string
	port     int
	label    string // server name for messages, such as "ActiveMQ STOMP"
	portFlag string // the command-line flag that changes port

	grace        time.Duration // time between SIGTERM and SIGKILL
	readyTimeout time.Duration
	pollInterval time.Duration
	folder       string // the part's subfolder of the data folder
	outputPath   string // file that receives the process's stdout and stderr
	logHint      string // extra log files to name in errors, if any

	findPrograms func() error
	prepare      func() error
	command      func() *exec.Cmd
	probe        func(ctx context.Context) error

	mu       sync.Mutex
	cmd      *exec.Cmd
	done     chan struct{} // closed when cmd.Wait returns
	waitErr  error
	stopping bool
}

// check returns an error when a program of the part is missing or its port
// stays taken for longer than wait. A wait gives the kernel time to release
// the port of a process that has just been killed.
func (p *part) check(wait time.Duration) error {
	if err := p.findPrograms(); err != nil {
		return err
	}
	if p.pid() == 0 && p.killLeftover() {
		wait = max(wait, 10*time.Second)
	}

	addr := net.JoinHostPort(p.host, strconv.Itoa(p.port))
	deadline := time.Now().Add(wait)
	for {
		l, err := net.Listen("tcp", addr)
		if err == nil {
			return l.Close()
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("%s: listen on %s: %w", p.name, addr, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("port %d (%s) is in use on %s; stop the process using it or set %s",
				p.port, p.label, p.host, p.portFlag)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// start starts the process and waits until it accepts connections. On
// failure it kills the process group and returns an error that names the
// part and its output file.
func (p *part) start(ctx context.Context) error {
	started := time.Now()
	done, err := p.spawn()
	if err != nil {
		return err
	}

	if err := p.waitReady(ctx, done); err != nil {
		if stopErr := p.stop(true); stopErr != nil {
			p.log.Error("kill after failed start", "part", p.name, "error", stopErr)
		}
		return err
	}
	p.log.Info("part ready", "part", p.name, "pid", p.pid(),
		"addr", net.JoinHostPort(p.host, strconv.Itoa(p.port)),
		"elapsed", time.Since(started).Round(time.Millisecond))
	return nil
}

func (p *part) spawn() (chan struct{}, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return nil, fmt.Errorf("%s: already running (pid %d)", p.name, p.cmd.Process.Pid)
	}
	if err := p.prepare(); err != nil {
		return nil, fmt.Errorf("%s: prepare: %w", p.name, err)
	}
	out, err := os.OpenFile(p.outputPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.name, err)
	}
	defer out.Close()

	cmd := p.command()
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: start %s: %w", p.name, cmd.Path, err)
	}

	// The group id file lets a later start find this group if this process
	// dies without stopping it.
	pgid := strconv.Itoa(cmd.Process.Pid)
	if err := os.WriteFile(p.pgidPath(), []byte(pgid+"\n"), 0o644); err != nil {
		p.log.Warn("write process group file", "part", p.name, "error", err)
	}

	done := make(chan struct{})
	p.cmd, p.done, p.waitErr, p.stopping = cmd, done, nil, false
	go p.wait(cmd, done)
	return done, nil
}

// wait reaps the process and logs an exit that no stop requested.
func (p *part) wait(cmd *exec.Cmd, done chan struct{}) {
	err := cmd.Wait()
	p.mu.Lock()
	p.waitErr = err
	stopping := p.stopping
	p.mu.Unlock()
	close(done)
	if !stopping {
		p.log.Error("part exited", "part", p.name, "pid", cmd.Process.Pid,
			"error", err, "output", p.outputPath)
	}
}

func (p *part) waitReady(ctx context.Context, done chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, p.readyTimeout)
	defer cancel()
	for {
		probeCtx, cancelProbe := context.WithTimeout(ctx, 2*time.Second)
		err := p.probe(probeCtx)
		cancelProbe()
		if err == nil {
			return nil
		}

		select {
		case <-done:
			p.mu.Lock()
			waitErr := p.waitErr
			p.mu.Unlock()
			return fmt.Errorf("%s exited before accepting connections (%v); %s%s",
				p.name, waitErr, p.logNames(), p.outputTail())
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%s did not accept connections on port %d within %s "+
					"(last error: %v); %s%s", p.name, p.port, p.readyTimeout, err,
					p.logNames(), p.outputTail())
			}
			return fmt.Errorf("%s: wait until ready: %w", p.name, ctx.Err())
		case <-time.After(p.pollInterval):
		}
	}
}

func (p *part) logNames() string {
	if p.logHint != "" {
		return "see " + p.outputPath + " and " + p.logHint
	}
	return "see " + p.outputPath
}

// outputTail returns the last lines of the process's output, indented, for
// an error message.
func (p *part) outputTail() string {
	const maxBytes = 2048
	f, err := os.Open(p.outputPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.Size() > maxBytes {
		_, _ = f.Seek(-maxBytes, io.SeekEnd)
	}
	b, err := io.ReadAll(f)
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return "; output ends with:\n\t" + strings.Join(lines, "\n\t")
}

func (p *part) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// stop ends the process group: SIGTERM and SIGKILL after the grace period,
// or SIGKILL at once when kill is true. It returns once no process of the
// group is left and the leader has been reaped.
func (p *part) stop(kill bool) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	if cmd == nil {
		p.mu.Unlock()
		return nil
	}
	p.stopping = true
	p.mu.Unlock()

	// The leader's pid is the group id, because childProcAttr sets Setpgid.
	pgid := cmd.Process.Pid
	signal := syscall.SIGTERM
	if kill {
		signal = syscall.SIGKILL
	}
	signalGroup(pgid, signal)
	if !waitGroupGone(pgid, p.grace) {
		p.log.Warn("part did not stop in time; sending SIGKILL",
			"part", p.name, "pgid", pgid, "grace", p.grace)
		signalGroup(pgid, syscall.SIGKILL)
		if !waitGroupGone(pgid, 5*time.Second) {
			return fmt.Errorf("%s: process group %d still runs after SIGKILL", p.name, pgid)
		}
	}

	select {
	case <-done:
	case <-time.After(5 * time.Second):
		return fmt.Errorf("%s: process %d was not reaped", p.name, pgid)
	}

	p.mu.Lock()
	p.cmd, p.done = nil, nil
	p.mu.Unlock()
	if err := os.Remove(p.pgidPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		p.log.Warn("remove process group file", "part", p.name, "error", err)
	}
	p.log.Info("part stopped", "part", p.name, "pid", pgid, "signal", signal.String())
	return nil
}

func (p *part) pgidPath() string {
	return filepath.Join(p.folder, p.name+".pgid")
}

// killLeftover kills the process group that an earlier run of this part
// left behind when its parent died without calling Stop, and reports
// whether it found one. It acts only when a member of the recorded group
// names the part's folder on its command line, so an unrelated program that
// reuses the group id is left alone.
func (p *part) killLeftover() bool {
	b, err := os.ReadFile(p.pgidPath())
	if err != nil {
		return false
	}
	defer os.Remove(p.pgidPath())

	pgid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pgid <= 1 || !groupNamesFolder(pgid, p.folder) {
		return false
	}
	p.log.Warn("killing leftover process group of an earlier run",
		"part", p.name, "pgid", pgid)
	signalGroup(pgid, syscall.SIGKILL)
	waitGroupGone(pgid, 5*time.Second)
	return true
}

func signalGroup(pgid int, signal syscall.Signal) {
	// ESRCH means the group is already gone, which is what stop wants.
	_ = syscall.Kill(-pgid, signal)
}

// waitGroupGone polls until the process group pgid has no living process
// or the timeout passes, and reports whether the group is gone.
func waitGroupGone(pgid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if !groupAlive(pgid) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// groupAlive reports whether the process group pgid has a member that is
// not a zombie. kill(-pgid, 0) alone would count zombies, such as a
// reparented child that init has not reaped yet.
func groupAlive(pgid int) bool {
	if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	members, err := groupMembers(pgid)
	if err != nil {
		return true
	}
	return len(members) > 0
}

// groupNamesFolder reports whether a living member of the process group
// pgid has folder in its command line.
func groupNamesFolder(pgid int, folder string) bool {
	members, err := groupMembers(pgid)
	if err != nil {
		return false
	}
	for _, pid := range members {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		if err == nil && strings.Contains(string(b), folder) {
			return true
		}
	}
	return false
}

// groupMembers returns the processes of group pgid that are not zombies,
// read from /proc.
func groupMembers(pgid int) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var members []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		state, group, ok := readProcStat(filepath.Join("/proc", e.Name(), "stat"))
		if ok && group == pgid && state != "Z" && state != "X" {
			members = append(members, pid)
		}
	}
	return members, nil
}

// readProcStat returns the state and process group of a /proc/PID/stat
// file. The command name in field 2 may contain spaces and parentheses, so
// the fields are counted from the last ')'.
func readProcStat(path string) (state string, pgid int, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", 0, false
	}
	// After ")": state, ppid, pgrp, ...
	fields := strings.Fields(s[i+1:])
	if len(fields) < 3 {
		return "", 0, false
	}
	pgid, err = strconv.Atoi(fields[2])
	if err != nil {
		return "", 0, false
	}
	return fields[0], pgid, true
}
