package scenarios

import (
	"time"

	"github.com/natsim/natsim/env"
)

// registerStateFile is the replica's only file.
const registerStateFile = "register.state"

// registerWaitingMax bounds the store acks a replica holds until its next fsync; stores
// beyond it are not acked (their clients time out).
const registerWaitingMax = 1024

// registerRetryDelay paces disk retries and recovery re-queries.
const registerRetryDelay = 100 * time.Millisecond

// replicaOptions are a replica's knobs and (for the broken variants) its bugs.
type replicaOptions struct {
	port       int
	fsyncDelay time.Duration // group commit: how long stores wait for the next fsync
	// scrubInterval paces the re-reading of the durable slot, which rewrites the state
	// when the disk no longer returns what was made durable.
	scrubInterval time.Duration
}

// waitingAck is a store ack held until the state that covers it is durable.
type waitingAck struct {
	conn    env.Conn
	request uint64
}

// replica is one ABD register replica. It answers queries from memory, acks a store only
// once a state at least as new is durable (written and fsynced, the directory entry
// too), and after every boot recovers: it does not answer clients until every other
// replica has told it its state, because its own disk may have lost or corrupted what it
// acked (the fault atlas keeps a majority of disks healthy, so the acked state survives
// on another member of every quorum).
type replica struct {
	env     env.Env
	self    string
	peers   []string
	options replicaOptions

	file      env.File
	dirSynced bool
	// durableSlot holds the last state known durable; writes go to the other slot.
	durableSlot int
	sequence    uint64
	// writtenDirty: the pending slot must be (re)written before the next fsync.
	writtenDirty bool
	// pendingWritten: the pending slot holds the current state, not yet fsynced.
	pendingWritten bool
	syncTimer      env.Timer

	tag   registerTag
	value string
	// durable is the record last made durable, what a scrub expects to read back.
	durable registerSlot
	// written is the record last written to the pending slot.
	written registerSlot

	bootSynced bool
	recovering bool
	recovery   uint64 // request id of the recovery round
	recovered  []bool // by peer index
	peerConns  []env.Conn
	waiting    []waitingAck
}

func newReplica(e env.Env, self string, peers []string, options replicaOptions) *replica {
	r := &replica{
		env:         e,
		self:        self,
		peers:       peers,
		options:     options,
		durableSlot: -1,
		recovering:  true,
		recovered:   make([]bool, len(peers)),
		peerConns:   make([]env.Conn, len(peers)),
	}
	if _, err := e.Net.Listen(joinHostPort(self, options.port), r.accept); err != nil {
		return r // cannot happen on a fresh incarnation; the replica then stays silent
	}
	r.openState()
	return r
}

func joinHostPort(host string, port int) string {
	return host + ":" + itoa(port)
}

// openState reads the state file, makes what it read durable, then starts recovery. It
// retries until the disk cooperates.
func (r *replica) openState() {
	if r.file == nil {
		f, err := r.env.FS.OpenReadWrite(registerStateFile)
		if err != nil {
			r.env.Clock.AfterFunc(registerRetryDelay, r.openState)
			return
		}
		r.file = f
		best, bestSlot := registerSlot{}, -1
		buf := make([]byte, registerSlotBytes)
		for slot := 0; slot < registerSlots; slot++ {
			n, _ := f.ReadAt(buf, int64(slot*registerSlotBytes))
			if s, ok := decodeRegisterSlot(buf[:n]); ok && (bestSlot < 0 || s.sequence > best.sequence) {
				best, bestSlot = s, slot
			}
		}
		r.tag, r.value, r.sequence = best.tag, best.value, best.sequence
		r.durableSlot = bestSlot
		r.durable = best
	}
	// What a previous incarnation wrote may still be only in the page cache: make it
	// durable before building on it, or a later write to the other slot could leave
	// no intact slot after a power loss.
	if err := r.file.Sync(); err != nil {
		// After a failed fsync the page cache may hold bytes the disk forgot: write
		// the newest slot again so that the retry has something to make durable. A
		// slot is smaller than a sector, so the rewrite lands whole or not at all and
		// cannot destroy the copy already on disk.
		if r.durableSlot >= 0 {
			r.writeSlot(r.durableSlot)
		}
		r.env.Clock.AfterFunc(registerRetryDelay, r.openState)
		return
	}
	if err := r.env.FS.SyncDir("."); err != nil {
		r.env.Clock.AfterFunc(registerRetryDelay, r.openState)
		return
	}
	r.dirSynced = true
	r.bootSynced = true
	r.startRecovery()
	r.env.Clock.AfterFunc(r.options.scrubInterval, r.scrub)
}

// scrub reads the durable slot back; if the disk lost or changed it (a bit flip, a
// latent sector error, a misdirected or stale write), the state is written anew, to the
// other slot as always, so that the durable copy is intact again.
func (r *replica) scrub() {
	r.env.Clock.AfterFunc(r.options.scrubInterval, r.scrub)
	if r.durableSlot < 0 || r.writtenDirty || r.pendingWritten {
		return
	}
	buf := make([]byte, registerSlotBytes)
	n, _ := r.file.ReadAt(buf, int64(r.durableSlot*registerSlotBytes))
	if got, ok := decodeRegisterSlot(buf[:n]); ok && got == r.durable {
		return
	}
	r.writtenDirty = true
	r.scheduleSync()
}

// startRecovery asks every peer for its state; recovery ends when all have answered.
func (r *replica) startRecovery() {
	r.recovery = r.env.Rand.Uint64()
	if len(r.peers) == 0 {
		r.recovering = false
		return
	}
	r.askPeers()
}

func (r *replica) askPeers() {
	if !r.recovering {
		return
	}
	for i, peer := range r.peers {
		if r.recovered[i] {
			continue
		}
		if r.peerConns[i] == nil {
			index := i
			r.env.Net.Dial(peer, func(c env.Conn, err error) {
				if err != nil {
					return
				}
				if r.peerConns[index] != nil {
					c.Close()
					return
				}
				r.peerConns[index] = c
				c.Start(&replicaConn{replica: r, conn: c, peer: index})
				r.send(c, registerMessage{kind: messageRecoverQuery, request: r.recovery})
			})
			continue
		}
		r.send(r.peerConns[i], registerMessage{kind: messageRecoverQuery, request: r.recovery})
	}
	r.env.Clock.AfterFunc(registerRetryDelay*3, r.askPeers)
}

func (r *replica) send(c env.Conn, m registerMessage) {
	if _, err := c.Write(m.appendTo(nil)); err == nil {
		c.Flush()
	}
}

func (r *replica) accept(c env.Conn) {
	c.Start(&replicaConn{replica: r, conn: c, peer: -1})
}

// replicaConn is one connection into or out of the replica.
type replicaConn struct {
	replica *replica
	conn    env.Conn
	peer    int // index of the peer dialed for recovery, -1 for accepted connections
	reader  frameReader
}

func (h *replicaConn) OnData(b []byte) {
	if err := h.reader.feed(b, h.handle); err != nil {
		h.conn.Close()
	}
}

func (h *replicaConn) OnClose(error) {
	if h.peer >= 0 && h.replica.peerConns[h.peer] == h.conn {
		h.replica.peerConns[h.peer] = nil
	}
}

func (h *replicaConn) handle(payload []byte) error {
	m, err := decodeRegisterMessage(payload)
	if err != nil {
		return err
	}
	r := h.replica
	switch m.kind {
	case messageRecoverQuery:
		r.send(h.conn, registerMessage{kind: messageRecoverReply, request: m.request, tag: r.tag, value: r.value})
	case messageRecoverReply:
		if r.recovering && h.peer >= 0 && m.request == r.recovery && !r.recovered[h.peer] {
			r.recovered[h.peer] = true
			r.adopt(m.tag, m.value)
			if allTrue(r.recovered) {
				r.recovering = false
			}
		}
	case messageQuery:
		if !r.recovering {
			r.send(h.conn, registerMessage{kind: messageQueryReply, request: m.request, tag: r.tag, value: r.value})
		}
	case messageStore:
		if r.recovering {
			return nil
		}
		r.adopt(m.tag, m.value)
		if len(r.waiting) < registerWaitingMax {
			r.waiting = append(r.waiting, waitingAck{conn: h.conn, request: m.request})
		}
		r.scheduleSync()
	}
	return nil
}

func allTrue(b []bool) bool {
	for _, v := range b {
		if !v {
			return false
		}
	}
	return true
}

// adopt keeps (tag, value) if it is newer, writing it to the pending slot.
func (r *replica) adopt(tag registerTag, value string) {
	if !r.tag.less(tag) {
		return
	}
	r.tag, r.value = tag, value
	r.writtenDirty = true
	r.scheduleSync()
}

func (r *replica) pendingSlot() int {
	if r.durableSlot == 0 {
		return 1
	}
	return 0
}

func (r *replica) writeSlot(slot int) bool {
	r.sequence++
	r.written = registerSlot{sequence: r.sequence, tag: r.tag, value: r.value}
	_, err := r.file.WriteAt(r.written.encode(), int64(slot*registerSlotBytes))
	return err == nil
}

// scheduleSync arranges a group commit fsyncDelay from now.
func (r *replica) scheduleSync() {
	if r.syncTimer != nil || !r.bootSynced {
		return
	}
	delay := r.options.fsyncDelay
	if env.Buggify(r.env.Faults, "register/replica-slow-fsync") {
		delay += 50 * time.Millisecond
	}
	r.syncTimer = r.env.Clock.AfterFunc(delay, r.sync)
}

// sync writes the current state if needed, fsyncs it, and acks every waiting store:
// each waiting store's tag is at most the state just made durable. A failed write or
// fsync acks nothing and retries with a full rewrite, since after a failed fsync the
// page cache may hold bytes the disk has forgotten.
func (r *replica) sync() {
	r.syncTimer = nil
	slot := r.pendingSlot()
	if r.writtenDirty {
		if !r.writeSlot(slot) {
			r.retrySync()
			return
		}
		r.writtenDirty = false
		r.pendingWritten = true
	}
	if err := r.file.Sync(); err != nil {
		if r.pendingWritten {
			r.writtenDirty = true
		}
		r.retrySync()
		return
	}
	if r.pendingWritten {
		r.durableSlot = slot
		r.durable = r.written
		r.pendingWritten = false
	}
	if !r.dirSynced {
		if err := r.env.FS.SyncDir("."); err != nil {
			r.retrySync()
			return
		}
		r.dirSynced = true
	}
	waiting := r.waiting
	r.waiting = nil
	for _, w := range waiting {
		r.send(w.conn, registerMessage{kind: messageStoreAck, request: w.request})
	}
}

func (r *replica) retrySync() {
	r.syncTimer = r.env.Clock.AfterFunc(registerRetryDelay, r.sync)
}
