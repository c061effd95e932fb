package client

import "strconv"

// The fixed server-to-client operations.
var (
	// PingOp is the PING a server sends.
	PingOp = []byte("PING\r\n")
	// PongOp answers a PING.
	PongOp = []byte("PONG\r\n")
	// OKOp acknowledges an operation in verbose mode.
	OKOp = []byte("+OK\r\n")
)

// AppendInfo appends `INFO <json>\r\n`.
func AppendInfo(dst, infoJSON []byte) []byte {
	dst = append(dst, "INFO "...)
	dst = append(dst, infoJSON...)
	return append(dst, "\r\n"...)
}

// AppendErr appends `-ERR '<text>'\r\n`.
func AppendErr(dst []byte, text string) []byte {
	dst = append(dst, "-ERR '"...)
	dst = append(dst, text...)
	return append(dst, "'\r\n"...)
}

// AppendMsg appends `MSG <subject> <sid> [reply] <#bytes>\r\n<payload>\r\n`.
func AppendMsg(dst, subject, sid, reply, payload []byte) []byte {
	dst = append(dst, "MSG "...)
	dst = appendSubjectSIDReply(dst, subject, sid, reply)
	dst = strconv.AppendInt(dst, int64(len(payload)), 10)
	dst = append(dst, "\r\n"...)
	dst = append(dst, payload...)
	return append(dst, "\r\n"...)
}

// AppendHMsg appends `HMSG <subject> <sid> [reply] <hdr_len> <total_len>\r\n` followed
// by the message (header block then body) and CRLF. message holds both, and its first
// headerBytes bytes are the header block.
func AppendHMsg(dst, subject, sid, reply []byte, headerBytes int, message []byte) []byte {
	dst = append(dst, "HMSG "...)
	dst = appendSubjectSIDReply(dst, subject, sid, reply)
	dst = strconv.AppendInt(dst, int64(headerBytes), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(len(message)), 10)
	dst = append(dst, "\r\n"...)
	dst = append(dst, message...)
	return append(dst, "\r\n"...)
}

// AppendMsgHeader appends only the control line of a MSG (headerBytes < 0) or HMSG
// with a message of totalBytes, for callers that write the payload separately to
// avoid a copy.
func AppendMsgHeader(dst, subject, sid, reply []byte, headerBytes, totalBytes int) []byte {
	if headerBytes < 0 {
		dst = append(dst, "MSG "...)
	} else {
		dst = append(dst, "HMSG "...)
	}
	dst = appendSubjectSIDReply(dst, subject, sid, reply)
	if headerBytes >= 0 {
		dst = strconv.AppendInt(dst, int64(headerBytes), 10)
		dst = append(dst, ' ')
	}
	dst = strconv.AppendInt(dst, int64(totalBytes), 10)
	return append(dst, "\r\n"...)
}

func appendSubjectSIDReply(dst, subject, sid, reply []byte) []byte {
	dst = append(dst, subject...)
	dst = append(dst, ' ')
	dst = append(dst, sid...)
	dst = append(dst, ' ')
	if len(reply) > 0 {
		dst = append(dst, reply...)
		dst = append(dst, ' ')
	}
	return dst
}

// AppendConnect appends `CONNECT <json>\r\n` (what a client sends).
func AppendConnect(dst, connectJSON []byte) []byte {
	dst = append(dst, "CONNECT "...)
	dst = append(dst, connectJSON...)
	return append(dst, "\r\n"...)
}

// AppendPub appends `PUB <subject> [reply] <#bytes>\r\n<payload>\r\n` (what a client
// sends).
func AppendPub(dst, subject, reply, payload []byte) []byte {
	dst = append(dst, "PUB "...)
	dst = append(dst, subject...)
	dst = append(dst, ' ')
	if len(reply) > 0 {
		dst = append(dst, reply...)
		dst = append(dst, ' ')
	}
	dst = strconv.AppendInt(dst, int64(len(payload)), 10)
	dst = append(dst, "\r\n"...)
	dst = append(dst, payload...)
	return append(dst, "\r\n"...)
}

// AppendSub appends `SUB <subject> [queue] <sid>\r\n` (what a client sends).
func AppendSub(dst, subject, queue, sid []byte) []byte {
	dst = append(dst, "SUB "...)
	dst = append(dst, subject...)
	dst = append(dst, ' ')
	if len(queue) > 0 {
		dst = append(dst, queue...)
		dst = append(dst, ' ')
	}
	dst = append(dst, sid...)
	return append(dst, "\r\n"...)
}

// AppendUnsub appends `UNSUB <sid> [max]\r\n` (what a client sends); max < 0 omits it.
func AppendUnsub(dst, sid []byte, max int64) []byte {
	dst = append(dst, "UNSUB "...)
	dst = append(dst, sid...)
	if max >= 0 {
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, max, 10)
	}
	return append(dst, "\r\n"...)
}
