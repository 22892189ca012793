package main

import (
	"bytes"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is the unit of utime and stime in /proc/PID/stat. Linux
// reports them in USER_HZ, which is 100 on every mainstream architecture.
const clockTicks = 100

// procStat contains the fields of /proc/PID/stat that the bench uses.
type procStat struct {
	comm    string
	pgid    int
	cpuTime float64 // utime + stime in seconds
}

// readProcStat parses /proc/PID/stat. The command name is inside
// parentheses and may contain spaces, so the fields are counted from the
// last ')'.
func readProcStat(pid string) (procStat, bool) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return procStat{}, false
	}
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return procStat{}, false
	}
	// After ")": state(3) ppid(4) pgrp(5) ... utime(14) stime(15).
	f := strings.Fields(string(b[end+1:]))
	if len(f) < 13 {
		return procStat{}, false
	}
	pgid, _ := strconv.Atoi(f[2])
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return procStat{comm: string(b[open+1 : end]), pgid: pgid, cpuTime: (utime + stime) / clockTicks}, true
}

// groupPIDs returns the processes of process group pgid.
func groupPIDs(pgid int) map[string]procStat {
	found := map[string]procStat{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return found
	}
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		if st, ok := readProcStat(e.Name()); ok && st.pgid == pgid {
			found[e.Name()] = st
		}
	}
	return found
}

// partGroup returns the process group id that package localstack recorded
// for a server part in DIR/PART/PART.pgid, or 0 when it is unknown.
func partGroup(dir, part string) int {
	if dir == "" {
		return 0
	}
	b, err := os.ReadFile(filepath.Join(dir, part, part+".pgid"))
	if err != nil {
		return 0
	}
	pgid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pgid
}

// groupCPU returns the CPU seconds used so far by the living processes of
// group pgid, or NaN when pgid is 0.
func groupCPU(pgid int) float64 {
	if pgid == 0 {
		return math.NaN()
	}
	total := 0.0
	for _, st := range groupPIDs(pgid) {
		total += st.cpuTime
	}
	return total
}

// selfCPU returns the CPU seconds used so far by this process.
func selfCPU() float64 {
	st, ok := readProcStat("self")
	if !ok {
		return math.NaN()
	}
	return st.cpuTime
}

// jvmRSS returns the resident set size in MB of the java process in group
// pgid, from VmRSS in /proc/PID/status, or NaN when there is none.
func jvmRSS(pgid int) float64 {
	if pgid == 0 {
		return math.NaN()
	}
	for pid, st := range groupPIDs(pgid) {
		if st.comm != "java" {
			continue
		}
		b, err := os.ReadFile("/proc/" + pid + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				return kb / 1024
			}
		}
	}
	return math.NaN()
}

// folderMB returns the size in MB of the regular files under dir, or NaN
// when dir cannot be read.
func folderMB(dir string) float64 {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	if err != nil {
		return math.NaN()
	}
	return float64(total) / (1 << 20)
}
