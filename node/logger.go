package node

// Logger receives the server's log lines. The binary writes them to stderr or a file
// with timestamps; tests and the simulator may discard or collect them.
type Logger interface {
	Noticef(format string, args ...any)
	Warnf(format string, args ...any)
	Errorf(format string, args ...any)
	Debugf(format string, args ...any)
	Tracef(format string, args ...any)
}

// discardLogger drops everything.
type discardLogger struct{}

func (discardLogger) Noticef(string, ...any) {}
func (discardLogger) Warnf(string, ...any)   {}
func (discardLogger) Errorf(string, ...any)  {}
func (discardLogger) Debugf(string, ...any)  {}
func (discardLogger) Tracef(string, ...any)  {}
