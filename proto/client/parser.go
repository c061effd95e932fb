package client

import (
	"bytes"
	"errors"
	"fmt"
)

// OpKind names one client-to-server protocol operation.
type OpKind uint8

// The operations a client sends. INFO, +OK and -ERR are accepted from clients too (the
// reference server tolerates them), so a server can ignore or act on them.
const (
	OpConnect OpKind = iota + 1
	OpPub
	OpHPub
	OpSub
	OpUnsub
	OpPing
	OpPong
	OpInfo
	OpOK
	OpErr
	// OpMsg and OpHMsg are what a server sends; only a parser made with
	// NewServerStreamParser accepts them.
	OpMsg
	OpHMsg
)

// String returns the operation's protocol name.
func (k OpKind) String() string {
	switch k {
	case OpConnect:
		return "CONNECT"
	case OpPub:
		return "PUB"
	case OpHPub:
		return "HPUB"
	case OpSub:
		return "SUB"
	case OpUnsub:
		return "UNSUB"
	case OpPing:
		return "PING"
	case OpPong:
		return "PONG"
	case OpInfo:
		return "INFO"
	case OpOK:
		return "+OK"
	case OpErr:
		return "-ERR"
	case OpMsg:
		return "MSG"
	case OpHMsg:
		return "HMSG"
	}
	return fmt.Sprintf("OpKind(%d)", uint8(k))
}

// Op is one parsed operation. Its slices point into the buffer given to Parse or into
// the parser's own buffers: they are valid only during the Handler call, and a handler
// copies what it keeps.
type Op struct {
	Kind OpKind
	// Subject is the subject of PUB, HPUB, SUB, MSG and HMSG.
	Subject []byte
	// Reply is the optional reply subject of PUB, HPUB, MSG and HMSG (nil when absent).
	Reply []byte
	// Queue is the optional queue group of SUB (nil when absent).
	Queue []byte
	// SID is the subscription id of SUB, UNSUB, MSG and HMSG.
	SID []byte
	// Max is UNSUB's optional message count; -1 when absent.
	Max int64
	// HeaderBytes is the size of the header block at the start of Payload (HPUB and
	// HMSG only).
	HeaderBytes int
	// Payload is the message of PUB, HPUB, MSG and HMSG (headers then body), without
	// the trailing CRLF.
	Payload []byte
	// Arguments is the raw argument text of CONNECT (its JSON), INFO and -ERR.
	Arguments []byte
}

// Handler receives each complete operation, in stream order. An error stops parsing
// and is returned by Parse unchanged.
type Handler interface {
	HandleOp(op *Op) error
}

// Limits bounds what a parser accepts. They may be changed between Parse calls (after
// CONNECT binds an account with other limits, or after a reload).
type Limits struct {
	// ControlLineBytesMax bounds a control line's arguments (max_control_line).
	ControlLineBytesMax int
	// PayloadBytesMax bounds a PUB or HPUB message, headers included (max_payload);
	// zero or negative means no limit.
	PayloadBytesMax int
}

// Sentinel errors; each one maps to the reference server's behaviour: the server
// sends the -ERR text of ErrorText and closes the connection.
var (
	// ErrUnknownProtocol: not a known operation ("Unknown Protocol Operation").
	ErrUnknownProtocol = errors.New("client protocol: unknown protocol operation")
	// ErrControlLine: a control line longer than max_control_line.
	ErrControlLine = errors.New("client protocol: maximum control line exceeded")
	// ErrPayload: a message larger than max_payload.
	ErrPayload = errors.New("client protocol: maximum payload exceeded")
	// ErrArguments: a known operation with malformed arguments. The reference server
	// closes such a connection without an -ERR.
	ErrArguments = errors.New("client protocol: malformed arguments")
)

// The -ERR texts the reference server sends for the parser's errors.
const (
	ErrorTextUnknownProtocol = "Unknown Protocol Operation"
	ErrorTextControlLine     = "maximum control line exceeded"
	ErrorTextPayload         = "Maximum Payload Violation"
)

// ErrorText returns the -ERR text a server sends for a parse error, and false for
// errors that close the connection silently (ErrArguments) or are not the parser's.
func ErrorText(err error) (string, bool) {
	switch {
	case errors.Is(err, ErrUnknownProtocol):
		return ErrorTextUnknownProtocol, true
	case errors.Is(err, ErrControlLine):
		return ErrorTextControlLine, true
	case errors.Is(err, ErrPayload):
		return ErrorTextPayload, true
	}
	return "", false
}

type parserState uint8

const (
	stateLine parserState = iota
	statePayload
	stateFailed
)

// argsMax is the most arguments any operation takes (HMSG with a reply: 5), plus one
// so that a line with too many can be told apart.
const argsMax = 6

// keptPayloadBytesMax bounds the split-message buffer a parser keeps for reuse; a
// larger one is dropped after its message so that one big message does not pin memory
// for the connection's lifetime.
const keptPayloadBytesMax = 64 * 1024

// opNameBytesMax is the longest operation name (CONNECT); a partial line longer than
// that plus max_control_line is over the limit whatever it turns out to be.
const opNameBytesMax = 7

// Parser is the incremental client protocol parser. It keeps only what a split read
// forces it to keep: the unfinished control line, and the unfinished message of a PUB
// whose payload spans reads. The zero value is not ready; use NewParser.
type Parser struct {
	limits Limits
	state  parserState
	// names are the operations this parser accepts: what clients send, or (for a
	// client's parser) what servers send.
	names []opName
	// line holds a control line that is split across reads, or the control line of a
	// PUB whose payload is split (so that Subject and Reply stay valid).
	line      []byte
	lineOwned bool
	// payload accumulates a split message and its CRLF.
	payload []byte
	// payloadBytes is the pending PUB's message size (without CRLF).
	payloadBytes int
	op           Op
	err          error
}

// NewParser returns a parser of what clients send (a server's parser), enforcing
// limits.
func NewParser(limits Limits) *Parser {
	return &Parser{limits: limits, names: clientOpNames}
}

// NewServerStreamParser returns a parser of what servers send (a client's parser):
// INFO, MSG, HMSG, PING, PONG, +OK and -ERR. PayloadBytesMax bounds MSG and HMSG.
func NewServerStreamParser(limits Limits) *Parser {
	return &Parser{limits: limits, names: serverOpNames}
}

// SetLimits changes the limits for the operations that follow.
func (p *Parser) SetLimits(limits Limits) { p.limits = limits }

// Limits returns the limits in force.
func (p *Parser) Limits() Limits { return p.limits }

// Parse consumes b, calling h for each complete operation. It never keeps b: what an
// unfinished operation needs is copied. After an error the parser is spent and returns
// the same error for every later call.
func (p *Parser) Parse(b []byte, h Handler) error {
	if p.state == stateFailed {
		return p.err
	}
	for len(b) > 0 {
		var err error
		if p.state == stateLine {
			b, err = p.parseLine(b, h)
		} else {
			b, err = p.parsePayload(b, h)
		}
		if err != nil {
			p.state, p.err = stateFailed, err
			p.line, p.payload = nil, nil
			return err
		}
	}
	if p.state == statePayload && !p.lineOwned {
		// The read ended right after a PUB's control line.
		p.ownLine()
	}
	return nil
}

// parseLine consumes one control line from b, or keeps the start of one.
func (p *Parser) parseLine(b []byte, h Handler) ([]byte, error) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		if len(p.line)+len(b) > p.limits.ControlLineBytesMax+opNameBytesMax+1 {
			return nil, ErrControlLine
		}
		p.line = append(p.line, b...)
		p.lineOwned = true
		if !validOpPrefix(p.names, p.line) {
			return nil, ErrUnknownProtocol
		}
		return nil, nil
	}
	var line []byte
	if len(p.line) > 0 {
		p.line = append(p.line, b[:i]...)
		line = p.line
	} else {
		line = b[:i]
		p.lineOwned = false
	}
	rest := b[i+1:]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if err := p.decodeLine(line); err != nil {
		return nil, err
	}
	if hasPayload(p.op.Kind) {
		p.state = statePayload
		return rest, nil
	}
	err := h.HandleOp(&p.op)
	p.line = p.line[:0]
	return rest, err
}

// parsePayload consumes a PUB's message and its CRLF from b, or keeps the start.
func (p *Parser) parsePayload(b []byte, h Handler) ([]byte, error) {
	need := p.payloadBytes + 2 - len(p.payload)
	if len(b) < need {
		if !p.lineOwned {
			p.ownLine()
		}
		if len(p.payload) == 0 && cap(p.payload) < p.payloadBytes+2 {
			p.payload = make([]byte, 0, p.payloadBytes+2)
		}
		p.payload = append(p.payload, b...)
		return nil, nil
	}
	message := b[:need]
	if len(p.payload) > 0 {
		p.payload = append(p.payload, message...)
		message = p.payload
	}
	if message[p.payloadBytes] != '\r' || message[p.payloadBytes+1] != '\n' {
		return nil, ErrUnknownProtocol
	}
	p.op.Payload = message[:p.payloadBytes]
	err := h.HandleOp(&p.op)
	p.state = stateLine
	p.line = p.line[:0]
	p.payload = p.payload[:0]
	if cap(p.payload) > keptPayloadBytesMax {
		p.payload = nil
	}
	return b[need:], err
}

// ownLine copies the current PUB's control line out of the caller's buffer, which
// Parse must not keep, and points the operation's fields at the copy.
func (p *Parser) ownLine() {
	p.line = append(p.line[:0], p.op.Arguments...)
	line := p.line
	p.lineOwned = true
	// The arguments were valid the first time, so they are valid again.
	_ = p.decodeArguments(p.op.Kind, line)
}

// decodeLine identifies the operation of a complete control line and decodes its
// arguments into p.op.
func (p *Parser) decodeLine(line []byte) error {
	kind, nameBytes := matchOp(p.names, line)
	if kind == 0 {
		return ErrUnknownProtocol
	}
	arguments := trimLeadingSpace(line[nameBytes:])
	if len(arguments) > p.limits.ControlLineBytesMax {
		return ErrControlLine
	}
	return p.decodeArguments(kind, arguments)
}

// decodeArguments fills p.op for an operation of the given kind.
func (p *Parser) decodeArguments(kind OpKind, arguments []byte) error {
	p.op = Op{Kind: kind, Max: -1, Arguments: arguments}
	var storage [argsMax][]byte
	args := splitArguments(arguments, storage[:0])
	switch kind {
	case OpPub:
		size := -1
		switch len(args) {
		case 2:
			p.op.Subject, size = args[0], parseSize(args[1])
		case 3:
			p.op.Subject, p.op.Reply, size = args[0], args[1], parseSize(args[2])
		}
		if size < 0 {
			return fmt.Errorf("%w: PUB %q", ErrArguments, arguments)
		}
		return p.setPayloadBytes(size)
	case OpHPub:
		headerBytes, size := -1, -1
		switch len(args) {
		case 3:
			p.op.Subject, headerBytes, size = args[0], parseSize(args[1]), parseSize(args[2])
		case 4:
			p.op.Subject, p.op.Reply = args[0], args[1]
			headerBytes, size = parseSize(args[2]), parseSize(args[3])
		}
		if headerBytes < 0 || size < 0 || headerBytes > size {
			return fmt.Errorf("%w: HPUB %q", ErrArguments, arguments)
		}
		p.op.HeaderBytes = headerBytes
		return p.setPayloadBytes(size)
	case OpMsg:
		size := -1
		switch len(args) {
		case 3:
			p.op.Subject, p.op.SID, size = args[0], args[1], parseSize(args[2])
		case 4:
			p.op.Subject, p.op.SID, p.op.Reply, size = args[0], args[1], args[2], parseSize(args[3])
		}
		if size < 0 {
			return fmt.Errorf("%w: MSG %q", ErrArguments, arguments)
		}
		return p.setPayloadBytes(size)
	case OpHMsg:
		headerBytes, size := -1, -1
		switch len(args) {
		case 4:
			p.op.Subject, p.op.SID = args[0], args[1]
			headerBytes, size = parseSize(args[2]), parseSize(args[3])
		case 5:
			p.op.Subject, p.op.SID, p.op.Reply = args[0], args[1], args[2]
			headerBytes, size = parseSize(args[3]), parseSize(args[4])
		}
		if headerBytes < 0 || size < 0 || headerBytes > size {
			return fmt.Errorf("%w: HMSG %q", ErrArguments, arguments)
		}
		p.op.HeaderBytes = headerBytes
		return p.setPayloadBytes(size)
	case OpSub:
		switch len(args) {
		case 2:
			p.op.Subject, p.op.SID = args[0], args[1]
		case 3:
			p.op.Subject, p.op.Queue, p.op.SID = args[0], args[1], args[2]
		default:
			return fmt.Errorf("%w: SUB %q", ErrArguments, arguments)
		}
	case OpUnsub:
		switch len(args) {
		case 1:
			p.op.SID = args[0]
		case 2:
			p.op.SID = args[0]
			max := parseSize(args[1])
			if max < 0 {
				return fmt.Errorf("%w: UNSUB %q", ErrArguments, arguments)
			}
			p.op.Max = int64(max)
		default:
			return fmt.Errorf("%w: UNSUB %q", ErrArguments, arguments)
		}
	}
	return nil
}

func (p *Parser) setPayloadBytes(size int) error {
	if p.limits.PayloadBytesMax > 0 && size > p.limits.PayloadBytesMax {
		return ErrPayload
	}
	p.payloadBytes = size
	return nil
}

// hasPayload reports the operations followed by a message.
func hasPayload(kind OpKind) bool {
	return kind == OpPub || kind == OpHPub || kind == OpMsg || kind == OpHMsg
}

// opName is an operation's name, upper case, with whether the name must be followed
// by a space or tab (operations with arguments).
type opName struct {
	name         string
	kind         OpKind
	needsSpacing bool
}

// serverOpNames are the operations a server sends.
var serverOpNames = []opName{
	{"MSG", OpMsg, true},
	{"HMSG", OpHMsg, true},
	{"PING", OpPing, false},
	{"PONG", OpPong, false},
	{"INFO", OpInfo, false},
	{"+OK", OpOK, false},
	{"-ERR", OpErr, false},
}

// clientOpNames are the operations a client sends.
var clientOpNames = []opName{
	{"PUB", OpPub, true},
	{"HPUB", OpHPub, true},
	{"SUB", OpSub, true},
	{"UNSUB", OpUnsub, true},
	{"PING", OpPing, false},
	{"PONG", OpPong, false},
	{"CONNECT", OpConnect, false},
	{"INFO", OpInfo, false},
	{"+OK", OpOK, false},
	{"-ERR", OpErr, false},
}

// matchOp returns the operation a complete line starts with and the length of its
// name, or a zero kind. Like the reference, PING and PONG ignore what follows them.
func matchOp(names []opName, line []byte) (OpKind, int) {
	// The hot path: "PUB " in upper or lower case, checked without the table.
	if len(line) > 3 && line[0]|0x20 == 'p' && line[1]|0x20 == 'u' && line[2]|0x20 == 'b' && names[0].kind == OpPub {
		if isSpace(line[3]) {
			return OpPub, 3
		}
		return 0, 0
	}
	for _, candidate := range names {
		n := len(candidate.name)
		if len(line) < n || !equalFoldUpper(line[:n], candidate.name) {
			continue
		}
		if candidate.needsSpacing && (len(line) == n || !isSpace(line[n])) {
			return 0, 0
		}
		return candidate.kind, n
	}
	return 0, 0
}

// validOpPrefix reports whether an unfinished line can still become a known
// operation, so that garbage fails at once instead of after max_control_line bytes.
func validOpPrefix(names []opName, line []byte) bool {
	for _, candidate := range names {
		n := len(candidate.name)
		if len(line) <= n {
			if equalFoldUpper(line, candidate.name[:len(line)]) {
				return true
			}
			continue
		}
		if !equalFoldUpper(line[:n], candidate.name) {
			continue
		}
		return !candidate.needsSpacing || isSpace(line[n])
	}
	return false
}

// equalFoldUpper compares b with an upper-case ASCII name, ignoring b's case.
func equalFoldUpper(b []byte, upper string) bool {
	if len(b) != len(upper) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != upper[i] {
			return false
		}
	}
	return true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

func trimLeadingSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	return b
}

// splitArguments splits on spaces and tabs into args (which has room for argsMax),
// stopping once there are more than any operation takes.
func splitArguments(b []byte, args [][]byte) [][]byte {
	start := -1
	for i, c := range b {
		if c == ' ' || c == '\t' || c == '\r' {
			if start >= 0 {
				args = append(args, b[start:i])
				start = -1
				if len(args) == argsMax {
					return args
				}
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		args = append(args, b[start:])
	}
	return args
}

// parseSize parses a non-negative decimal; it returns -1 for anything else, and for
// values that do not fit comfortably in an int32-sized message size.
func parseSize(b []byte) int {
	const sizeMax = 1<<62 - 1
	if len(b) == 0 || len(b) > 18 {
		return -1
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	if n > sizeMax {
		return -1
	}
	return n
}
