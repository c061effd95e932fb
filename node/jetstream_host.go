package node

import (
	"crypto/sha256"
	"errors"
	"strings"

	"github.com/natsim/natsim/ds/subject"
	"github.com/natsim/natsim/node/jetstream"
	"github.com/natsim/natsim/node/opts"
	"github.com/natsim/natsim/store/filestore"
)

// jetStreamStoreDirDefault is the store directory when the options name none. The
// reference uses the OS temporary directory; cmd/nats-server fills that in, and this
// is the fallback for servers built in tests.
const jetStreamStoreDirDefault = "/tmp/nats"

// jetStreamHost is the server as JetStream sees it: publishing into accounts and
// internal subscriptions, through a connection-less internal client.
type jetStreamHost struct {
	server *Server
	// client publishes on the server's behalf; it has no connection and no
	// subscriptions, so nothing is ever delivered to it.
	client *clientConn
}

var _ jetstream.Host = (*jetStreamHost)(nil)

func newJetStreamHost(s *Server) *jetStreamHost {
	return &jetStreamHost{server: s, client: &clientConn{server: s}}
}

// Publish routes a message into account and flushes the connections it reached.
func (h *jetStreamHost) Publish(account, subject, reply string, header, data []byte) {
	target := h.server.lookupAccount(account)
	if target == nil {
		return
	}
	pub := publication{subject: []byte(subject), headerBytes: -1, message: data}
	if reply != "" {
		pub.reply = []byte(reply)
	}
	if len(header) > 0 {
		message := make([]byte, 0, len(header)+len(data))
		message = append(message, header...)
		message = append(message, data...)
		pub.headerBytes, pub.message = len(header), message
	}
	var set flushSet
	h.client.route(target, &pub, &set)
	set.flush(h.server, nil)
}

// hostBatchFlushEvery is the number of messages a publish batch buffers before it
// writes the connections they reached: the first PubAcks of a large batch should not
// wait for the last ones.
const hostBatchFlushEvery = 64

// hostPublishBatch sends a run of server messages into one account (a stream's
// PubAcks), writing the connections once per hostBatchFlushEvery messages.
type hostPublishBatch struct {
	host     *jetStreamHost
	target   *Account
	set      flushSet
	buffered int
}

var _ jetstream.BatchPublisher = (*jetStreamHost)(nil)

// NewPublishBatch implements jetstream.BatchPublisher.
func (h *jetStreamHost) NewPublishBatch(account string) jetstream.PublishBatch {
	target := h.server.lookupAccount(account)
	if target == nil {
		return nil
	}
	return &hostPublishBatch{host: h, target: target}
}

// Publish routes a message without headers or reply, as jetStreamHost.Publish does.
func (b *hostPublishBatch) Publish(subject string, data []byte) {
	pub := publication{subject: []byte(subject), headerBytes: -1, message: data}
	b.host.client.route(b.target, &pub, &b.set)
	b.buffered++
	if b.buffered == hostBatchFlushEvery {
		b.Flush()
	}
}

// Flush writes the connections the buffered messages reached.
func (b *hostPublishBatch) Flush() {
	b.set.flush(b.host.server, nil)
	b.buffered = 0
}

// Deliver routes a message by deliverSubject in account but writes it to the
// subscribers under subject, the way consumers deliver stream messages.
func (h *jetStreamHost) Deliver(account, deliverSubject, subject, reply string, header, data []byte) {
	target := h.server.lookupAccount(account)
	if target == nil {
		return
	}
	pub := publication{subject: []byte(subject), headerBytes: -1, message: data}
	if reply != "" {
		pub.reply = []byte(reply)
	}
	if len(header) > 0 {
		message := make([]byte, 0, len(header)+len(data))
		message = append(message, header...)
		message = append(message, data...)
		pub.headerBytes, pub.message = len(header), message
	}
	var set flushSet
	h.client.deliverResult(target.sublist.Match(deliverSubject), &pub, &set)
	for _, importer := range importersOf(target, deliverSubject) {
		h.client.deliverResult(importer.account.sublist.Match(importer.subject), &pub, &set)
	}
	if strings.HasPrefix(deliverSubject, replyPrefix) {
		// A pull request that came through a service import (MSG.NEXT imported by an
		// account without JetStream): its messages go back to the importer's inbox.
		if response := target.takeResponse(deliverSubject, h.server.env.Clock.Now()); response != nil {
			h.client.deliverResult(response.importer.sublist.Match(response.reply), &pub, &set)
		}
	}
	set.flush(h.server, nil)
}

// importedSubject is a subject as an importing account sees it.
type importedSubject struct {
	account *Account
	subject string
}

// importersOf lists the accounts importing subj from account as a stream, with the
// subject mapped for each: consumer deliveries reach them too (cross-account mirrors,
// sources and push consumers), as published messages do.
func importersOf(account *Account, subj string) []importedSubject {
	var importers []importedSubject
	for _, si := range account.streamImporters() {
		if subject.MatchesFilter(subj, si.subject) {
			importers = append(importers, importedSubject{account: si.importer, subject: si.mapSubject(subj)})
		}
	}
	return importers
}

// jetStreamSubscription is an internal subscription made for JetStream.
type jetStreamSubscription struct {
	server  *Server
	account *Account
	sub     *subscription
}

// Unsubscribe removes the subscription; a second call does nothing.
func (j *jetStreamSubscription) Unsubscribe() {
	if j.sub == nil {
		return
	}
	_ = j.account.sublist.Remove(j.sub.subject, "", j.sub)
	j.server.subscriptionChanged(j.account, j.sub.subject, "")
	j.sub = nil
}

// Subscribe adds an internal subscription whose messages go to handler.
func (h *jetStreamHost) Subscribe(account, subject string, handler jetstream.Handler) (jetstream.Subscription, error) {
	target := h.server.lookupAccount(account)
	if target == nil {
		return nil, errors.New("node: no account " + account)
	}
	sub := &subscription{subject: subject, internal: func(_ *clientConn, pub publication, _ *flushSet) {
		// Subject and reply share one string: one allocation per message instead of
		// two (handlers keep both, for the PubAck and the consumers).
		var scratch [128]byte
		joined := string(append(append(scratch[:0], pub.subject...), pub.reply...))
		msg := jetstream.Msg{Subject: joined[:len(pub.subject)], Reply: joined[len(pub.subject):], Data: pub.message}
		if pub.headerBytes >= 0 && pub.headerBytes <= len(pub.message) {
			msg.Header, msg.Data = pub.message[:pub.headerBytes], pub.message[pub.headerBytes:]
		}
		handler(&msg)
	}}
	if err := target.sublist.Insert(subject, "", sub); err != nil {
		return nil, err
	}
	h.server.subscriptionChanged(target, subject, "")
	return &jetStreamSubscription{server: h.server, account: target, sub: sub}, nil
}

// HasInterest reports whether account has a subscriber on subject.
func (h *jetStreamHost) HasInterest(account, subject string) bool {
	target := h.server.lookupAccount(account)
	if target == nil {
		return false
	}
	result := target.sublist.Match(subject)
	if len(result.Plain) > 0 || len(result.Queues) > 0 {
		return true
	}
	for _, importer := range importersOf(target, subject) {
		imported := importer.account.sublist.Match(importer.subject)
		if len(imported.Plain) > 0 || len(imported.Queues) > 0 {
			return true
		}
	}
	if strings.HasPrefix(subject, replyPrefix) {
		// The reply of a request that came through a service import: the interest is
		// the importer's, in its own reply subject (Deliver routes there).
		target.mu.Lock()
		response := target.responses[subject]
		target.mu.Unlock()
		if response != nil && !h.server.env.Clock.Now().After(response.expires) {
			imported := response.importer.sublist.Match(response.reply)
			return len(imported.Plain) > 0 || len(imported.Queues) > 0
		}
	}
	return false
}

var _ jetstream.InterestWatcher = (*jetStreamHost)(nil)

// WatchInterest implements jetstream.InterestWatcher: changed runs from a task
// whenever a subscription on exactly subject in queue group queue comes or goes in
// account or in an account importing subject from it.
func (h *jetStreamHost) WatchInterest(account, subject, queue string, changed func()) (cancel func()) {
	return h.server.interestWatch.watch(account, subject, queue, changed)
}

// HasDeliveryInterest implements jetstream.InterestWatcher.
func (h *jetStreamHost) HasDeliveryInterest(account, subject, queue string) bool {
	target := h.server.lookupAccount(account)
	if target == nil {
		return false
	}
	return deliveryInterest(target, subject, queue)
}

// jetStreamLogger prefixes nothing: the server's logger already says who speaks.
type jetStreamLogger struct{ logger Logger }

func (l jetStreamLogger) Noticef(format string, args ...any) { l.logger.Noticef(format, args...) }
func (l jetStreamLogger) Warnf(format string, args ...any)   { l.logger.Warnf(format, args...) }
func (l jetStreamLogger) Errorf(format string, args ...any)  { l.logger.Errorf(format, args...) }
func (l jetStreamLogger) Debugf(format string, args ...any)  { l.logger.Debugf(format, args...) }

// jetStreamConfig maps the options to JetStream's configuration. The durable default
// (fsync before every PubAck, grouped) holds unless the options ask for sync_interval
// explicitly: sync_always is the default, and only an interval other than the
// option's default selects interval mode.
func jetStreamConfig(s *Server, o *opts.Options) jetstream.Config {
	config := jetstream.Config{
		Env: s.env, Logger: jetStreamLogger{s.logger}, StoreDir: o.StoreDir,
		MaxMemory: o.JetStreamMaxMemory, MaxStore: o.JetStreamMaxStore, Domain: o.JetStreamDomain, Lenient: !o.JetStreamStrict,
		ServerMaxAckPending:   o.JetStreamLimits.MaxAckPending,
		ServerMaxRequestBatch: o.JetStreamLimits.MaxRequestBatch,

		BatchInflightPerStreamMax: o.JetStreamLimits.MaxBatchInflightPerStream,
		BatchInflightTotalMax:     o.JetStreamLimits.MaxBatchInflightTotal,
		BatchMessagesMax:          o.JetStreamLimits.MaxBatchSize,
		BatchTimeout:              o.JetStreamLimits.MaxBatchTimeout,

		ServerName:  s.id,
		ClusterName: o.Cluster.Name,
		StandAlone:  o.Cluster.Port == 0 && o.Gateway.Port == 0,
	}
	if o.ServerName != "" {
		config.ServerName = o.ServerName
	}
	if config.StoreDir == "" {
		config.StoreDir = jetStreamStoreDirDefault
	}
	if !o.SyncAlways && o.SyncInterval > 0 && o.SyncInterval != opts.DefaultJetStreamSyncInterval {
		config.SyncInterval = o.SyncInterval
	}
	if o.JetStreamKey != "" {
		key := sha256.Sum256([]byte(o.JetStreamKey))
		config.Key = key[:]
		config.Cipher = filestore.ChaCha
		if strings.EqualFold(o.JetStreamCipher, "aes") {
			config.Cipher = filestore.AES
		}
	}
	return config
}

// jetStreamAccounts lists the accounts that get JetStream with their limits: those
// the options enable it for, or the global account when none is; never the system
// account.
func (s *Server) jetStreamAccounts(o *opts.Options) ([]string, []jetstream.AccountLimits) {
	s.mu.Lock()
	system := ""
	if s.systemAccount != nil {
		system = s.systemAccount.Name
	}
	s.mu.Unlock()
	var names []string
	var limits []jetstream.AccountLimits
	for _, configured := range o.Accounts {
		if configured.JetStream == nil || configured.Name == system {
			continue
		}
		l := configured.JetStream
		names = append(names, configured.Name)
		limits = append(limits, jetstream.AccountLimits{MaxMemory: l.MaxMemory, MaxStore: l.MaxStore,
			MaxStreams: l.MaxStreams, MaxConsumers: l.MaxConsumers, MaxAckPending: l.MaxAckPending,
			MemoryMaxStreamBytes: l.MemoryMaxStreamBytes, StoreMaxStreamBytes: l.StoreMaxStreamBytes,
			MaxBytesRequired: l.MaxBytesRequired})
	}
	if len(names) == 0 && system != opts.DefaultGlobalAccount {
		names = append(names, opts.DefaultGlobalAccount)
		limits = append(limits, jetstream.AccountLimits{})
	}
	return names, limits
}

// startJetStream starts JetStream when the options ask for it, recovering every
// enabled account's streams, and answers the other accounts' API requests with
// "jetstream not enabled for account".
func (s *Server) startJetStream() error {
	s.mu.Lock()
	o := s.options
	s.mu.Unlock()
	if !o.JetStream {
		return nil
	}
	manager, err := jetstream.New(jetStreamConfig(s, o), newJetStreamHost(s))
	if err != nil {
		return err
	}
	names, limits := s.jetStreamAccounts(o)
	enabled := make(map[string]bool, len(names))
	for i, name := range names {
		if _, err := manager.EnableAccount(name, limits[i]); err != nil {
			manager.Stop()
			return err
		}
		enabled[name] = true
	}
	s.mu.Lock()
	s.jetStream = manager
	var others []*Account
	for _, name := range s.sortedAccountNamesLocked() {
		if !enabled[name] {
			others = append(others, s.accounts[name])
		}
	}
	s.rebuildInfoLocked()
	s.mu.Unlock()
	for _, account := range others {
		s.answerJetStreamNotEnabled(account)
	}
	s.logger.Noticef("Starting JetStream")
	s.logger.Noticef("  Store Directory: %q", jetStreamConfig(s, o).StoreDir)
	return nil
}

// syncJetStreamAccounts applies a reload's JetStream accounts while JetStream runs:
// accounts it enables get JetStream (or new limits), and accounts without it, new
// ones included, answer the API with "JetStream not enabled for account". An account
// that loses JetStream keeps it until a restart.
func (s *Server) syncJetStreamAccounts(o *opts.Options) {
	manager := s.JetStream()
	if manager == nil {
		return
	}
	names, limits := s.jetStreamAccounts(o)
	enabled := make(map[string]bool, len(names))
	for i, name := range names {
		s.mu.Lock()
		account := s.accounts[name]
		s.mu.Unlock()
		if account == nil {
			continue
		}
		if manager.Account(name) == nil {
			s.stopAnsweringJetStreamNotEnabled(account)
		}
		if _, err := manager.EnableAccount(name, limits[i]); err != nil {
			s.logger.Errorf("JetStream account %q: %v", name, err)
			continue
		}
		enabled[name] = true
	}
	s.mu.Lock()
	var all []*Account
	for _, name := range s.sortedAccountNamesLocked() {
		all = append(all, s.accounts[name])
	}
	s.mu.Unlock()
	for _, account := range all {
		if enabled[account.Name] || manager.Account(account.Name) != nil {
			continue
		}
		account.mu.Lock()
		answering := account.jetStreamNotEnabled != nil
		account.mu.Unlock()
		if !answering {
			s.answerJetStreamNotEnabled(account)
		}
	}
}

// stopJetStream stops every stream, keeping its data.
func (s *Server) stopJetStream() {
	s.mu.Lock()
	manager := s.jetStream
	s.mu.Unlock()
	if manager != nil {
		manager.Stop()
	}
}

// JetStream returns the server's JetStream, or nil when it is not enabled.
func (s *Server) JetStream() *jetstream.Manager {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.jetStream
}
