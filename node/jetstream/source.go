package jetstream

import (
	"bytes"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/natsim/natsim/proto/header"
	"github.com/natsim/natsim/proto/jsapi"
	"github.com/natsim/natsim/store"
)

// A stream with `sources` appends the messages of each origin stream under its own
// new sequences. Every sourced message carries a Nats-Stream-Source header,
// "<origin> <origin sequence> <filters> <destinations>" (the reference's format, the
// source's index name around the sequence), from which a restarted stream finds,
// per source, the last origin sequence it stored and resumes right after it.

// sourceScanMax bounds the messages read back at start to find where each source
// resumes; past it, a source not found starts from its configured position.
const sourceScanMax = 1 << 20

// replication is a stream's mirror or sources: the links that follow the origins.
// Streams have one as a field; its zero value is ready.
type replication struct {
	mu      sync.Mutex
	mirror  *sourceLink
	sources map[string]*sourceLink
	stopped bool
}

// startReplication starts the stream's mirror or sources, if it has any. The stream's
// lock must not be held.
func (s *Stream) startReplication() {
	config := s.Config()
	r := &s.replication
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	if config.Mirror != nil && r.mirror == nil {
		r.mirror = s.startMirror(*config.Mirror)
	}
	s.startSourcesLocked(config.Sources)
}

// startSourcesLocked starts the links of sources not running yet, each after the
// last origin sequence the stream holds from it.
func (s *Stream) startSourcesLocked(sources []*jsapi.StreamSource) {
	r := &s.replication
	wanted := make(map[string]bool)
	for _, source := range sources {
		if source == nil {
			continue
		}
		if _, running := r.sources[source.IndexName()]; !running {
			wanted[source.IndexName()] = true
		}
	}
	if len(wanted) == 0 {
		return
	}
	resume := s.lastSourcedSequences(wanted)
	if r.sources == nil {
		r.sources = make(map[string]*sourceLink)
	}
	for _, source := range sources {
		if source == nil || !wanted[source.IndexName()] {
			continue
		}
		link := newSourceLink(s, *source, false, s.storeSourced)
		r.sources[link.indexName] = link
		link.start(resume[link.indexName])
	}
}

// updateReplication follows a configuration change: sources removed stop (their
// consumers are deleted), sources added start, and a mirror removed (the stream
// promoted) stops.
func (s *Stream) updateReplication() {
	config := s.Config()
	r := &s.replication
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	if config.Mirror == nil && r.mirror != nil {
		r.mirror.stop(true)
		r.mirror = nil
	}
	keep := make(map[string]bool)
	for _, source := range config.Sources {
		if source != nil {
			keep[source.IndexName()] = true
		}
	}
	for _, name := range sortedLinkNames(r.sources) {
		if !keep[name] {
			r.sources[name].stop(true)
			delete(r.sources, name)
		}
	}
	if config.Mirror != nil && r.mirror == nil {
		r.mirror = s.startMirror(*config.Mirror)
	}
	s.startSourcesLocked(config.Sources)
}

// stopReplication stops every link; remove asks the origins to delete their
// consumers (the stream is deleted) rather than letting them time out.
func (s *Stream) stopReplication(remove bool) {
	r := &s.replication
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	if r.mirror != nil {
		r.mirror.stop(remove)
		r.mirror = nil
	}
	for _, name := range sortedLinkNames(r.sources) {
		r.sources[name].stop(remove)
	}
	r.sources = nil
}

func sortedLinkNames(links map[string]*sourceLink) []string {
	names := make([]string, 0, len(links))
	for name := range links {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// replicationInfo adds the mirror's and the sources' progress to info, one entry per
// configured source in configuration order (clients expect one for each).
func (s *Stream) replicationInfo(info *jsapi.StreamInfo) {
	r := &s.replication
	r.mu.Lock()
	mirror := r.mirror
	links := make(map[string]*sourceLink, len(r.sources))
	for name, link := range r.sources {
		links[name] = link
	}
	r.mu.Unlock()
	if config := info.Config.Mirror; config != nil {
		if mirror != nil {
			info.Mirror = mirror.info()
		} else {
			info.Mirror = sourceInfoFromConfig(config)
		}
	}
	for _, source := range info.Config.Sources {
		if source == nil {
			continue
		}
		if link := links[source.IndexName()]; link != nil {
			info.Sources = append(info.Sources, link.info())
		} else {
			info.Sources = append(info.Sources, sourceInfoFromConfig(source))
		}
	}
}

// storeSourced appends one origin message with a Nats-Stream-Source header. It runs
// with the link's lock held, which keeps the messages of one origin in order. The
// origin's expectation headers are dropped (they were checked where the message was
// published); its Nats-Msg-Id deduplicates here too.
func (s *Stream) storeSourced(link *sourceLink, delivered *Msg, reply jsapi.AckReply) *jsapi.Error {
	hdr, err := sourcedHeader(delivered.Header, link.indexName, reply.StreamSeq, delivered.Subject)
	if err != nil {
		return jsapi.NewStreamStoreFailedError(err)
	}
	entry := publishEntry{subject: link.transformSubject(delivered.Subject), header: hdr,
		data: bytes.Clone(delivered.Data), timestamp: s.manager.config.Env.Clock.Now().UnixNano()}
	if apiErr := s.checkAccountLimits(len(entry.header) + len(entry.data) + len(entry.subject)); apiErr != nil {
		return apiErr
	}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return jsapi.NewStreamNotFoundError()
	}
	if s.config.Sealed {
		s.mu.Unlock()
		return jsapi.NewStreamSealedError()
	}
	if id, ok := header.Get(hdr, jsapi.HeaderMsgID); ok && len(id) > 0 {
		entry.msgID = string(id)
		if _, duplicate := s.dedupLookupLocked(entry.msgID, entry.timestamp); duplicate {
			s.mu.Unlock()
			return nil
		}
	}
	if value, ok := header.Get(hdr, jsapi.HeaderTTL); ok && s.config.AllowMsgTTL {
		if ttl, err := parseMessageTTL(string(value)); err == nil {
			entry.ttl = ttl
		}
	}
	done := s.applyLocked(&entry)
	if done.failure != nil {
		s.mu.Unlock()
		return done.failure
	}
	s.waitDurableLocked(done)
	s.armExpiryLocked()
	s.mu.Unlock()
	s.drain()
	return nil
}

// sourcedHeader is the origin's header without its expectation headers, with
// Nats-Stream-Source set.
func sourcedHeader(origin []byte, indexName string, originSeq uint64, originSubject string) ([]byte, error) {
	hdr := header.Build(0, "")
	if len(origin) > 0 {
		parsed, err := header.Parse(origin)
		if err != nil {
			return nil, err
		}
		block := header.AppendStatus(nil, 0, "")
		for _, field := range parsed.Fields {
			if strings.HasPrefix(string(field.Key), "Nats-Expected-") || strings.HasPrefix(string(field.Key), batchHeaderPrefix) {
				continue
			}
			block = header.AppendField(block, string(field.Key), string(field.Value))
		}
		hdr = header.AppendEnd(block)
	}
	return header.Set(hdr, jsapi.HeaderStreamSource, sourceHeaderValue(indexName, originSeq, originSubject))
}

// sourceHeaderValue formats Nats-Stream-Source: the index name's origin part, the
// origin sequence, the index name's filters and destinations, then the subject the
// message had on the origin (before any transform), as nats-server 2.15 writes it
// (it adds the origin stream's identity after that, which this server has not).
func sourceHeaderValue(indexName string, originSeq uint64, originSubject string) string {
	name, rest, _ := strings.Cut(indexName, " ")
	value := name + " " + strconv.FormatUint(originSeq, 10) + " " + rest
	if originSubject != "" {
		value += " " + originSubject
	}
	return value
}

// parseSourceHeader reads Nats-Stream-Source back: the index name it belongs to and
// the origin sequence; the origin subject and identity that may follow are not
// needed. The older two-field form "<origin> <sequence>" gives an index name without
// filters, which matches a source by its origin part only.
func parseSourceHeader(value string) (indexName string, originSeq uint64, ok bool) {
	fields := strings.Split(value, " ")
	if len(fields) < 2 {
		return "", 0, false
	}
	seq, err := strconv.ParseUint(fields[1], 10, 64)
	if err != nil {
		return "", 0, false
	}
	if len(fields) < 4 {
		return fields[0], seq, true
	}
	return fields[0] + " " + fields[2] + " " + fields[3], seq, true
}

// lastSourcedSequences reads the stream backwards for the Nats-Stream-Source headers
// of the wanted sources (by index name) and returns the last origin sequence stored
// from each; it stops once every wanted source is found or after sourceScanMax.
func (s *Stream) lastSourcedSequences(wanted map[string]bool) map[string]uint64 {
	found := make(map[string]uint64)
	// The older header form names only the origin: it resumes the first wanted
	// source (in sorted order, so the choice never depends on map order) from it.
	byOrigin := make(map[string]string)
	names := make([]string, 0, len(wanted))
	for name := range wanted {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		origin, _, _ := strings.Cut(name, " ")
		if _, taken := byOrigin[origin]; !taken {
			byOrigin[origin] = name
		}
	}
	var state store.StreamState
	s.store.FastState(&state)
	seq := state.LastSeq
	for scanned := 0; seq >= state.FirstSeq && seq > 0 && scanned < sourceScanMax && len(found) < len(wanted); scanned++ {
		message, err := s.store.LoadPrevMsg(seq, nil)
		if err != nil {
			break
		}
		if value, ok := header.Get(message.Hdr, jsapi.HeaderStreamSource); ok {
			if name, originSeq, ok := parseSourceHeader(string(value)); ok {
				if !strings.Contains(name, " ") {
					name = byOrigin[name]
				}
				if _, seen := found[name]; !seen && wanted[name] {
					found[name] = originSeq
				}
			}
		}
		if message.Seq == 0 {
			break
		}
		seq = message.Seq - 1
	}
	return found
}
