package jetstream

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/natsim/natsim/ds/subject"
	"github.com/natsim/natsim/proto/jsapi"
	"github.com/natsim/natsim/store"
)

// handleAPI answers one $JS.API request of the account.
func (a *Account) handleAPI(msg *Msg) {
	subj := msg.Subject
	if domain := a.manager.config.Domain; domain != "" {
		if plain, ok := jsapi.StripDomain(subj, domain); ok {
			subj = plain
		}
	}
	op, args, ok := jsapi.ParseSubject(subj)
	if !ok || op == jsapi.OpDirectGet || op == jsapi.OpDirectGetLastBySubject {
		// Unknown subjects go unanswered and uncounted, as in the reference; direct
		// gets have their own subscriptions (handleDirect).
		return
	}
	// The request is counted once handled: the reference's api.total in an INFO
	// response counts the requests before it, not the INFO itself. Pull requests
	// (MSG.NEXT) are answered by their consumer, not as API responses, and the
	// reference does not count them.
	request := &Request{Subject: subj, Reply: msg.Reply, Header: bytes.Clone(msg.Header),
		Data: bytes.Clone(msg.Data), account: a}
	defer func() {
		if op != jsapi.OpConsumerNext && !request.uncounted {
			a.apiTotal.Add(1)
		}
	}()
	switch op {
	case jsapi.OpAccountInfo:
		a.apiAccountInfo(request)
	case jsapi.OpStreamCreate:
		a.apiStreamCreate(request, args.Stream)
	case jsapi.OpStreamUpdate:
		a.apiStreamUpdate(request, args.Stream)
	case jsapi.OpStreamDelete:
		a.apiStreamDelete(request, args.Stream)
	case jsapi.OpStreamInfo:
		a.apiStreamInfo(request, args.Stream)
	case jsapi.OpStreamNames:
		a.apiStreamNames(request)
	case jsapi.OpStreamList:
		a.apiStreamList(request)
	case jsapi.OpStreamPurge:
		a.apiStreamPurge(request, args.Stream)
	case jsapi.OpStreamMsgGet:
		a.apiStreamMsgGet(request, args.Stream)
	case jsapi.OpStreamMsgDelete:
		a.apiStreamMsgDelete(request, args.Stream)
	case jsapi.OpStreamSnapshot:
		a.apiStreamSnapshot(request, args.Stream)
	case jsapi.OpStreamRestore:
		a.apiStreamRestore(request, args.Stream)
	case jsapi.OpConsumerCreate, jsapi.OpConsumerDurableCreate, jsapi.OpConsumerNames,
		jsapi.OpConsumerList, jsapi.OpConsumerInfo, jsapi.OpConsumerDelete, jsapi.OpConsumerPause,
		jsapi.OpConsumerUnpin, jsapi.OpConsumerNext, jsapi.OpConsumerReset,
		jsapi.OpConsumerLeaderStepDown, jsapi.OpConsumerRemovePeer, jsapi.OpConsumerEvacuatePeer:
		a.manager.consumers.HandleAPI(a, op, args, request)
	case jsapi.OpStreamLeaderStepDown, jsapi.OpStreamRemovePeer, jsapi.OpStreamEvacuatePeer,
		jsapi.OpStreamCancelMove, jsapi.OpMetaLeaderStepDown, jsapi.OpMetaRescue,
		jsapi.OpServerRemove, jsapi.OpServerEvacuate, jsapi.OpAccountStreamMove,
		jsapi.OpAccountStreamCancelMove:
		request.RespondError(op, jsapi.NewClusterRequiredError())
	default:
		request.RespondError(op, jsapi.NewBadRequestError())
	}
}

// apiAccountInfo answers $JS.API.INFO.
func (a *Account) apiAccountInfo(request *Request) {
	info := a.Info()
	request.Respond(&jsapi.AccountInfoResponse{
		Response: jsapi.Response{Type: jsapi.AccountInfoResponseType}, AccountInfo: &info})
}

// Info returns the account's JetStream usage and limits.
func (a *Account) Info() jsapi.AccountInfo {
	memory, storage := a.usage()
	limits := a.Limits()
	a.mu.Lock()
	streams := len(a.streams)
	reservedMemory, reservedStore := a.reservedLocked("")
	a.mu.Unlock()
	tier := jsapi.Tier{
		Memory: memory, Store: storage, ReservedMemory: uint64(reservedMemory), ReservedStore: uint64(reservedStore),
		Streams: streams, Consumers: a.infoConsumerCount(),
		Limits: jsapi.AccountLimits{MaxMemory: unlimited(limits.MaxMemory), MaxStore: unlimited(limits.MaxStore),
			MaxStreams: int(unlimited(int64(limits.MaxStreams))), MaxConsumers: int(unlimited(int64(limits.MaxConsumers))),
			MaxAckPending: int(unlimited(int64(limits.MaxAckPending))), MemoryMaxStreamBytes: unlimited(limits.MemoryMaxStreamBytes),
			StoreMaxStreamBytes: unlimited(limits.StoreMaxStreamBytes), MaxBytesRequired: limits.MaxBytesRequired},
	}
	return jsapi.AccountInfo{Tier: tier, Domain: a.manager.config.Domain,
		API: jsapi.APIStats{Level: jsapi.APILevel, Total: a.apiTotal.Load(), Errors: a.apiErrors.Load()}}
}

// unlimited reports a non-positive limit as the reference's -1.
func unlimited(limit int64) int64 {
	if limit <= 0 {
		return -1
	}
	return limit
}

// checkOptionsLocked is the context of a stream configuration check.
func (a *Account) checkOptionsLocked(pedantic bool, except string) jsapi.StreamCheckOptions {
	return jsapi.StreamCheckOptions{
		Pedantic: pedantic,
		LookupStream: func(name string) (jsapi.StreamConfig, bool) {
			if name == except {
				return jsapi.StreamConfig{}, false
			}
			stream := a.streams[name]
			if stream == nil {
				return jsapi.StreamConfig{}, false
			}
			return stream.Config(), true
		},
	}
}

// decodeConfigRequest reads a create or update body; the subject's name wins when
// the body has none, and a different one is an error.
func decodeConfigRequest(request *Request, name string, fillName bool) (jsapi.StreamConfigRequest, *jsapi.Error) {
	var body jsapi.StreamConfigRequest
	// Requests decode strictly, the reference's default (jetstream { strict: true }):
	// unknown fields are invalid JSON. An empty body decodes to an empty configuration.
	if err := jsapi.DecodeRequestError(request.Data, &body, request.strict()); err != nil {
		return body, err
	}
	if body.Name == "" && fillName {
		body.Name = name
	}
	if body.Name != name {
		return body, jsapi.NewStreamMismatchError()
	}
	return body, nil
}

// checkStreamBytesLimitsLocked applies the account's max_bytes_required and
// memory/store max_stream_bytes limits to a new or changed configuration, before the
// name and subject checks as the reference does. A stream without max_bytes passes
// the max_stream_bytes cap (the reference leaves it unlimited).
func (a *Account) checkStreamBytesLimitsLocked(config *jsapi.StreamConfig) *jsapi.Error {
	if a.limits.MaxBytesRequired && config.MaxBytes <= 0 {
		return jsapi.NewStreamMaxBytesRequiredError()
	}
	streamBytesMax := a.limits.StoreMaxStreamBytes
	if config.Storage == jsapi.MemoryStorage {
		streamBytesMax = a.limits.MemoryMaxStreamBytes
	}
	if streamBytesMax > 0 && config.MaxBytes > streamBytesMax {
		return jsapi.NewStreamMaxStreamBytesExceededError()
	}
	return nil
}

// checkResourcesLocked applies the account's stream count and reservation limits to
// a new or changed configuration.
func (a *Account) checkResourcesLocked(config *jsapi.StreamConfig, except string, isNew bool) *jsapi.Error {
	if isNew && a.limits.MaxStreams > 0 && len(a.streams) >= a.limits.MaxStreams {
		return jsapi.NewMaximumStreamsLimitError()
	}
	if config.MaxBytes > 0 {
		memory, storage := a.reservedLocked(except)
		if config.Storage == jsapi.MemoryStorage {
			if a.limits.MaxMemory > 0 && memory+config.MaxBytes > a.limits.MaxMemory {
				return jsapi.NewMemoryResourcesExceededError()
			}
			if limit := a.manager.config.MaxMemory; limit > 0 && config.MaxBytes > limit {
				return jsapi.NewMemoryResourcesExceededError()
			}
		} else {
			if a.limits.MaxStore > 0 && storage+config.MaxBytes > a.limits.MaxStore {
				return jsapi.NewStorageResourcesExceededError()
			}
			if limit := a.manager.config.MaxStore; limit > 0 && config.MaxBytes > limit {
				return jsapi.NewStorageResourcesExceededError()
			}
		}
	}
	return nil
}

// apiStreamCreate answers STREAM.CREATE.
func (a *Account) apiStreamCreate(request *Request, name string) {
	const op = jsapi.OpStreamCreate
	// A create names its stream in the body, as the reference requires.
	body, apiErr := decodeConfigRequest(request, name, false)
	if apiErr != nil {
		request.RespondError(op, apiErr)
		return
	}
	// The reference's create checks, in its order, before the stream's directory is
	// looked at (a name too long for the file system is refused, not tried).
	var refused *jsapi.Error
	switch {
	case strings.ContainsAny(name, `\/`):
		refused = jsapi.NewStreamNameContainsPathSeparatorsError()
	case body.Sealed:
		refused = jsapi.NewStreamInvalidConfigError(errors.New("stream configuration for create can not be sealed"))
	case body.MirrorDirect && body.Mirror == nil:
		refused = jsapi.NewStreamInvalidConfigError(errors.New("stream has no mirror but does have mirror direct"))
	default:
		refused = jsapi.CheckStreamName(name)
	}
	if refused != nil {
		request.RespondError(op, refused)
		return
	}
	jsapi.SetStaticStreamMetadata(&body.StreamConfig)
	if err := a.recoverLeftover(body.StreamConfig.Name); err != nil {
		request.RespondError(op, jsapi.NewStreamCreateError(err))
		return
	}
	stream, created, apiErr := a.AddStream(body.StreamConfig, body.Pedantic)
	if apiErr != nil {
		request.RespondError(op, apiErr)
		return
	}
	info := stream.Info(false, "")
	info.Config = jsapi.WithDynamicStreamMetadata(info.Config)
	request.Respond(&jsapi.StreamCreateResponse{Response: jsapi.Response{Type: jsapi.StreamCreateResponseType},
		StreamInfo: info, DidCreate: true}) // the reference's single server always says true
	if created {
		a.advise(jsapi.AdvisoryStreamCreated, stream.Name(), jsapi.ActionCreated)
	}
}

// AddStream creates a stream, or returns the existing one when its configuration is
// the same; created says which.
func (a *Account) AddStream(config jsapi.StreamConfig, pedantic bool) (*Stream, bool, *jsapi.Error) {
	stream, created, apiErr := a.addStream(config, pedantic)
	if created {
		a.syncDirect()
	}
	return stream, created, apiErr
}

func (a *Account) addStream(config jsapi.StreamConfig, pedantic bool) (*Stream, bool, *jsapi.Error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopped {
		return nil, false, jsapi.NewNotEnabledForAccountError()
	}
	checked, apiErr := jsapi.CheckStreamConfig(&config, a.checkOptionsLocked(pedantic, config.Name))
	if apiErr != nil {
		return nil, false, apiErr
	}
	if apiErr := a.checkStreamBytesLimitsLocked(&checked); apiErr != nil {
		return nil, false, apiErr
	}
	if checked.Replicas > 1 {
		if a.manager.config.StandAlone {
			// A server without cluster or gateway ports refuses replicas, as the
			// reference's single server mode does.
			return nil, false, jsapi.NewStreamReplicasNotSupportedError()
		}
		// A single server keeps one replica, as the reference does outside a cluster.
		checked.Replicas = 1
	}
	if existing := a.streams[checked.Name]; existing != nil {
		if sameConfig(existing.Config(), checked) {
			return existing, false, nil
		}
		return nil, false, jsapi.NewStreamNameExistError()
	}
	if a.overlapsLocked("", checked.Subjects) {
		return nil, false, jsapi.NewStreamSubjectOverlapError()
	}
	if apiErr := a.checkResourcesLocked(&checked, "", true); apiErr != nil {
		return nil, false, apiErr
	}
	if apiErr := a.checkNoLeftoverLocked(checked.Name); apiErr != nil {
		return nil, false, apiErr
	}
	now := a.manager.config.Env.Clock.Now().UTC()
	stream, err := openStream(a, checked, now, true)
	if err != nil {
		return nil, false, jsapi.NewStreamCreateError(err)
	}
	a.streams[checked.Name] = stream
	stream.start()
	return stream, true, nil
}

// checkNoLeftoverLocked refuses to create a stream over a directory that already holds
// files: those belong to a stream that failed to recover (a transient disk error, a
// damaged configuration; the API's create retried that recovery first, see
// recoverLeftover), and creating over it would destroy acknowledged messages.
func (a *Account) checkNoLeftoverLocked(name string) *jsapi.Error {
	names, err := a.manager.config.Env.FS.ReadDir(a.streamDir(name))
	if err != nil {
		if isNotExist(err) {
			return nil
		}
		return jsapi.NewStreamCreateError(err)
	}
	if len(names) == 0 {
		return nil
	}
	return jsapi.NewStreamCreateError(fmt.Errorf("stream %q has data on disk that was not recovered; "+
		"refusing to create over it (restart the server to retry recovery)", name))
}

// sameConfig compares two configurations as JSON.
func sameConfig(a, b jsapi.StreamConfig) bool {
	return bytes.Equal(jsapi.MarshalResponse(a), jsapi.MarshalResponse(b))
}

// apiStreamUpdate answers STREAM.UPDATE.
func (a *Account) apiStreamUpdate(request *Request, name string) {
	const op = jsapi.OpStreamUpdate
	body, apiErr := decodeConfigRequest(request, name, true)
	if apiErr != nil {
		request.RespondError(op, apiErr)
		return
	}
	jsapi.SetStaticStreamMetadata(&body.StreamConfig)
	stream, apiErr := a.UpdateStream(body.StreamConfig, body.Pedantic)
	if apiErr != nil {
		request.RespondError(op, apiErr)
		return
	}
	info := stream.Info(false, "")
	info.Config = jsapi.WithDynamicStreamMetadata(info.Config)
	request.Respond(&jsapi.StreamUpdateResponse{Response: jsapi.Response{Type: jsapi.StreamUpdateResponseType},
		StreamInfo: info})
	a.advise(jsapi.AdvisoryStreamUpdated, stream.Name(), jsapi.ActionModified)
}

// UpdateStream applies a new configuration to an existing stream.
func (a *Account) UpdateStream(config jsapi.StreamConfig, pedantic bool) (*Stream, *jsapi.Error) {
	stream, apiErr := a.updateStream(config, pedantic)
	if apiErr == nil {
		a.syncDirect()
	}
	return stream, apiErr
}

func (a *Account) updateStream(config jsapi.StreamConfig, pedantic bool) (*Stream, *jsapi.Error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	stream := a.streams[config.Name]
	if stream == nil {
		return nil, jsapi.NewStreamNotFoundError()
	}
	old := stream.Config()
	options := jsapi.StreamUpdateOptions{StreamCheckOptions: a.checkOptionsLocked(pedantic, config.Name), SingleServer: true}
	checked, apiErr := jsapi.CheckStreamUpdate(&old, &config, options)
	if apiErr != nil {
		return nil, apiErr
	}
	if apiErr := a.checkStreamBytesLimitsLocked(&checked); apiErr != nil {
		return nil, apiErr
	}
	if a.overlapsLocked(config.Name, checked.Subjects) {
		return nil, jsapi.NewStreamSubjectOverlapError()
	}
	if apiErr := a.checkResourcesLocked(&checked, config.Name, false); apiErr != nil {
		return nil, apiErr
	}
	if err := stream.update(checked); err != nil {
		return nil, jsapi.NewStreamUpdateError(err)
	}
	stream.updateReplication()
	return stream, nil
}

// apiStreamDelete answers STREAM.DELETE.
func (a *Account) apiStreamDelete(request *Request, name string) {
	const op = jsapi.OpStreamDelete
	if len(request.Data) > 0 {
		request.RespondError(op, jsapi.NewNotEmptyRequestError())
		return
	}
	if apiErr := a.DeleteStream(name); apiErr != nil {
		request.RespondError(op, apiErr)
		return
	}
	request.Respond(&jsapi.StreamDeleteResponse{Response: jsapi.Response{Type: jsapi.StreamDeleteResponseType}, Success: true})
	a.advise(jsapi.AdvisoryStreamDeleted, name, jsapi.ActionDeleted)
}

// DeleteStream removes a stream with its consumers and data.
func (a *Account) DeleteStream(name string) *jsapi.Error {
	a.mu.Lock()
	stream := a.streams[name]
	if stream == nil {
		a.mu.Unlock()
		return jsapi.NewStreamNotFoundError()
	}
	delete(a.streams, name)
	a.mu.Unlock()
	a.syncDirect()
	if err := stream.delete(); err != nil {
		return jsapi.NewStreamDeleteError(err)
	}
	return nil
}

// lookup returns the named stream or answers "stream not found".
func (a *Account) lookup(request *Request, op jsapi.Op, name string) *Stream {
	stream := a.Stream(name)
	if stream == nil {
		request.RespondError(op, jsapi.NewStreamNotFoundError())
	}
	return stream
}

// apiStreamInfo answers STREAM.INFO.
func (a *Account) apiStreamInfo(request *Request, name string) {
	const op = jsapi.OpStreamInfo
	var body jsapi.StreamInfoRequest
	if !request.decode(op, &body) {
		return
	}
	stream := a.lookup(request, op, name)
	if stream == nil {
		return
	}
	info := stream.Info(body.DeletedDetails, body.SubjectsFilter)
	// Only STREAM.INFO reports the server's version and level and the (single
	// server) cluster, as the reference's info does; lists do not.
	info.Config = jsapi.WithDynamicStreamMetadata(info.Config)
	info.Cluster = &jsapi.ClusterInfo{Name: a.manager.config.ClusterName, Leader: a.manager.config.ServerName}
	response := &jsapi.StreamInfoResponse{Response: jsapi.Response{Type: jsapi.StreamInfoResponseType}, StreamInfo: info}
	if subjects := info.State.Subjects; len(subjects) > 0 {
		info.State.Subjects, response.Paged = pageSubjects(subjects, body.Offset)
	}
	request.Respond(response)
}

// subjectsPageMax is the number of subjects one STREAM.INFO response lists.
const subjectsPageMax = 100_000

// pageSubjects keeps one page of a subjects map, in sorted order.
func pageSubjects(subjects map[string]uint64, offset int) (map[string]uint64, jsapi.Paged) {
	paged := jsapi.Paged{Total: len(subjects), Offset: offset, Limit: subjectsPageMax}
	if len(subjects) <= subjectsPageMax && offset <= 0 {
		return subjects, paged
	}
	names := make([]string, 0, len(subjects))
	for name := range subjects {
		names = append(names, name)
	}
	sort.Strings(names)
	page := make(map[string]uint64)
	for i := max(offset, 0); i < len(names) && len(page) < subjectsPageMax; i++ {
		page[names[i]] = subjects[names[i]]
	}
	return page, paged
}

// namesPageMax and listPageMax are the reference's page sizes.
const (
	namesPageMax = jsapi.NamesLimit
	listPageMax  = 256
)

// streamsFor returns the streams listening on filter (all without one), sorted.
func (a *Account) streamsFor(filter string) []*Stream {
	var streams []*Stream
	for _, stream := range a.Streams() {
		if filter != "" && !listensOn(stream.Config().Subjects, filter) {
			continue
		}
		streams = append(streams, stream)
	}
	return streams
}

func listensOn(subjects []string, filter string) bool {
	for _, subj := range subjects {
		if subject.Collide(subj, filter) {
			return true
		}
	}
	return false
}

// apiStreamNames answers STREAM.NAMES.
func (a *Account) apiStreamNames(request *Request) {
	const op = jsapi.OpStreamNames
	var body jsapi.StreamNamesRequest
	if !request.decode(op, &body) {
		return
	}
	streams := a.streamsFor(body.Subject)
	var names []string // null when none match, as the reference answers
	for i := max(body.Offset, 0); i < len(streams) && len(names) < namesPageMax; i++ {
		names = append(names, streams[i].Name())
	}
	request.Respond(&jsapi.StreamNamesResponse{Response: jsapi.Response{Type: jsapi.StreamNamesResponseType},
		Paged: jsapi.Paged{Total: len(streams), Offset: body.Offset, Limit: namesPageMax}, Streams: names})
}

// apiStreamList answers STREAM.LIST.
func (a *Account) apiStreamList(request *Request) {
	const op = jsapi.OpStreamList
	var body jsapi.StreamListRequest
	if !request.decode(op, &body) {
		return
	}
	streams := a.streamsFor(body.Subject)
	infos := make([]*jsapi.StreamInfo, 0)
	for i := max(body.Offset, 0); i < len(streams) && len(infos) < listPageMax; i++ {
		infos = append(infos, streams[i].Info(false, ""))
	}
	request.Respond(&jsapi.StreamListResponse{Response: jsapi.Response{Type: jsapi.StreamListResponseType},
		Paged: jsapi.Paged{Total: len(streams), Offset: body.Offset, Limit: listPageMax}, Streams: infos})
}

// apiStreamPurge answers STREAM.PURGE.
func (a *Account) apiStreamPurge(request *Request, name string) {
	const op = jsapi.OpStreamPurge
	var body jsapi.StreamPurgeRequest
	if !request.decode(op, &body) {
		return
	}
	stream := a.lookup(request, op, name)
	if stream == nil {
		return
	}
	if body.Sequence > 0 && body.Keep > 0 {
		request.RespondError(op, jsapi.NewBadRequestError())
		return
	}
	purged, apiErr := stream.Purge(body.Subject, body.Sequence, body.Keep)
	if apiErr != nil {
		request.RespondError(op, apiErr)
		return
	}
	request.Respond(&jsapi.StreamPurgeResponse{Response: jsapi.Response{Type: jsapi.StreamPurgeResponseType},
		Success: true, Purged: purged})
}

// apiStreamMsgGet answers STREAM.MSG.GET.
func (a *Account) apiStreamMsgGet(request *Request, name string) {
	const op = jsapi.OpStreamMsgGet
	var body jsapi.MsgGetRequest
	if !request.decode(op, &body) {
		return
	}
	stream := a.lookup(request, op, name)
	if stream == nil {
		return
	}
	// The reference's combinations: a sequence, a start time, a last or a next
	// subject (next may start at a sequence or time); batches are for direct gets.
	seq, start, last, next := body.Seq > 0, body.StartTime != nil, body.LastFor != "", body.NextFor != ""
	if body.Batch > 0 || body.MaxBytes > 0 || seq && last || !seq && !last && !next && !start ||
		seq && start || start && last || last && next {
		request.RespondError(op, jsapi.NewBadRequestError())
		return
	}
	message, err := stream.getMsg(&body)
	if err != nil {
		request.RespondError(op, msgGetError(err))
		return
	}
	stored := &jsapi.StoredMsg{Subject: message.Subject, Sequence: message.Seq, Header: message.Hdr,
		Data: message.Msg, Time: time.Unix(0, message.TS).UTC()}
	if body.NoHeaders {
		stored.Header = nil
	}
	request.uncounted = true // the reference sends found messages outside its API responses
	request.Respond(&jsapi.MsgGetResponse{Response: jsapi.Response{Type: jsapi.MsgGetResponseType}, Message: stored})
}

// msgGetError maps a load failure to the API error.
func msgGetError(err error) *jsapi.Error {
	if errors.Is(err, store.ErrStoreMsgNotFound) || errors.Is(err, store.ErrStoreEOF) {
		return jsapi.NewNoMessageFoundError()
	}
	return jsapi.NewStreamGeneralErrorError(err)
}

// getMsg loads the message a MSG.GET or single direct get names.
func (s *Stream) getMsg(body *jsapi.MsgGetRequest) (*store.StoreMsg, error) {
	// As the reference: a start time becomes the first sequence at or after it
	// (past the last when none is), which a next subject then starts from.
	seq := body.Seq
	if body.StartTime != nil {
		var state store.StreamState
		s.store.FastState(&state)
		seq = sequenceFromTime(s.store, &state, body.StartTime.UnixNano())
	}
	switch {
	case body.LastFor != "" && seq == 0:
		return s.store.LoadLastMsg(body.LastFor, nil)
	case body.NextFor != "":
		message, _, err := s.store.LoadNextMsg(body.NextFor, subject.HasWildcard(body.NextFor), max(seq, 1), nil)
		return message, err
	default:
		return s.store.LoadMsg(seq, nil)
	}
}

// loadFromTime loads the first message stored at or after start.
func (s *Stream) loadFromTime(start time.Time) (*store.StoreMsg, error) {
	var state store.StreamState
	s.store.FastState(&state)
	target := start.UnixNano()
	low, high := state.FirstSeq, state.LastSeq
	for low < high {
		middle := low + (high-low)/2
		message, _, err := s.store.LoadNextMsg("", false, middle, nil)
		if err != nil || message.TS >= target {
			high = middle
		} else {
			low = message.Seq + 1
		}
	}
	message, _, err := s.store.LoadNextMsg("", false, low, nil)
	if err == nil && message.TS < target {
		return nil, store.ErrStoreEOF
	}
	return message, err
}

// apiStreamMsgDelete answers STREAM.MSG.DELETE.
func (a *Account) apiStreamMsgDelete(request *Request, name string) {
	const op = jsapi.OpStreamMsgDelete
	var body jsapi.MsgDeleteRequest
	if jsapi.IsEmptyRequest(request.Data) {
		request.RespondError(op, jsapi.NewBadRequestError())
		return
	}
	if !request.decode(op, &body) {
		return
	}
	stream := a.lookup(request, op, name)
	if stream == nil {
		return
	}
	if apiErr, storeFailed := stream.deleteMsg(body.Seq, !body.NoErase); apiErr != nil {
		if storeFailed {
			// The reference answers a delete its store failed as a plain response:
			// counted in api.total, not in api.errors.
			request.RespondErrorUncounted(op, apiErr)
			return
		}
		request.RespondError(op, apiErr)
		return
	}
	request.Respond(&jsapi.MsgDeleteResponse{Response: jsapi.Response{Type: jsapi.MsgDeleteResponseType}, Success: true})
}

// advise publishes a stream action advisory.
func (a *Account) advise(prefix, stream string, action jsapi.AdvisoryAction) {
	m := a.manager
	advisory := jsapi.StreamActionAdvisory{
		TypedEvent: jsapi.TypedEvent{Type: jsapi.StreamActionAdvisoryType, ID: m.newID(),
			Time: m.config.Env.Clock.Now().UTC()},
		Stream: stream, Action: action, Domain: m.config.Domain,
	}
	m.host.Publish(a.name, jsapi.AdvisorySubject(prefix, stream), "", nil, jsapi.MarshalResponse(advisory))
}

// newID returns a random identifier for advisories.
func (m *Manager) newID() string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var id strings.Builder
	random := m.config.Env.Rand
	for range 22 {
		if random == nil {
			id.WriteByte('0')
			continue
		}
		id.WriteByte(alphabet[random.Intn(len(alphabet))])
	}
	return id.String()
}

// describe formats a stream for log lines.
func (s *Stream) describe() string { return fmt.Sprintf("'%s > %s'", s.account.name, s.config.Name) }
