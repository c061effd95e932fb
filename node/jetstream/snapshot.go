package jetstream

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sync"
	"time"

	"github.com/klauspost/compress/s2"

	"github.com/natsim/natsim/ds/subject"
	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/proto/jsapi"
)

// Snapshot and restore bounds.
const (
	// snapshotChunkBytesDefault, snapshotChunkBytesMin and snapshotChunkBytesMax
	// bound one snapshot chunk (the reference clamps to 1KiB..1MiB).
	snapshotChunkBytesDefault = 128 << 10
	snapshotChunkBytesMin     = 1 << 10
	snapshotChunkBytesMax     = 1 << 20
	// snapshotWindowBytesDefault and snapshotWindowBytesMax bound the bytes sent and
	// not yet acknowledged (the reference's window_size, clamped the same way).
	snapshotWindowBytesDefault = 8 << 20
	snapshotWindowBytesMax     = 32 << 20
	// restoreBytesMax bounds a restore's staging file (compressed bytes): a restore
	// is checked whole before a stream is created.
	restoreBytesMax = 1 << 40
	// restoreStagingName is the directory of restores in progress, under the store
	// directory's jetstream root, as the reference's.
	restoreStagingName = ".snap-staging"
	// snapshotAckTimeout ends a snapshot whose client stopped acknowledging chunks,
	// with the reference's 408 No Flow Response.
	snapshotAckTimeout = 5 * time.Second
	// snapshotInterestWait and snapshotInterestPoll: clients subscribe to the
	// deliver subject only after the SNAPSHOT response, so the first chunk waits for
	// that subscription (the reference waits up to two seconds as well).
	snapshotInterestWait = 2 * time.Second
	snapshotInterestPoll = 10 * time.Millisecond
	// restoreIdleTimeout abandons a restore whose client stopped sending chunks (the
	// reference's activity interval: it calls such a restore stalled).
	restoreIdleTimeout = 5 * time.Second
)

// Snapshots are the reference's (nats-server 2.15) backup format: an s2 stream of
// NATSARC1 entries (snapshot_archive.go), so a backup taken from either server
// restores into the other, and natscli's backup info and validate read ours.

// The status headers of the message that ends a snapshot, as the reference sends.
var (
	snapshotEndOK           = []byte("NATS/1.0 204\r\n\r\n")
	snapshotEndNoFlow       = []byte("NATS/1.0 408 No Flow Response\r\n\r\n")
	snapshotEndNoInterest   = []byte("NATS/1.0 408 No Interest\r\n\r\n")
	errSnapshotTooLarge     = errors.New("snapshot too large")
	errSnapshotNoInterest   = errors.New("no interest")
	errSnapshotNoFlowAnswer = errors.New("no flow response")
)

// apiStreamSnapshot answers STREAM.SNAPSHOT: the response carries the configuration
// and state, then the chunks go to the deliver subject, each with an ack reply that
// opens the window for the next ones, and a 204 status message ends them.
func (a *Account) apiStreamSnapshot(request *Request, name string) {
	const op = jsapi.OpStreamSnapshot
	var body jsapi.StreamSnapshotRequest
	if apiErr := jsapi.DecodeRequestError(request.Data, &body, false); apiErr != nil {
		request.RespondError(op, apiErr)
		return
	}
	stream := a.lookup(request, op, name)
	if stream == nil {
		return
	}
	if body.DeliverSubject == "" || !subject.IsValidLiteralSubject(body.DeliverSubject) {
		request.RespondError(op, jsapi.NewSnapshotDeliverSubjectInvalidError())
		return
	}
	encoder, err := newSnapshotEncoder(stream, !body.NoConsumers)
	if err != nil {
		request.RespondError(op, jsapi.NewStreamSnapshotError(err))
		return
	}
	config := stream.Config()
	state := encoder.state
	request.Respond(&jsapi.StreamSnapshotResponse{Response: jsapi.Response{Type: jsapi.StreamSnapshotResponseType},
		Config: &config, State: &state})
	start := a.manager.config.Env.Clock.Now().UTC()
	a.adviseSnapshot(jsapi.AdvisoryStreamSnapshotCreate, name, &jsapi.SnapshotCreateAdvisory{
		TypedEvent: a.snapshotEvent(jsapi.SnapshotCreateAdvisoryType), Stream: name, State: state,
		Client: a.snapshotClient(), Domain: a.manager.config.Domain})
	chunk := body.ChunkSize
	if chunk <= 0 {
		chunk = snapshotChunkBytesDefault
	}
	chunk = min(max(chunk, snapshotChunkBytesMin), snapshotChunkBytesMax)
	window := body.WindowSize
	if window <= 0 {
		window = snapshotWindowBytesDefault
	}
	window = max(min(max(window, snapshotChunkBytesMin), snapshotWindowBytesMax), chunk)
	sender := &snapshotSender{account: a, stream: name, deliver: body.DeliverSubject, encoder: encoder, chunk: chunk,
		windowChunks: window / chunk, ackSubject: jsapi.SnapshotAckSubject(name, a.manager.newID()), started: start}
	sender.waitForInterest(a.manager.config.Env.Clock.Now().Add(snapshotInterestWait))
}

// snapshotSender sends a snapshot in chunks, at most windowChunks ahead of the
// client's acknowledgements, encoding each chunk when the window lets it go.
type snapshotSender struct {
	account      *Account
	stream       string
	deliver      string
	ackSubject   string
	chunk        int
	windowChunks int
	started      time.Time

	mu          sync.Mutex
	encoder     *snapshotEncoder
	sub         Subscription
	sending     bool
	index       int
	outstanding int
	finished    bool
	ackTimer    env.Timer
}

// waitForInterest starts the transfer once the deliver subject has a subscriber, or
// ends it with 408 No Interest after the deadline.
func (s *snapshotSender) waitForInterest(deadline time.Time) {
	manager := s.account.manager
	if snapshotHasInterest(manager.host, s.account.name, s.deliver) {
		s.start()
		return
	}
	clock := manager.config.Env.Clock
	if !clock.Now().Before(deadline) {
		manager.logger.Warnf("Snapshot for stream '%s > %s' failed: %v", s.account.name, s.stream, errSnapshotNoInterest)
		manager.host.Publish(s.account.name, s.deliver, "", snapshotEndNoInterest, nil)
		return
	}
	clock.AfterFunc(snapshotInterestPoll, func() { s.waitForInterest(deadline) })
}

// snapshotHasInterest reports whether someone subscribes to exactly the deliver
// subject, as the reference's interest notification does: a client's wildcard
// response subscription (nats.go's _INBOX.<id>.*) also matches the inbox the
// client asks for, but the chunks must wait for the subscription it makes after
// the response, or they reach a handler that drops them. A host that cannot tell
// exact interest apart falls back to any interest.
func snapshotHasInterest(host Host, account, deliver string) bool {
	if exact, ok := host.(interface {
		HasDeliveryInterest(account, subject, queue string) bool
	}); ok {
		return exact.HasDeliveryInterest(account, deliver, "")
	}
	return host.HasInterest(account, deliver)
}

func (s *snapshotSender) start() {
	// Acks come back on <ack subject>.<chunk bytes>.<chunk index>, as the reference's.
	sub, err := s.account.manager.host.Subscribe(s.account.name, s.ackSubject+".>", func(*Msg) { s.acknowledged() })
	if err != nil {
		s.account.manager.logger.Warnf("Snapshot for stream '%s > %s' failed: %v", s.account.name, s.stream, err)
		return
	}
	s.mu.Lock()
	s.sub = sub
	s.mu.Unlock()
	s.send()
}

func (s *snapshotSender) acknowledged() {
	s.mu.Lock()
	if s.outstanding > 0 {
		s.outstanding--
	}
	s.mu.Unlock()
	s.send()
}

// send fills the window; after the last chunk it sends the 204 end message (a 500
// with the error if the snapshot cannot be read). Every chunk sent rearms the ack
// timer, which ends a transfer whose client went quiet.
//
// Acks arrive on the client's connection while the first chunks go out from the
// request or a timer, so one call at a time does the sending (sending): chunks must
// leave in order. A call that finds another sending returns; the sender sees the
// window the call's ack opened when it checks it again, and stops (clearing
// sending) only under the lock it checked the window with.
func (s *snapshotSender) send() {
	host := s.account.manager.host
	s.mu.Lock()
	if s.sending {
		s.mu.Unlock()
		return
	}
	s.sending = true
	s.mu.Unlock()
	for {
		s.mu.Lock()
		if s.finished || s.outstanding >= s.windowChunks {
			s.sending = false
			s.mu.Unlock()
			return
		}
		piece, err := s.encoder.Next(s.chunk)
		if err != nil {
			s.sending = false
			s.mu.Unlock()
			s.finish(fmt.Appendf(nil, "NATS/1.0 500 %s\r\n\r\n", err), err)
			return
		}
		if len(piece) == 0 {
			s.sending = false
			s.mu.Unlock()
			s.finish(snapshotEndOK, nil)
			return
		}
		// The encoder reuses its buffer; the chunk leaves with its own copy.
		piece = bytes.Clone(piece)
		s.index++
		s.outstanding++
		reply := fmt.Sprintf("%s.%d.%d", s.ackSubject, len(piece), s.index)
		if s.ackTimer != nil {
			s.ackTimer.Stop()
		}
		s.ackTimer = s.account.manager.config.Env.Clock.AfterFunc(snapshotAckTimeout, s.ackTimedOut)
		s.mu.Unlock()
		host.Publish(s.account.name, s.deliver, reply, nil, piece)
	}
}

func (s *snapshotSender) ackTimedOut() { s.finish(snapshotEndNoFlow, errSnapshotNoFlowAnswer) }

// finish sends the end message once, unsubscribes and lets the data go.
func (s *snapshotSender) finish(status []byte, err error) {
	s.mu.Lock()
	if s.finished {
		s.mu.Unlock()
		return
	}
	s.finished = true
	sub := s.sub
	if s.ackTimer != nil {
		s.ackTimer.Stop()
	}
	s.encoder = nil
	s.mu.Unlock()
	manager := s.account.manager
	manager.host.Publish(s.account.name, s.deliver, "", status, nil)
	if sub != nil {
		sub.Unsubscribe()
	}
	advisory := &jsapi.SnapshotCompleteAdvisory{TypedEvent: s.account.snapshotEvent(jsapi.SnapshotCompleteAdvisoryType),
		Stream: s.stream, Start: s.started, End: manager.config.Env.Clock.Now().UTC(),
		Client: s.account.snapshotClient(), Domain: manager.config.Domain}
	if err != nil {
		advisory.Error = err.Error()
		manager.logger.Warnf("Snapshot for stream '%s > %s' failed: %v", s.account.name, s.stream, err)
	}
	s.account.adviseSnapshot(jsapi.AdvisoryStreamSnapshotComplete, s.stream, advisory)
}

// apiStreamRestore answers STREAM.RESTORE: it checks the configuration, then takes
// chunks on a fresh subject, acknowledging each; an empty message ends them, and the
// stream is created from the configuration and the snapshot's contents.
func (a *Account) apiStreamRestore(request *Request, name string) {
	const op = jsapi.OpStreamRestore
	var body jsapi.StreamRestoreRequest
	if apiErr := jsapi.DecodeRequestError(request.Data, &body, false); apiErr != nil {
		request.RespondError(op, apiErr)
		return
	}
	if body.Config.Name == "" {
		body.Config.Name = name
	}
	if body.Config.Name != name {
		request.RespondError(op, jsapi.NewStreamMismatchError())
		return
	}
	a.mu.Lock()
	checked, apiErr := jsapi.CheckStreamConfig(&body.Config, a.checkOptionsLocked(false, name))
	a.mu.Unlock()
	if apiErr != nil {
		request.RespondError(op, apiErr)
		return
	}
	if a.Stream(name) != nil {
		request.RespondError(op, jsapi.NewStreamNameExistRestoreFailedError())
		return
	}
	id := a.manager.newID()
	receiver := &restoreReceiver{account: a, config: checked,
		deliver: jsapi.RestoreDeliverSubject(name, id), start: a.manager.config.Env.Clock.Now().UTC()}
	sub, err := a.manager.host.Subscribe(a.name, receiver.deliver, receiver.chunk)
	if err != nil {
		request.RespondError(op, jsapi.NewRestoreSubscribeFailedError(receiver.deliver, err))
		return
	}
	receiver.mu.Lock()
	receiver.sub = sub
	if err := receiver.openSpool(id); err != nil {
		receiver.closed = true
		receiver.mu.Unlock()
		sub.Unsubscribe()
		request.RespondError(op, jsapi.NewStreamRestoreError(err))
		return
	}
	receiver.armIdleLocked()
	receiver.mu.Unlock()
	a.manager.logger.Noticef("Starting restore for stream '%s > %s'", a.name, name)
	a.adviseSnapshot(jsapi.AdvisoryStreamRestoreCreate, name, &jsapi.RestoreCreateAdvisory{
		TypedEvent: a.snapshotEvent(jsapi.RestoreCreateAdvisoryType), Stream: name,
		Client: a.snapshotClient(), Domain: a.manager.config.Domain})
	request.Respond(&jsapi.StreamRestoreResponse{Response: jsapi.Response{Type: jsapi.StreamRestoreResponseType},
		DeliverSubject: receiver.deliver})
}

// restoreReceiver collects a restore's chunks in a staging file, so that a restore
// of any size holds no more than one chunk in memory; the whole snapshot is checked
// from the file before a stream is created.
type restoreReceiver struct {
	account *Account
	config  jsapi.StreamConfig
	deliver string
	start   time.Time

	mu    sync.Mutex
	sub   Subscription
	spool env.File
	// received counts the snapshot bytes taken: the spool's length.
	received int64
	idle     env.Timer
	closed   bool
}

// openSpool creates the staging file of a restore.
func (r *restoreReceiver) openSpool(id string) error {
	fsys := r.account.manager.config.Env.FS
	dir := r.account.manager.restoreStagingDir()
	if err := fsys.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	spool, err := fsys.Create(path.Join(dir, id+".arc.s2"))
	if err != nil {
		return err
	}
	r.spool = spool
	return nil
}

// closeSpoolLocked closes and removes the staging file.
func (r *restoreReceiver) closeSpoolLocked() {
	if r.spool == nil {
		return
	}
	name := r.spool.Name()
	_ = r.spool.Close()
	_ = r.account.manager.config.Env.FS.Remove(name)
	r.spool = nil
}

func (r *restoreReceiver) armIdleLocked() {
	if r.idle != nil {
		r.idle.Stop()
	}
	r.idle = r.account.manager.config.Env.Clock.AfterFunc(restoreIdleTimeout, r.abandon)
}

// abandon drops a restore whose client went quiet.
func (r *restoreReceiver) abandon() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	sub := r.sub
	r.closeSpoolLocked()
	r.mu.Unlock()
	if sub != nil {
		sub.Unsubscribe()
	}
	r.account.manager.logger.Warnf("restore for stream '%s > %s' is stalled", r.account.name, r.config.Name)
}

// chunk takes one chunk, or the empty end message.
func (r *restoreReceiver) chunk(msg *Msg) {
	host := r.account.manager.host
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	if len(msg.Data) > 0 {
		var err error
		if r.received+int64(len(msg.Data)) > restoreBytesMax {
			err = errSnapshotTooLarge
		} else if _, err = r.spool.WriteAt(msg.Data, r.received); err == nil {
			r.received += int64(len(msg.Data))
		}
		if err != nil {
			r.closed = true
			r.closeSpoolLocked()
			r.mu.Unlock()
			r.finish(msg.Reply, jsapi.NewStreamRestoreError(err))
			return
		}
		r.armIdleLocked()
		r.mu.Unlock()
		if msg.Reply != "" {
			host.Publish(r.account.name, msg.Reply, "", nil, nil)
		}
		return
	}
	r.closed = true
	if r.idle != nil {
		r.idle.Stop()
	}
	source := io.NewSectionReader(r.spool, 0, r.received)
	r.mu.Unlock()
	reply := msg.Reply
	r.account.restoreStreamDurably(r.config, source, func(apiErr *jsapi.Error) {
		r.mu.Lock()
		r.closeSpoolLocked()
		r.mu.Unlock()
		r.finish(reply, apiErr)
	})
}

// finish unsubscribes and answers the end message with the new stream or the error.
func (r *restoreReceiver) finish(reply string, apiErr *jsapi.Error) {
	r.mu.Lock()
	sub := r.sub
	received := r.received
	r.mu.Unlock()
	if sub != nil {
		sub.Unsubscribe()
	}
	manager := r.account.manager
	r.account.adviseSnapshot(jsapi.AdvisoryStreamRestoreComplete, r.config.Name, &jsapi.RestoreCompleteAdvisory{
		TypedEvent: r.account.snapshotEvent(jsapi.RestoreCompleteAdvisoryType), Stream: r.config.Name,
		Start: r.start, End: manager.config.Env.Clock.Now().UTC(), Bytes: received,
		Client: r.account.snapshotClient(), Domain: manager.config.Domain})
	logger := manager.logger
	request := &Request{Reply: reply, account: r.account}
	if apiErr != nil {
		logger.Warnf("Restore failed for stream '%s > %s': %v", r.account.name, r.config.Name, apiErr)
		request.RespondError(jsapi.OpStreamCreate, apiErr)
		return
	}
	stream := r.account.Stream(r.config.Name)
	if stream == nil {
		request.RespondError(jsapi.OpStreamCreate, jsapi.NewStreamNotFoundError())
		return
	}
	logger.Noticef("Completed restore for stream '%s > %s'", r.account.name, r.config.Name)
	request.Respond(&jsapi.StreamCreateResponse{Response: jsapi.Response{Type: jsapi.StreamCreateResponseType},
		StreamInfo: stream.Info(false, ""), DidCreate: true})
}

// restoreStream checks the whole snapshot first, then creates the stream, loads
// the messages and consumers into it. A snapshot that does not decode or check
// creates nothing; a failure after the stream exists deletes it, so a restore never
// leaves a partial stream behind.
func (a *Account) restoreStream(config jsapi.StreamConfig, data snapshotSource) *jsapi.Error {
	plan, err := a.checkSnapshotArchive(config, data)
	if err != nil {
		return jsapi.NewStreamRestoreError(err)
	}
	if apiErr := a.checkRestoreUsage(config.Storage, plan.state.Bytes); apiErr != nil {
		return apiErr
	}
	stream, created, apiErr := a.AddStream(config, false)
	if apiErr != nil {
		return apiErr
	}
	if !created {
		return jsapi.NewStreamNameExistRestoreFailedError()
	}
	if err := stream.applySnapshotArchive(plan, data); err != nil {
		_ = a.DeleteStream(config.Name)
		return jsapi.NewStreamRestoreError(err)
	}
	return nil
}

// checkRestoreUsage refuses a restore whose bytes (as the snapshot's state counts
// them) would take the account or the server past its memory or storage limit, with
// the reference's resources-exceeded error.
func (a *Account) checkRestoreUsage(storage jsapi.StorageType, restoreBytes uint64) *jsapi.Error {
	info := a.Info()
	accountLimit, accountUsed := info.Limits.MaxStore, info.Store
	serverLimit := a.manager.config.MaxStore
	serverMemory, serverStore := a.manager.Usage()
	serverUsed := serverStore
	exceeded := jsapi.NewStorageResourcesExceededError
	if storage == jsapi.MemoryStorage {
		accountLimit, accountUsed = info.Limits.MaxMemory, info.Memory
		serverLimit, serverUsed = a.manager.config.MaxMemory, serverMemory
		exceeded = jsapi.NewMemoryResourcesExceededError
	}
	if accountLimit >= 0 && accountUsed+restoreBytes > uint64(accountLimit) {
		return exceeded()
	}
	if serverLimit > 0 && serverUsed+restoreBytes > uint64(serverLimit) {
		return exceeded()
	}
	return nil
}

// restoreStreamDurably restores, then calls done once the restored messages are
// durable under the server's sync policy, as a publish is acknowledged only then; a
// restore whose messages cannot be made durable is deleted and reported.
func (a *Account) restoreStreamDurably(config jsapi.StreamConfig, data snapshotSource, done func(*jsapi.Error)) {
	if apiErr := a.restoreStream(config, data); apiErr != nil {
		done(apiErr)
		return
	}
	stream := a.Stream(config.Name)
	if stream == nil {
		done(jsapi.NewStreamNotFoundError())
		return
	}
	stream.Store().Durable(func(err error) {
		if err != nil {
			_ = a.DeleteStream(config.Name)
			done(jsapi.NewStreamRestoreError(err))
			return
		}
		done(nil)
	})
}

// snapshotEvent heads an advisory of type kind.
func (a *Account) snapshotEvent(kind string) jsapi.TypedEvent {
	m := a.manager
	return jsapi.TypedEvent{Type: kind, ID: m.newID(), Time: m.config.Env.Clock.Now().UTC()}
}

// snapshotClient is the advisories' client: the API requests reach JetStream without
// the connection's details, so it names the account only.
func (a *Account) snapshotClient() json.RawMessage {
	client, _ := json.Marshal(struct {
		Account string `json:"acc"`
	}{a.name})
	return client
}

// adviseSnapshot publishes a snapshot or restore advisory for stream.
func (a *Account) adviseSnapshot(prefix, stream string, advisory any) {
	a.manager.host.Publish(a.name, jsapi.AdvisorySubject(prefix, stream), "", nil, jsapi.MarshalResponse(advisory))
}

// snapshotSource is a restore's snapshot: its staging file, or bytes in tests.
type snapshotSource interface {
	io.ReaderAt
	Size() int64
}

// snapshotDecoder opens the s2 stream of a snapshot from its start.
func snapshotDecoder(data snapshotSource) *s2.Reader {
	return s2.NewReader(bufio.NewReaderSize(io.NewSectionReader(data, 0, data.Size()), snapshotBlockBytes))
}

// restoreStagingDir is where restores in progress keep their snapshots.
func (m *Manager) restoreStagingDir() string { return path.Join(m.rootDir(), restoreStagingName) }
