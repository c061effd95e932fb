package node

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/natsim/natsim/ds/subject"
	"github.com/natsim/natsim/ds/sublist"
	"github.com/natsim/natsim/proto/client"
)

// responseGrantsMax bounds the allow_responses grants one connection holds.
const responseGrantsMax = 16 * 1024

// publication is one message on its way to subscribers.
type publication struct {
	subject []byte
	reply   []byte
	// headerBytes is the size of the header block at the start of message, or -1
	// for a message without headers (PUB).
	headerBytes int
	message     []byte
}

// processPub routes a PUB or HPUB from this connection.
func (c *clientConn) processPub(op *client.Op) error {
	pub := publication{subject: op.Subject, reply: op.Reply, headerBytes: -1, message: op.Payload}
	if op.Kind == client.OpHPub {
		if !c.headers {
			c.closeConnection(reasonProtocolViolation, "")
			return errConnectionClosed
		}
		pub.headerBytes = op.HeaderBytes
	}
	s := c.server
	// Counted per read batch and published once at its end (see OnData).
	c.pendingFlush.inMsgs++
	c.pendingFlush.inBytes += int64(len(pub.message))
	if c.options.Pedantic && !subject.IsValidLiteralSubjectBytes(pub.subject) {
		// The reference reports it and still routes the message.
		c.queueErr("Invalid Publish Subject")
	}
	if isGatewayReply(pub.subject) || (bytes.HasPrefix(pub.subject, []byte(raftPrefix)) && !c.inSystemAccount()) {
		s.logger.Errorf("%s:%d - cid:%d - Publish Violation - Subject %q", c.host, c.port, c.id, pub.subject)
		c.queueErr(fmt.Sprintf("Permissions Violation for Publish to %q", pub.subject))
		return nil
	}
	if c.publisher != nil && c.publisher.permissions != nil && !c.canPublish(pub.subject) {
		s.logger.Errorf("%s:%d - cid:%d - Publish Violation - Subject %q", c.host, c.port, c.id, pub.subject)
		c.queueErr(fmt.Sprintf("Permissions Violation for Publish to %q", pub.subject))
		return nil
	}
	if len(pub.reply) > 0 && isReservedReply(pub.reply) {
		s.logger.Errorf("%s:%d - cid:%d - Publish Violation - Reply %q", c.host, c.port, c.id, pub.reply)
		c.queueErr(fmt.Sprintf("Permissions Violation for Publish with Reply of %q", pub.reply))
		return nil
	}
	if mappings := c.account.mappings.Load(); mappings != nil && len(*mappings) > 0 {
		if mapped, ok := mapSubject(*mappings, string(pub.subject), s.env.Rand); ok {
			pub.subject = []byte(mapped)
		}
	}
	// The reference acknowledges before delivering, so +OK precedes an echoed MSG.
	if c.options.Verbose {
		c.queueOwn(client.OKOp)
	}
	delivered := c.route(c.account, &pub, &c.pendingFlush)
	if !delivered && len(pub.reply) > 0 && c.options.NoResponders {
		c.sendNoResponders(&pub)
	}
	return nil
}

// Subject prefixes the reference reserves: replies of gateways (current and legacy),
// JetStream acknowledgements, and raft traffic, which only the system account may
// publish.
const (
	gatewayReplyPrefix       = "_GR_."
	legacyGatewayReplyPrefix = "$GR."
	jetStreamAckPrefix       = "$JS.ACK."
	raftPrefix               = "$NRG."
)

func isGatewayReply(subj []byte) bool {
	return (len(subj) > len(gatewayReplyPrefix) && bytes.HasPrefix(subj, []byte(gatewayReplyPrefix))) ||
		(len(subj) > len(legacyGatewayReplyPrefix) && bytes.HasPrefix(subj, []byte(legacyGatewayReplyPrefix)))
}

// isReservedReply reports replies a client may not use: the server's service import
// replies, JetStream acknowledgements and gateway replies.
func isReservedReply(reply []byte) bool {
	return (len(reply) > len(replyPrefix) && bytes.HasPrefix(reply, []byte(replyPrefix))) ||
		(len(reply) > len(jetStreamAckPrefix) && bytes.HasPrefix(reply, []byte(jetStreamAckPrefix))) ||
		isGatewayReply(reply)
}

// inSystemAccount reports whether the connection is bound to the system account.
func (c *clientConn) inSystemAccount() bool {
	c.server.mu.Lock()
	defer c.server.mu.Unlock()
	return c.account != nil && c.account == c.server.systemAccount
}

// canPublish applies the publish permissions through a small per-connection cache,
// and allow_responses grants for replies to requests this client received.
func (c *clientConn) canPublish(subj []byte) bool {
	allowed, cached := c.permissionCache[string(subj)]
	if !cached {
		allowed = c.publisher.permissions.canPublish(string(subj))
		if c.permissionCache == nil || len(c.permissionCache) >= permissionCacheMax {
			c.permissionCache = make(map[string]bool)
		}
		c.permissionCache[string(subj)] = allowed
	}
	if allowed {
		return true
	}
	if c.publisher.permissions.response == nil {
		return false
	}
	now := c.server.env.Clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	grant := c.responseGrants[string(subj)]
	if grant == nil {
		return false
	}
	if now.After(grant.expires) {
		delete(c.responseGrants, string(subj))
		return false
	}
	if grant.remaining > 0 {
		grant.remaining--
		if grant.remaining == 0 {
			delete(c.responseGrants, string(subj))
		}
	}
	return true
}

// route delivers a publication in account: to its subscribers, to accounts importing
// it as a stream, to an exporter of a service it imports, and back to the importer
// of a service response. It reports whether anyone received it.
func (c *clientConn) route(account *Account, pub *publication, set *flushSet) bool {
	delivered := c.deliverResult(matchPublished(account, pub.subject), pub, set)
	if importers := account.streamImporters(); len(importers) > 0 {
		for _, si := range importers {
			published := string(pub.subject)
			if !subject.MatchesFilter(published, si.subject) {
				continue
			}
			mapped := publication{subject: []byte(si.mapSubject(published)), reply: pub.reply,
				headerBytes: pub.headerBytes, message: pub.message}
			if c.deliverResult(si.importer.sublist.MatchBytes(mapped.subject), &mapped, set) {
				delivered = true
			}
		}
	}
	if len(account.serviceImports()) > 0 {
		if c.routeServiceImport(account, pub, set) {
			delivered = true
		}
	}
	if bytes.HasPrefix(pub.subject, []byte(replyPrefix)) {
		if response := account.takeResponse(string(pub.subject), c.server.env.Clock.Now()); response != nil {
			mapped := publication{subject: []byte(response.reply), reply: pub.reply,
				headerBytes: pub.headerBytes, message: pub.message}
			if c.deliverResult(matchPublished(response.importer, mapped.subject), &mapped, set) {
				delivered = true
			}
		}
	}
	return delivered
}

// matchPublished finds the subscriptions of account that a publication on subj
// reaches. Subjects that by convention are published once (a request's unique reply
// inbox, a JetStream acknowledgement, a service import's invented reply) skip the
// sublist's cache: they would only evict the entries of the subjects that repeat, and
// each miss would copy the subject and take the sublist's write lock. Every PubAck
// and every consumer ack is such a publication.
func matchPublished(account *Account, subj []byte) *sublist.Result[*subscription] {
	if bytes.HasPrefix(subj, []byte(inboxPrefix)) || bytes.HasPrefix(subj, []byte(jsAckPrefix)) ||
		bytes.HasPrefix(subj, []byte(replyPrefix)) {
		return account.sublist.MatchBytesUncached(subj)
	}
	return account.sublist.MatchBytes(subj)
}

// Prefixes of subjects that are, by convention, published once (see matchPublished).
const (
	inboxPrefix = "_INBOX."
	jsAckPrefix = "$JS.ACK."
)

// routeServiceImport forwards a request on an imported service's subject to the
// exporting account, with an invented reply that maps back to the requester.
func (c *clientConn) routeServiceImport(account *Account, pub *publication, set *flushSet) bool {
	published := string(pub.subject)
	if si := mostSpecificServiceImport(account.serviceImports(), published); si != nil {
		forwarded := publication{subject: []byte(transformSubject(si.to, si.subject, published)),
			headerBytes: pub.headerBytes, message: pub.message}
		if len(pub.reply) > 0 {
			reply := c.server.newResponseSubject()
			now := c.server.env.Clock.Now()
			si.exporter.addResponse(reply, &serviceResponse{importer: account, reply: string(pub.reply),
				singleton: si.singleton, expires: now.Add(si.threshold)}, now)
			forwarded.reply = []byte(reply)
		}
		return c.deliverResult(si.exporter.sublist.MatchBytes(forwarded.subject), &forwarded, set)
	}
	return false
}

// mostSpecificServiceImport picks the import a published subject goes through when
// several match, as the reference does: a literal import beats a wildcard one, and
// among wildcard imports the one with more literal tokens, then more tokens, wins
// ("fromA.$KV.Map.x" must take "fromA.$KV.Map.>" over "fromA.>"). Ties keep the
// configuration order, so the choice never depends on anything but the config.
func mostSpecificServiceImport(imports []*serviceImport, published string) *serviceImport {
	var best *serviceImport
	var bestLiteral, bestTokens int
	for _, si := range imports {
		if !subject.MatchesFilter(published, si.to) {
			continue
		}
		literal, tokens := serviceImportSpecificity(si.to)
		if best == nil || literal > bestLiteral || (literal == bestLiteral && tokens > bestTokens) {
			best, bestLiteral, bestTokens = si, literal, tokens
		}
	}
	return best
}

// serviceImportSpecificity counts a filter's literal tokens and all its tokens; a
// filter without wildcards gets every token counted twice so it outranks any wildcard
// filter of the same length.
func serviceImportSpecificity(filter string) (literal, tokens int) {
	rest, wildcard := filter, false
	for {
		token, tail, more := subject.Cut(rest)
		tokens++
		if token == "*" || token == ">" {
			wildcard = true
		} else {
			literal++
		}
		if !more {
			break
		}
		rest = tail
	}
	if !wildcard {
		literal *= 2
	}
	return literal, tokens
}

// newResponseSubject invents a reply subject for a service import.
func (s *Server) newResponseSubject() string {
	var raw [9]byte
	_, _ = s.env.Rand.Read(raw[:])
	return replyPrefix + base64URL(raw[:])
}

// deliverResult sends a publication to the plain subscribers of a match and to one
// member of each queue group, chosen at random among those that accept it.
func (c *clientConn) deliverResult(result *sublist.Result[*subscription], pub *publication, set *flushSet) bool {
	delivered := false
	for _, sub := range result.Plain {
		if c.deliver(sub, pub, set) {
			delivered = true
		}
	}
	for i := range result.Queues {
		members := result.Queues[i].Members
		count := len(members)
		first := 0
		if count > 1 {
			first = c.server.env.Rand.Intn(count)
		}
		for j := range count {
			if c.deliver(members[(first+j)%count], pub, set) {
				delivered = true
				break
			}
		}
	}
	return delivered
}

// deliver writes one MSG or HMSG into the subscriber's connection output. It reports
// false when the subscriber does not take it (closed, own message without echo, or
// past its auto-unsubscribe count).
func (c *clientConn) deliver(sub *subscription, pub *publication, set *flushSet) bool {
	if sub.internal != nil {
		sub.internal(c, *pub, set)
		return true
	}
	t := sub.client
	t.mu.Lock()
	if t.closed || (t == c && !t.options.Echo) {
		t.mu.Unlock()
		return false
	}
	removeAfter := false
	if sub.max > 0 {
		if sub.delivered >= sub.max {
			t.mu.Unlock()
			return false
		}
		removeAfter = sub.delivered+1 >= sub.max
	}
	sub.delivered++
	message, headerBytes := pub.message, pub.headerBytes
	if headerBytes >= 0 && !t.headers {
		message, headerBytes = message[headerBytes:], -1
	}
	t.out = client.AppendMsgHeader(t.out, pub.subject, sub.sid, pub.reply, headerBytes, len(message))
	t.out = append(t.out, message...)
	t.out = append(t.out, '\r', '\n')
	t.outMsgs++
	t.outBytes += int64(len(message))
	if len(pub.reply) > 0 && t.user != nil && t.user.permissions != nil && t.user.permissions.response != nil {
		t.grantResponseLocked(string(pub.reply))
	}
	pendingMax := t.pendingMax.Load()
	slow := pendingMax > 0 && int64(len(t.out)) > pendingMax
	writeNow := !slow && len(t.out) >= outWriteBytes
	if writeNow {
		_, _ = t.conn.Write(t.out)
		t.out = t.out[:0]
	}
	queue := !t.flushQueued && !slow
	if queue {
		t.flushQueued = true
	}
	t.mu.Unlock()
	set.outMsgs++
	set.outBytes += int64(len(message))
	if queue {
		set.add(t)
	}
	if slow {
		t.slowConsumer()
		return true
	}
	if removeAfter {
		t.removeSubscription(sub)
	}
	return true
}

// grantResponseLocked lets this client publish replies to a request it received.
func (c *clientConn) grantResponseLocked(reply string) {
	permission := c.user.permissions.response
	if c.responseGrants == nil || len(c.responseGrants) >= responseGrantsMax {
		c.responseGrants = make(map[string]*responseGrant)
	}
	expires := permission.Expires
	if expires <= 0 {
		expires = 2 * time.Minute
	}
	remaining := permission.MaxMsgs
	if remaining == 0 {
		remaining = 1
	}
	c.responseGrants[reply] = &responseGrant{remaining: remaining, expires: c.server.env.Clock.Now().Add(expires)}
}

// removeSubscription drops a subscription that reached its auto-unsubscribe count.
func (c *clientConn) removeSubscription(sub *subscription) {
	c.mu.Lock()
	if c.subs == nil || c.subs[string(sub.sid)] != sub {
		c.mu.Unlock()
		return
	}
	delete(c.subs, string(sub.sid))
	account := c.account
	c.mu.Unlock()
	_ = account.sublist.Remove(sub.subject, sub.queue, sub)
	c.server.subscriptionChanged(account, sub.subject, sub.queue)
}

// sendNoResponders answers a request nobody received with a 503 status on the
// requester's reply subscription.
func (c *clientConn) sendNoResponders(pub *publication) {
	var target *subscription
	for _, sub := range c.account.sublist.MatchBytes(pub.reply).Plain {
		if sub.client == c && sub.internal == nil {
			target = sub
			break
		}
	}
	if target == nil {
		return
	}
	headerBytes := 32 + len(pub.subject)
	var line []byte
	line = append(line, "HMSG "...)
	line = append(line, pub.reply...)
	line = append(line, ' ')
	line = append(line, target.sid...)
	line = append(line, ' ')
	line = strconv.AppendInt(line, int64(headerBytes), 10)
	line = append(line, ' ')
	line = strconv.AppendInt(line, int64(headerBytes), 10)
	line = append(line, "\r\nNATS/1.0 503\r\nNats-Subject: "...)
	line = append(line, pub.subject...)
	line = append(line, "\r\n\r\n\r\n"...)
	c.queueOwn(line)
}

// base64URL encodes b in raw URL-safe base64 without importing it on the hot path.
func base64URL(b []byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var out strings.Builder
	for _, v := range b {
		out.WriteByte(alphabet[v&63])
	}
	return out.String()
}
