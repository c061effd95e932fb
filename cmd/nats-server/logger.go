package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// logger writes the reference's log line format:
// "[pid] 2006/01/02 15:04:05.000000 [INF] message".
type logger struct {
	mu      sync.Mutex
	out     io.Writer
	file    *os.File
	pid     int
	logtime bool
	utc     bool
	debug   bool
	trace   bool
}

func newLogger(path string, logtime, utc, debug, trace bool) (*logger, error) {
	l := &logger{out: os.Stderr, pid: os.Getpid(), logtime: logtime, utc: utc, debug: debug, trace: trace}
	if path != "" {
		file, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o660)
		if err != nil {
			return nil, fmt.Errorf("error opening file: %v", err)
		}
		l.out, l.file = file, file
	}
	return l, nil
}

// configure changes the levels after a reload.
func (l *logger) configure(logtime, utc, debug, trace bool) {
	l.mu.Lock()
	l.logtime, l.utc, l.debug, l.trace = logtime, utc, debug, trace
	l.mu.Unlock()
}

// reopen reopens the log file (SIGUSR1, for log rotation).
func (l *logger) reopen() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file == nil {
		return
	}
	file, err := os.OpenFile(l.file.Name(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o660)
	if err != nil {
		return
	}
	l.file.Close()
	l.out, l.file = file, file
}

func (l *logger) write(level, format string, args []any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	prefix := fmt.Sprintf("[%d] ", l.pid)
	if l.logtime {
		now := time.Now()
		if l.utc {
			now = now.UTC()
		}
		prefix += now.Format("2006/01/02 15:04:05.000000") + " "
	}
	fmt.Fprintf(l.out, "%s[%s] %s\n", prefix, level, fmt.Sprintf(format, args...))
}

func (l *logger) Noticef(format string, args ...any) { l.write("INF", format, args) }
func (l *logger) Warnf(format string, args ...any)   { l.write("WRN", format, args) }
func (l *logger) Errorf(format string, args ...any)  { l.write("ERR", format, args) }
func (l *logger) Fatalf(format string, args ...any)  { l.write("FTL", format, args) }

func (l *logger) Debugf(format string, args ...any) {
	if l.isOn(&l.debug) {
		l.write("DBG", format, args)
	}
}

func (l *logger) Tracef(format string, args ...any) {
	if l.isOn(&l.trace) {
		l.write("TRC", format, args)
	}
}

func (l *logger) isOn(flag *bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return *flag
}
