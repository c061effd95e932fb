package jetstream

import (
	"errors"
	"reflect"
	"strings"
	"sync"

	"github.com/natsim/natsim/proto/header"
	"github.com/natsim/natsim/proto/jsapi"
)

func init() {
	registerConsumerEngine(func(m *Manager) consumerEngine { return &consumerAPI{manager: m} })
}

// consumerAPI is the consumer engine: it answers the $JS.API.CONSUMER.* requests and
// reopens recovered consumers. It keeps no state of its own beyond a lock that
// serializes creations (so two creates of one name cannot both succeed); consumers
// live on their streams.
type consumerAPI struct {
	manager  *Manager
	createMu sync.Mutex
}

// HandleAPI implements consumerEngine.
func (e *consumerAPI) HandleAPI(account *Account, op jsapi.Op, args jsapi.Args, request *Request) {
	switch op {
	case jsapi.OpConsumerCreate, jsapi.OpConsumerDurableCreate:
		e.create(account, op, args, request)
	case jsapi.OpConsumerInfo:
		e.info(account, args, request)
	case jsapi.OpConsumerNames:
		e.names(account, args, request)
	case jsapi.OpConsumerList:
		e.list(account, args, request)
	case jsapi.OpConsumerDelete:
		e.delete(account, args, request)
	case jsapi.OpConsumerPause:
		e.pause(account, args, request)
	case jsapi.OpConsumerUnpin:
		e.unpin(account, args, request)
	case jsapi.OpConsumerReset:
		e.reset(account, args, request)
	case jsapi.OpConsumerNext:
		e.next(account, args, request)
	default:
		request.RespondError(op, jsapi.NewClusterRequiredError())
	}
}

// lookupConsumer finds the stream and consumer of a request, answering the
// reference's error when either is missing.
func lookupConsumer(account *Account, op jsapi.Op, args jsapi.Args, request *Request) (*Stream, *Consumer) {
	stream := account.Stream(args.Stream)
	if stream == nil {
		request.RespondError(op, jsapi.NewStreamNotFoundError())
		return nil, nil
	}
	consumer, _ := stream.Consumer(args.Consumer).(*Consumer)
	if consumer == nil {
		request.RespondError(op, jsapi.NewConsumerNotFoundError())
		return stream, nil
	}
	return stream, consumer
}

// create answers CONSUMER.CREATE (all forms) and CONSUMER.DURABLE.CREATE with the
// reference's checks in the reference's order.
func (e *consumerAPI) create(account *Account, op jsapi.Op, args jsapi.Args, request *Request) {
	var body jsapi.CreateConsumerRequest
	if !request.decode(op, &body) {
		return
	}
	consumerName := args.Consumer
	legacyDurable := op == jsapi.OpConsumerDurableCreate
	legacyEphemeral := op == jsapi.OpConsumerCreate && args.Consumer == ""
	if legacyEphemeral {
		consumerName = body.Config.Name
	}
	if args.Stream != body.Stream {
		request.RespondError(op, jsapi.NewStreamMismatchError())
		return
	}
	if consumerName != "" && strings.ContainsAny(consumerName, `\/`) {
		request.RespondError(op, jsapi.NewConsumerNameContainsPathSeparatorsError())
		return
	}
	switch {
	case legacyDurable:
		if body.Config.Durable == "" {
			request.RespondError(op, jsapi.NewConsumerDurableNameNotSetError())
			return
		}
		if consumerName != body.Config.Durable {
			request.RespondError(op, jsapi.NewConsumerDurableNameNotMatchSubjectError())
			return
		}
		body.Config.Name = consumerName
	case !legacyEphemeral:
		if body.Config.Durable != "" && consumerName != body.Config.Durable {
			request.RespondError(op, jsapi.NewConsumerDurableNameNotMatchSubjectError())
			return
		}
		body.Config.Name = consumerName
	case body.Config.Durable != "":
		request.RespondError(op, jsapi.NewConsumerEphemeralWithDurableNameError())
		return
	}
	if args.Filter != "" && len(body.Config.FilterSubjects) != 0 {
		request.RespondError(op, jsapi.NewConsumerMultipleFiltersNotAllowedError())
		return
	}
	if args.Filter != "" && body.Config.FilterSubject != args.Filter {
		request.RespondError(op, jsapi.NewConsumerCreateFilterSubjectMismatchError())
		return
	}
	if body.Config.Replicas > 1 {
		request.RespondError(op, jsapi.NewStreamReplicasNotSupportedError())
		return
	}
	stream := account.Stream(body.Stream)
	if stream == nil {
		request.RespondError(op, jsapi.NewStreamNotFoundError())
		return
	}
	if existing := prepareSourcingConsumer(stream, &body.Config, stream.Env().Rand); existing != nil {
		request.Respond(&jsapi.ConsumerCreateResponse{
			Response:     jsapi.Response{Type: jsapi.ConsumerCreateResponseType},
			ConsumerInfo: existing.Info(),
		})
		return
	}
	jsapi.SetStaticConsumerMetadata(&body.Config)
	consumer, apiErr := e.addConsumer(stream, &body.Config, body.Action, body.Pedantic)
	if apiErr != nil {
		request.RespondError(op, apiErr)
		return
	}
	request.Respond(&jsapi.ConsumerCreateResponse{
		Response:     jsapi.Response{Type: jsapi.ConsumerCreateResponseType},
		ConsumerInfo: withServerMetadata(consumer.Info()),
	})
	consumer.signalSoon()
}

// addConsumer creates a consumer on stream, or updates the existing one of that name
// as action allows. It is the programmatic form of CONSUMER.CREATE.
func (e *consumerAPI) addConsumer(stream *Stream, requested *jsapi.ConsumerConfig, action jsapi.ConsumerAction, pedantic bool) (*Consumer, *jsapi.Error) {
	e.createMu.Lock()
	defer e.createMu.Unlock()
	streamConfig := stream.Config()
	options := e.checkOptions(pedantic)
	options.AccountMaxAckPending = stream.Account().Limits().MaxAckPending
	config, apiErr := jsapi.PrepareConsumerConfig(requested, &streamConfig, options)
	if apiErr != nil {
		return nil, apiErr
	}
	name := config.Durable
	if name == "" {
		name = config.Name
	}
	if name != "" {
		if existing, _ := stream.Consumer(name).(*Consumer); existing != nil {
			return e.updateExisting(stream, existing, &config, action)
		}
	}
	if action == jsapi.ActionUpdate {
		return nil, jsapi.NewConsumerDoesNotExistError()
	}
	if apiErr := jsapi.CheckWorkQueueConsumer(&streamConfig, &config, otherWorkQueueConfigs(stream, name)); apiErr != nil {
		return nil, apiErr
	}
	if name == "" {
		// A name the server makes up stays out of the configuration, as the
		// reference's legacy ephemeral consumers report none.
		name = jsapi.Hash(newIdentifier(stream.Env().Rand))
	} else if config.Name == "" {
		config.Name = name
	}
	stampInactiveThreshold(&config)
	world, consumerStore, err := e.consumerWorld(stream, name, &config)
	if err != nil {
		return nil, jsapi.NewConsumerStoreFailedError(err)
	}
	created := stream.Env().Clock.Now().UTC()
	consumer, err := newConsumer(world, name, config, consumerStore, created)
	if err != nil {
		_ = consumerStore.Delete()
		return nil, jsapi.NewConsumerCreateError(err)
	}
	if apiErr := stream.AddConsumer(consumer); apiErr != nil {
		consumer.Delete()
		return nil, apiErr
	}
	if err := e.writeConsumerMeta(stream, name, &config, created); err != nil {
		stream.RemoveConsumer(name)
		consumer.Delete()
		return nil, jsapi.NewConsumerStoreFailedError(err)
	}
	consumer.sendCreatedAdvisory()
	return consumer, nil
}

// stampInactiveThreshold writes the ephemeral default into a configuration that has
// no threshold, as the reference records it (and reports it in infos): a consumer
// without a durable name is always deleted after some inactivity.
func stampInactiveThreshold(config *jsapi.ConsumerConfig) {
	if !config.IsDurable() && config.InactiveThreshold <= 0 {
		config.InactiveThreshold = jsapi.DefaultInactiveThreshold
	}
}

// checkOptions are the server limits the consumer checks apply.
func (e *consumerAPI) checkOptions(pedantic bool) jsapi.ConsumerCheckOptions {
	config := e.manager.Config()
	return jsapi.ConsumerCheckOptions{
		Pedantic:              pedantic,
		ServerMaxAckPending:   config.ServerMaxAckPending,
		ServerMaxRequestBatch: config.ServerMaxRequestBatch,
	}
}

// updateExisting handles a create for a name that exists: an identical create is a
// no-op, a different one fails under action create, and otherwise the update checks
// decide.
func (e *consumerAPI) updateExisting(stream *Stream, existing *Consumer, config *jsapi.ConsumerConfig, action jsapi.ConsumerAction) (*Consumer, *jsapi.Error) {
	old := existing.Config()
	if action == jsapi.ActionCreate {
		candidate := cloneConsumerConfig(*config)
		candidate.Metadata = old.Metadata
		if !reflect.DeepEqual(&candidate, &old) {
			return nil, jsapi.NewConsumerAlreadyExistsError()
		}
	}
	streamConfig := stream.Config()
	if streamConfig.Retention == jsapi.WorkQueuePolicy {
		if apiErr := jsapi.CheckWorkQueueConsumer(&streamConfig, config, otherWorkQueueConfigs(stream, existing.Name())); apiErr != nil {
			return nil, apiErr
		}
	}
	host := stream.Host()
	accountName := stream.Account().Name()
	interest := func(subject string) bool { return host.HasInterest(accountName, subject) }
	if apiErr := jsapi.CheckConsumerUpdate(&old, config, interest); apiErr != nil {
		return nil, apiErr
	}
	stampInactiveThreshold(config)
	if reflect.DeepEqual(&old, config) {
		return existing, nil
	}
	existing.UpdateConfig(*config)
	if err := e.writeConsumerMeta(stream, existing.Name(), config, existing.created); err != nil {
		return nil, jsapi.NewConsumerStoreFailedError(err)
	}
	return existing, nil
}

// otherWorkQueueConfigs returns the configurations of stream's consumers other than
// name that count for the work queue rules.
func otherWorkQueueConfigs(stream *Stream, name string) []*jsapi.ConsumerConfig {
	var others []*jsapi.ConsumerConfig
	for _, streamConsumer := range stream.Consumers() {
		consumer, ok := streamConsumer.(*Consumer)
		if !ok || consumer.Name() == name {
			continue
		}
		config := consumer.Config()
		if config.Direct || config.Sourcing {
			continue
		}
		others = append(others, &config)
	}
	return others
}

// withServerMetadata adds the server's version and API level to an answer's
// configuration, as the reference's create, info and reset answers do (its lists
// report the stored configuration only).
func withServerMetadata(info *jsapi.ConsumerInfo) *jsapi.ConsumerInfo {
	if info != nil && info.Config != nil {
		config := jsapi.WithDynamicConsumerMetadata(*info.Config)
		info.Config = &config
	}
	return info
}

// info answers CONSUMER.INFO.
func (e *consumerAPI) info(account *Account, args jsapi.Args, request *Request) {
	_, consumer := lookupConsumer(account, jsapi.OpConsumerInfo, args, request)
	if consumer == nil {
		return
	}
	request.Respond(&jsapi.ConsumerInfoResponse{
		Response:     jsapi.Response{Type: jsapi.ConsumerInfoResponseType},
		ConsumerInfo: withServerMetadata(consumer.Info()),
	})
}

// pagedConsumers decodes the paging request and returns the stream's consumers from
// its offset, at most limit of them, with the total.
func pagedConsumers(account *Account, op jsapi.Op, args jsapi.Args, request *Request, limit int) ([]*Consumer, jsapi.Paged, bool) {
	var body jsapi.ConsumersRequest
	if !request.decode(op, &body) {
		return nil, jsapi.Paged{}, false
	}
	stream := account.Stream(args.Stream)
	if stream == nil {
		request.RespondError(op, jsapi.NewStreamNotFoundError())
		return nil, jsapi.Paged{}, false
	}
	var all []*Consumer
	for _, streamConsumer := range stream.Consumers() {
		// Direct consumers (mirrors' and sources') are not listed, as in the
		// reference; CONSUMER.INFO and DELETE still find them by name.
		if consumer, ok := streamConsumer.(*Consumer); ok && !consumer.direct {
			all = append(all, consumer)
		}
	}
	offset := max(body.Offset, 0)
	paged := jsapi.Paged{Total: len(all), Offset: offset, Limit: limit}
	if offset >= len(all) {
		return nil, paged, true
	}
	all = all[offset:]
	if len(all) > limit {
		all = all[:limit]
	}
	return all, paged, true
}

// names answers CONSUMER.NAMES.
func (e *consumerAPI) names(account *Account, args jsapi.Args, request *Request) {
	consumers, paged, ok := pagedConsumers(account, jsapi.OpConsumerNames, args, request, jsapi.NamesLimit)
	if !ok {
		return
	}
	response := &jsapi.ConsumerNamesResponse{
		Response:  jsapi.Response{Type: jsapi.ConsumerNamesResponseType},
		Paged:     paged,
		Consumers: []string{},
	}
	for _, consumer := range consumers {
		response.Consumers = append(response.Consumers, consumer.Name())
	}
	request.Respond(response)
}

// list answers CONSUMER.LIST.
func (e *consumerAPI) list(account *Account, args jsapi.Args, request *Request) {
	consumers, paged, ok := pagedConsumers(account, jsapi.OpConsumerList, args, request, jsapi.ListLimit)
	if !ok {
		return
	}
	response := &jsapi.ConsumerListResponse{
		Response:  jsapi.Response{Type: jsapi.ConsumerListResponseType},
		Paged:     paged,
		Consumers: []*jsapi.ConsumerInfo{},
	}
	for _, consumer := range consumers {
		response.Consumers = append(response.Consumers, consumer.Info())
	}
	request.Respond(response)
}

// delete answers CONSUMER.DELETE.
func (e *consumerAPI) delete(account *Account, args jsapi.Args, request *Request) {
	stream, consumer := lookupConsumer(account, jsapi.OpConsumerDelete, args, request)
	if consumer == nil {
		return
	}
	e.removeConsumer(stream, consumer)
	consumer.sendDeletedAdvisory()
	request.Respond(&jsapi.ConsumerDeleteResponse{
		Response: jsapi.Response{Type: jsapi.ConsumerDeleteResponseType},
		Success:  true,
	})
}

// removeConsumer unregisters and deletes a consumer with its stored state and
// configuration, then lets an interest stream drop what only it needed.
func (e *consumerAPI) removeConsumer(stream *Stream, consumer *Consumer) {
	stream.RemoveConsumer(consumer.Name())
	consumer.Delete()
	e.removeConsumerMeta(stream, consumer.Name())
	releaseInterest(stream)
}

// releaseInterest re-offers every stored message of an interest stream to its
// remaining consumers after a consumer left, bounded by releaseScanMax. A work queue
// keeps its messages for the next consumer, as the reference's does.
func releaseInterest(stream *Stream) {
	config := stream.Config()
	if config.Retention != jsapi.InterestPolicy {
		return
	}
	streamStore := stream.Store()
	var state storeState
	streamStore.FastState(&state)
	scanned := 0
	for seq := state.FirstSeq; seq <= state.LastSeq && scanned < releaseScanMax; seq++ {
		scanned++
		stream.Acknowledged(seq)
	}
}

// pause answers CONSUMER.PAUSE.
func (e *consumerAPI) pause(account *Account, args jsapi.Args, request *Request) {
	var body jsapi.ConsumerPauseRequest
	if !request.decode(jsapi.OpConsumerPause, &body) {
		return
	}
	stream, consumer := lookupConsumer(account, jsapi.OpConsumerPause, args, request)
	if consumer == nil {
		return
	}
	until := body.PauseUntil.UTC()
	_, paused := consumer.Pause(body.PauseUntil)
	config := consumer.Config()
	_ = e.writeConsumerMeta(stream, consumer.Name(), &config, consumer.created)
	response := &jsapi.ConsumerPauseResponse{
		Response:   jsapi.Response{Type: jsapi.ConsumerPauseResponseType},
		Paused:     paused,
		PauseUntil: until,
	}
	if paused {
		response.PauseRemaining = until.Sub(stream.Env().Clock.Now())
	}
	request.Respond(response)
}

// unpin answers CONSUMER.UNPIN.
func (e *consumerAPI) unpin(account *Account, args jsapi.Args, request *Request) {
	var body jsapi.ConsumerUnpinRequest
	if err := jsapi.DecodeRequest(request.Data, &body, false); err != nil {
		request.RespondError(jsapi.OpConsumerUnpin, jsapi.NewInvalidJSONError(err))
		return
	}
	if body.Group == "" {
		request.RespondError(jsapi.OpConsumerUnpin, jsapi.NewInvalidJSONError(errors.New("consumer group not specified")))
		return
	}
	if !jsapi.IsValidGroupName(body.Group) {
		request.RespondError(jsapi.OpConsumerUnpin, jsapi.NewConsumerInvalidGroupNameError())
		return
	}
	_, consumer := lookupConsumer(account, jsapi.OpConsumerUnpin, args, request)
	if consumer == nil {
		return
	}
	if !consumer.Unpin(body.Group) {
		request.RespondError(jsapi.OpConsumerUnpin, jsapi.NewConsumerInvalidPriorityGroupError())
		return
	}
	request.Respond(&jsapi.ConsumerUnpinResponse{Response: jsapi.Response{Type: jsapi.ConsumerUnpinResponseType}})
}

// reset answers CONSUMER.RESET.
func (e *consumerAPI) reset(account *Account, args jsapi.Args, request *Request) {
	var body jsapi.ConsumerResetRequest
	if len(request.Data) > 0 {
		if err := jsapi.DecodeRequest(request.Data, &body, false); err != nil {
			request.RespondError(jsapi.OpConsumerReset, jsapi.NewInvalidJSONError(err))
			return
		}
	}
	_, consumer := lookupConsumer(account, jsapi.OpConsumerReset, args, request)
	if consumer == nil {
		return
	}
	seq, err := consumer.Reset(body.Seq)
	if err != nil {
		request.RespondError(jsapi.OpConsumerReset, jsapi.NewConsumerInvalidResetError(err))
		return
	}
	request.Respond(&jsapi.ConsumerResetResponse{
		Response:     jsapi.Response{Type: jsapi.ConsumerResetResponseType},
		ConsumerInfo: withServerMetadata(consumer.Info()),
		ResetSeq:     seq,
	})
}

// next handles CONSUMER.MSG.NEXT: a pull request, answered with messages or status
// messages on its reply subject, never with an API response. In the reference each
// consumer subscribes its own MSG.NEXT subject, so a request for a missing consumer
// finds no subscriber and the client gets "503 No Responders"; here one subscription
// serves them all, so the status is sent the same way.
func (e *consumerAPI) next(account *Account, args jsapi.Args, request *Request) {
	var consumer *Consumer
	if stream := account.Stream(args.Stream); stream != nil {
		consumer, _ = stream.Consumer(args.Consumer).(*Consumer)
	}
	if consumer == nil {
		if request.Reply != "" {
			status := header.Build(jsapi.StatusNoResponders, "", "Nats-Subject", request.Subject)
			e.manager.Host().Publish(account.Name(), request.Reply, "", status, nil)
		}
		return
	}
	consumer.NextRequest(request.Reply, request.Data)
}
