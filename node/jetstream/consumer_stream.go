package jetstream

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/proto/jsapi"
	"github.com/natsim/natsim/store"
	"github.com/natsim/natsim/store/memstore"
)

// consumerMetaFileName is the consumer's configuration file, next to the store's state
// file in the stream's obs/<consumer> directory.
const consumerMetaFileName = "meta.json"

// releaseScanMax bounds the messages re-offered to an interest stream when a consumer
// leaves.
const releaseScanMax = 1 << 20

// storeState is the store's stream state (short name for the consumer files).
type storeState = store.StreamState

// consumerMeta is what a durable consumer persists about itself.
type consumerMeta struct {
	Name    string               `json:"name"`
	Config  jsapi.ConsumerConfig `json:"config"`
	Created time.Time            `json:"created"`
}

// consumerDir is the directory of a consumer's files.
func consumerDir(stream *Stream, name string) string {
	return path.Join(stream.Account().streamDir(stream.Name()), "obs", name)
}

// persistent reports whether a consumer's state and configuration go to disk: every
// consumer of a file stream that does not ask for memory storage and is not direct.
// Ephemeral consumers too, as in the reference: a client pulling across a server
// restart finds its consumer again, and the inactive threshold removes it once
// nobody does. Direct consumers (mirrors' and sources') get no store in the
// reference: their follower recreates them.
func persistent(stream *Stream, config *jsapi.ConsumerConfig) bool {
	return !config.MemoryStorage && !config.Direct && stream.Config().Storage != jsapi.MemoryStorage
}

// consumerWorld builds the world of a consumer on stream, and its state store.
func (e *consumerAPI) consumerWorld(stream *Stream, name string, config *jsapi.ConsumerConfig) (consumerWorld, store.ConsumerStore, error) {
	var consumerStore store.ConsumerStore
	if persistent(stream, config) {
		opened, err := stream.Store().ConsumerStore(name, storeConsumerConfig(config))
		if err != nil {
			return consumerWorld{}, nil, err
		}
		consumerStore = opened
	} else {
		consumerStore = memstore.NewConsumerStore(storeConsumerConfig(config))
	}
	host := stream.Host()
	accountName := stream.Account().Name()
	environment := stream.Env()
	streamConfig := stream.Config()
	world := consumerWorld{
		clock: environment.Clock,
		rand:  environment.Rand,
		publish: func(subject, reply string, header, body []byte) {
			host.Publish(accountName, subject, reply, header, body)
		},
		deliver: func(deliverSubject, subject, reply string, header, body []byte) {
			host.Deliver(accountName, deliverSubject, subject, reply, header, body)
		},
		hasInterest: func(subject string) bool { return host.HasInterest(accountName, subject) },
		subscribe: func(subject string, handler func(subject, reply string, header, body []byte)) (func(), error) {
			subscription, err := host.Subscribe(accountName, subject, func(msg *Msg) {
				handler(msg.Subject, msg.Reply, msg.Header, msg.Data)
			})
			if err != nil {
				return nil, err
			}
			return subscription.Unsubscribe, nil
		},
		streamName:   stream.Name(),
		streamConfig: func() jsapi.StreamConfig { return streamConfig },
		retention:    streamConfig.Retention,
		store:        stream.Store(),
		acknowledged: stream.Acknowledged,
		removed: func(consumer *Consumer) {
			stream.RemoveConsumer(consumer.Name())
			e.removeConsumerMeta(stream, consumer.Name())
			releaseInterest(stream)
		},
		domain:      e.manager.Config().Domain,
		accountName: accountName,
	}
	if watcher, ok := host.(InterestWatcher); ok {
		world.deliveryInterest = func(subject, group string) bool {
			return watcher.HasDeliveryInterest(accountName, subject, group)
		}
		world.watchInterest = func(subject, group string, changed func()) func() {
			return watcher.WatchInterest(accountName, subject, group, changed)
		}
	}
	return world, consumerStore, nil
}

// writeConsumerMeta persists a durable consumer's configuration durably.
func (e *consumerAPI) writeConsumerMeta(stream *Stream, name string, config *jsapi.ConsumerConfig, created time.Time) error {
	if !persistent(stream, config) {
		return nil
	}
	dir := consumerDir(stream, name)
	data, err := json.Marshal(consumerMeta{Name: name, Config: *config, Created: created})
	if err != nil {
		return err
	}
	if config.Durable == "" {
		// An ephemeral consumer's configuration is written without syncing: losing
		// it to a power failure loses only an ephemeral, and creating one must stay
		// cheap (clients create them by the thousand).
		return writeFileUnsynced(e.manager.Env().FS, dir, path.Join(dir, consumerMetaFileName), data)
	}
	if err := e.manager.makeDurableDir(dir); err != nil {
		return err
	}
	return e.manager.writeFileDurably(path.Join(dir, consumerMetaFileName), data)
}

// writeFileUnsynced writes name through a temporary file and a rename, without
// syncing, creating dir first.
func writeFileUnsynced(fsys env.FS, dir, name string, data []byte) error {
	if err := fsys.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	temporary := name + ".tmp"
	file, err := fsys.Create(temporary)
	if err != nil {
		return err
	}
	if _, err := file.WriteAt(data, 0); err != nil {
		_ = file.Close()
		return err
	}
	if err := file.Close(); err != nil {
		return err
	}
	return fsys.Rename(temporary, name)
}

// removeConsumerMeta removes a consumer's configuration (its store removes its state).
func (e *consumerAPI) removeConsumerMeta(stream *Stream, name string) {
	fsys := e.manager.Env().FS
	dir := consumerDir(stream, name)
	if _, err := fsys.Stat(dir); err != nil {
		return
	}
	_ = fsys.RemoveAll(dir)
	_ = fsys.SyncDir(path.Dir(dir))
}

// RecoverConsumers implements consumerEngine: it reopens every durable consumer whose
// configuration is on disk, in name order.
func (e *consumerAPI) RecoverConsumers(stream *Stream) error {
	fsys := e.manager.Env().FS
	dir := path.Join(stream.Account().streamDir(stream.Name()), "obs")
	names, err := fsys.ReadDir(dir)
	if err != nil {
		if isNotExist(err) {
			return nil
		}
		return err
	}
	sort.Strings(names)
	var firstErr error
	for _, name := range names {
		if err := e.recoverConsumer(stream, name); err != nil {
			e.manager.Logger().Warnf("JetStream consumer '%s > %s > %s' not recovered: %v", stream.Account().Name(), stream.Name(), name, err)
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	return firstErr
}

// recoverConsumer reopens one consumer from its directory.
func (e *consumerAPI) recoverConsumer(stream *Stream, name string) error {
	data, err := e.manager.readFile(path.Join(consumerDir(stream, name), consumerMetaFileName))
	if err != nil {
		return err
	}
	var meta consumerMeta
	if err := json.Unmarshal(data, &meta); err != nil {
		return fmt.Errorf("configuration is corrupt: %w", err)
	}
	streamConfig := stream.Config()
	config, apiErr := jsapi.PrepareConsumerConfig(&meta.Config, &streamConfig, jsapi.ConsumerCheckOptions{Recovering: true, ServerMaxAckPending: e.manager.Config().ServerMaxAckPending, ServerMaxRequestBatch: e.manager.Config().ServerMaxRequestBatch})
	if apiErr != nil {
		return apiErr
	}
	world, consumerStore, err := e.consumerWorld(stream, name, &config)
	if err != nil {
		return err
	}
	consumer, err := newConsumer(world, name, config, consumerStore, meta.Created)
	if err != nil {
		_ = consumerStore.Stop()
		return err
	}
	if apiErr := stream.AddConsumer(consumer); apiErr != nil {
		consumer.Stop()
		return apiErr
	}
	consumer.signal()
	return nil
}
