package jetstream

import (
	"bytes"
	"errors"
	"sync"
	"time"

	"github.com/natsim/natsim/ds/subject"
	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/proto/jsapi"
	"github.com/natsim/natsim/store"
)

// Snapshot and restore bounds.
const (
	// snapshotChunkBytesDefault and snapshotChunkBytesMax bound one snapshot chunk.
	snapshotChunkBytesDefault = 128 << 10
	snapshotChunkBytesMax     = 1 << 20
	// snapshotWindowChunksMax bounds the chunks sent and not yet acknowledged.
	snapshotWindowChunksMax = 8
	// snapshotBytesMax bounds a snapshot or a restore held in memory.
	snapshotBytesMax = 1 << 30
	// restoreIdleTimeout abandons a restore whose client stopped sending chunks.
	restoreIdleTimeout = 2 * time.Minute
)

// The snapshot format is store.WriteSnapshot's (messages with sequences and times,
// checksummed); the configuration travels in the API responses and the restore
// request, as the reference's do. Snapshots are not interchangeable with the
// reference's tar of block files.

// apiStreamSnapshot answers STREAM.SNAPSHOT: the response carries the configuration
// and state, then the chunks go to the deliver subject, each with an ack reply that
// opens the window for the next ones, and an empty message ends them.
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
	var buffer bytes.Buffer
	if err := store.WriteSnapshot(&limitedWriter{w: &buffer, remaining: snapshotBytesMax}, stream.store); err != nil {
		request.RespondError(op, jsapi.NewStreamSnapshotError(err))
		return
	}
	info := stream.Info(false, "")
	request.Respond(&jsapi.StreamSnapshotResponse{Response: jsapi.Response{Type: jsapi.StreamSnapshotResponseType},
		Config: &info.Config, State: &info.State})
	chunk := body.ChunkSize
	if chunk <= 0 {
		chunk = snapshotChunkBytesDefault
	}
	chunk = min(chunk, snapshotChunkBytesMax)
	sender := &snapshotSender{account: a, deliver: body.DeliverSubject, data: buffer.Bytes(), chunk: chunk,
		ackSubject: jsapi.SnapshotAckSubject(name, a.manager.newID())}
	sender.start()
}

// limitedWriter fails once more than remaining bytes are written.
type limitedWriter struct {
	w         *bytes.Buffer
	remaining int
}

var errSnapshotTooLarge = errors.New("snapshot too large")

func (l *limitedWriter) Write(p []byte) (int, error) {
	if len(p) > l.remaining {
		return 0, errSnapshotTooLarge
	}
	l.remaining -= len(p)
	return l.w.Write(p)
}

// snapshotSender sends a snapshot in chunks, at most snapshotWindowChunksMax ahead
// of the client's acknowledgements.
type snapshotSender struct {
	account    *Account
	deliver    string
	ackSubject string
	data       []byte
	chunk      int

	mu          sync.Mutex
	sub         Subscription
	offset      int
	outstanding int
	finished    bool
}

func (s *snapshotSender) start() {
	sub, err := s.account.manager.host.Subscribe(s.account.name, s.ackSubject, func(*Msg) { s.acknowledged() })
	if err != nil {
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

// send fills the window; after the last chunk it sends the empty end message.
func (s *snapshotSender) send() {
	host := s.account.manager.host
	for {
		s.mu.Lock()
		if s.finished || s.outstanding >= snapshotWindowChunksMax {
			s.mu.Unlock()
			return
		}
		if s.offset >= len(s.data) {
			s.finished = true
			sub := s.sub
			s.mu.Unlock()
			host.Publish(s.account.name, s.deliver, "", nil, nil)
			if sub != nil {
				sub.Unsubscribe()
			}
			return
		}
		end := min(s.offset+s.chunk, len(s.data))
		piece := s.data[s.offset:end]
		s.offset = end
		s.outstanding++
		s.mu.Unlock()
		host.Publish(s.account.name, s.deliver, s.ackSubject, nil, piece)
	}
}

// apiStreamRestore answers STREAM.RESTORE: it checks the configuration, then takes
// chunks on a fresh subject, acknowledging each; an empty message ends them, and the
// stream is created from the configuration and the snapshot's messages.
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
	if a.Stream(name) != nil {
		request.RespondError(op, jsapi.NewStreamNameExistRestoreFailedError())
		return
	}
	a.mu.Lock()
	_, apiErr := jsapi.CheckStreamConfig(&body.Config, a.checkOptionsLocked(false, name))
	a.mu.Unlock()
	if apiErr != nil {
		request.RespondError(op, apiErr)
		return
	}
	receiver := &restoreReceiver{account: a, config: body.Config,
		deliver: jsapi.RestoreDeliverSubject(name, a.manager.newID())}
	sub, err := a.manager.host.Subscribe(a.name, receiver.deliver, receiver.chunk)
	if err != nil {
		request.RespondError(op, jsapi.NewRestoreSubscribeFailedError(receiver.deliver, err))
		return
	}
	receiver.mu.Lock()
	receiver.sub = sub
	receiver.armIdleLocked()
	receiver.mu.Unlock()
	request.Respond(&jsapi.StreamRestoreResponse{Response: jsapi.Response{Type: jsapi.StreamRestoreResponseType},
		DeliverSubject: receiver.deliver})
}

// restoreReceiver collects a restore's chunks.
type restoreReceiver struct {
	account *Account
	config  jsapi.StreamConfig
	deliver string

	mu     sync.Mutex
	sub    Subscription
	data   bytes.Buffer
	idle   env.Timer
	closed bool
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
	r.mu.Unlock()
	if sub != nil {
		sub.Unsubscribe()
	}
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
		if r.data.Len()+len(msg.Data) > snapshotBytesMax {
			r.closed = true
			r.mu.Unlock()
			r.finish(msg.Reply, jsapi.NewStreamRestoreError(errSnapshotTooLarge))
			return
		}
		r.data.Write(msg.Data)
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
	data := r.data.Bytes()
	r.mu.Unlock()
	r.finish(msg.Reply, r.account.restoreStream(r.config, data))
}

// finish unsubscribes and answers the end message with the new stream or the error.
func (r *restoreReceiver) finish(reply string, apiErr *jsapi.Error) {
	r.mu.Lock()
	sub := r.sub
	r.mu.Unlock()
	if sub != nil {
		sub.Unsubscribe()
	}
	request := &Request{Reply: reply, account: r.account}
	if apiErr != nil {
		request.RespondError(jsapi.OpStreamRestore, apiErr)
		return
	}
	stream := r.account.Stream(r.config.Name)
	if stream == nil {
		request.RespondError(jsapi.OpStreamRestore, jsapi.NewStreamNotFoundError())
		return
	}
	request.Respond(&jsapi.StreamCreateResponse{Response: jsapi.Response{Type: jsapi.StreamCreateResponseType},
		StreamInfo: stream.Info(false, ""), DidCreate: true})
}

// restoreStream creates the stream and loads the snapshot's messages into it; a
// snapshot that does not decode leaves no stream behind.
func (a *Account) restoreStream(config jsapi.StreamConfig, data []byte) *jsapi.Error {
	stream, created, apiErr := a.AddStream(config, false)
	if apiErr != nil {
		return apiErr
	}
	if !created {
		return jsapi.NewStreamNameExistRestoreFailedError()
	}
	stream.mu.Lock()
	err := store.RestoreSnapshot(stream.store, bytes.NewReader(data))
	if err == nil {
		stream.recoverDedupLocked()
		stream.armExpiryLocked()
	}
	stream.mu.Unlock()
	if err != nil {
		_ = a.DeleteStream(config.Name)
		return jsapi.NewStreamRestoreError(err)
	}
	return nil
}
