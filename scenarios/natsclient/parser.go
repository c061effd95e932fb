package natsclient

import (
	"bytes"
	"errors"
	"fmt"
)

// Limits bound what the parser buffers for one operation, so that a broken or hostile
// server cannot make the client buffer without end.
const (
	// LineBytesMax bounds a control line (INFO carries the largest).
	LineBytesMax = 64 << 10
	// PayloadBytesMax bounds one message's header block plus body.
	PayloadBytesMax = 8 << 20
	// keptBufferBytesMax is the capacity above which a reassembly buffer is dropped
	// after use instead of kept for the next operation.
	keptBufferBytesMax = 64 << 10
)

// ErrProtocol: the server sent something that is not the NATS protocol. The parser is
// unusable afterwards; the connection must be closed.
var ErrProtocol = errors.New("natsclient: protocol error")

// Handler receives the operations Parser decodes. Byte slices are only valid during the
// call; the handler copies what it keeps.
type Handler interface {
	// Info is called with INFO's JSON.
	Info(infoJSON []byte)
	// Msg is called for MSG (header nil) and HMSG (header holds the header block).
	// reply is empty when the message has none.
	Msg(subject, sid, reply, header, payload []byte)
	// Ping is called for PING, Pong for PONG, OK for +OK.
	Ping()
	Pong()
	OK()
	// Err is called for -ERR with the text between the quotes.
	Err(text string)
}

type parserState uint8

const (
	stateLine parserState = iota
	statePayload
	stateFailed
)

// Parser decodes a server's byte stream incrementally. The zero value is ready.
type Parser struct {
	state parserState
	// line reassembles a control line split across reads.
	line []byte
	// The current message's control line fields, copied out of the line.
	subject, sid, reply []byte
	headerBytes         int // -1 for MSG
	// need is the payload plus its CRLF still expected; payload reassembles it when it
	// is split across reads.
	need    int
	payload []byte
}

// Parse consumes b, calling h for each complete operation. After an error (wrapping
// ErrProtocol) every later call fails too.
func (p *Parser) Parse(b []byte, h Handler) error {
	for len(b) > 0 {
		var err error
		switch p.state {
		case stateLine:
			b, err = p.parseLine(b, h)
		case statePayload:
			b, err = p.parsePayload(b, h)
		default:
			return fmt.Errorf("%w: parser failed earlier", ErrProtocol)
		}
		if err != nil {
			p.state = stateFailed
			p.line, p.payload = nil, nil
			return err
		}
	}
	return nil
}

// parseLine takes one control line from b (or buffers a partial one) and returns the
// rest of b.
func (p *Parser) parseLine(b []byte, h Handler) ([]byte, error) {
	end := bytes.IndexByte(b, '\n')
	if end < 0 {
		if len(p.line)+len(b) > LineBytesMax {
			return nil, fmt.Errorf("%w: control line longer than %d bytes", ErrProtocol, LineBytesMax)
		}
		p.line = append(p.line, b...)
		return nil, nil
	}
	line := b[:end]
	if len(p.line) > 0 {
		if len(p.line)+end > LineBytesMax {
			return nil, fmt.Errorf("%w: control line longer than %d bytes", ErrProtocol, LineBytesMax)
		}
		p.line = append(p.line, line...)
		line = p.line
	}
	if len(line) > LineBytesMax {
		return nil, fmt.Errorf("%w: control line longer than %d bytes", ErrProtocol, LineBytesMax)
	}
	rest := b[end+1:]
	line = bytes.TrimSuffix(line, []byte{'\r'})
	err := p.decodeLine(line, h)
	if cap(p.line) > keptBufferBytesMax {
		p.line = nil
	} else {
		p.line = p.line[:0]
	}
	return rest, err
}

// decodeLine dispatches one complete control line (without its line ending).
func (p *Parser) decodeLine(line []byte, h Handler) error {
	name, arguments := line, []byte(nil)
	if i := bytes.IndexAny(line, " \t"); i >= 0 {
		name, arguments = line[:i], bytes.TrimLeft(line[i:], " \t")
	}
	switch {
	case bytes.EqualFold(name, []byte("MSG")):
		return p.beginMessage(arguments, false)
	case bytes.EqualFold(name, []byte("HMSG")):
		return p.beginMessage(arguments, true)
	case bytes.EqualFold(name, []byte("PING")) && len(arguments) == 0:
		h.Ping()
	case bytes.EqualFold(name, []byte("PONG")) && len(arguments) == 0:
		h.Pong()
	case bytes.EqualFold(name, []byte("+OK")) && len(arguments) == 0:
		h.OK()
	case bytes.EqualFold(name, []byte("INFO")):
		if len(arguments) == 0 {
			return fmt.Errorf("%w: INFO without JSON", ErrProtocol)
		}
		h.Info(arguments)
	case bytes.EqualFold(name, []byte("-ERR")):
		h.Err(errorText(arguments))
	default:
		return fmt.Errorf("%w: unknown operation %q", ErrProtocol, truncate(line))
	}
	return nil
}

// errorText strips the quotes around -ERR's text, when present.
func errorText(arguments []byte) string {
	text := bytes.TrimRight(arguments, " \t")
	if len(text) >= 2 && text[0] == '\'' && text[len(text)-1] == '\'' {
		text = text[1 : len(text)-1]
	}
	return string(text)
}

// argumentsMax is the most fields a MSG or HMSG control line has.
const argumentsMax = 5

// beginMessage decodes MSG's `<subject> <sid> [reply] <size>` or HMSG's `<subject>
// <sid> [reply] <header size> <total size>` and waits for the payload.
func (p *Parser) beginMessage(arguments []byte, headers bool) error {
	var fields [argumentsMax + 1][]byte
	count := 0
	for _, field := range bytes.Fields(arguments) {
		if count == len(fields) {
			break
		}
		fields[count] = field
		count++
	}
	minimum := 3
	if headers {
		minimum = 4
	}
	if count < minimum || count > minimum+1 {
		return fmt.Errorf("%w: %d arguments to a message", ErrProtocol, count)
	}
	p.subject = append(p.subject[:0], fields[0]...)
	p.sid = append(p.sid[:0], fields[1]...)
	p.reply = p.reply[:0]
	if count == minimum+1 {
		p.reply = append(p.reply, fields[2]...)
	}
	total := parseSize(fields[count-1])
	p.headerBytes = -1
	if headers {
		p.headerBytes = parseSize(fields[count-2])
		if p.headerBytes < 0 || total < p.headerBytes {
			return fmt.Errorf("%w: bad header size %q of %q", ErrProtocol, fields[count-2], fields[count-1])
		}
	}
	if total < 0 || total > PayloadBytesMax {
		return fmt.Errorf("%w: bad message size %q", ErrProtocol, fields[count-1])
	}
	p.need = total + 2
	p.state = statePayload
	return nil
}

// parsePayload takes the message body and its CRLF from b and returns the rest of b.
// A payload that arrives whole is handed over without a copy.
func (p *Parser) parsePayload(b []byte, h Handler) ([]byte, error) {
	var message []byte
	if len(p.payload) == 0 && len(b) >= p.need {
		message, b = b[:p.need], b[p.need:]
	} else {
		take := min(p.need-len(p.payload), len(b))
		p.payload = append(p.payload, b[:take]...)
		b = b[take:]
		if len(p.payload) < p.need {
			return b, nil
		}
		message = p.payload
	}
	size := len(message) - 2
	if message[size] != '\r' || message[size+1] != '\n' {
		return nil, fmt.Errorf("%w: message on %q not followed by CRLF", ErrProtocol, p.subject)
	}
	var header []byte
	body := message[:size]
	if p.headerBytes >= 0 {
		header, body = body[:p.headerBytes], body[p.headerBytes:]
	}
	h.Msg(p.subject, p.sid, p.reply, header, body)
	p.state = stateLine
	if cap(p.payload) > keptBufferBytesMax {
		p.payload = nil
	} else {
		p.payload = p.payload[:0]
	}
	return b, nil
}

// parseSize decodes a non-negative decimal, or returns -1.
func parseSize(b []byte) int {
	if len(b) == 0 || len(b) > 9 {
		return -1
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// truncate shortens a line quoted in an error.
func truncate(line []byte) []byte {
	const quotedBytesMax = 32
	if len(line) > quotedBytesMax {
		return line[:quotedBytesMax]
	}
	return line
}
