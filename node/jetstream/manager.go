package jetstream

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/store/filestore"
)

// Config is the server-wide JetStream configuration (the jetstream {} block).
type Config struct {
	// Env is the world: clock, timers, tasks, file system, randomness.
	Env env.Env
	// Logger receives JetStream's log lines; nil discards them.
	Logger Logger
	// StoreDir is the root; streams live under <StoreDir>/jetstream/<account>/streams/<name>.
	StoreDir string
	// Lenient makes API requests decode leniently (jetstream { strict: false }):
	// unknown fields are ignored instead of refused with 10025. The reference's
	// default, and the zero value, is strict.
	Lenient bool
	// MaxMemory and MaxStore bound the server's memory and file storage; <= 0 means
	// unlimited.
	MaxMemory int64
	MaxStore  int64
	// Domain is the JetStream domain, reported in PubAcks and account info.
	Domain string
	// SyncInterval, when positive, acknowledges once written to the OS and fsyncs on a
	// timer (the reference's sync_interval); zero fsyncs before every ack (the default).
	SyncInterval time.Duration
	// Cipher and Key encrypt file streams at rest; Key must be 32 bytes with a cipher.
	Cipher filestore.Cipher
	Key    []byte
	// ServerMaxAckPending and ServerMaxRequestBatch are jetstream.limits
	// max_ack_pending and max_request_batch (0: no cap): consumers default to them
	// and may not ask for more.
	ServerMaxAckPending   int
	ServerMaxRequestBatch int
	// BatchInflightPerStreamMax, BatchInflightTotalMax, BatchMessagesMax and
	// BatchTimeout are jetstream.limits max_batch_inflight_per_stream,
	// max_batch_inflight_total, max_batch_size and max_batch_timeout for atomic batch
	// publishing; zero keeps the reference's defaults (batch.go).
	BatchInflightPerStreamMax int
	BatchInflightTotalMax     int
	BatchMessagesMax          int
	BatchTimeout              time.Duration
	// ServerName and ClusterName are reported as the (single server) cluster of
	// STREAM.INFO: the reference names itself the leader.
	ServerName  string
	ClusterName string
	// StandAlone is set when the server has neither cluster nor gateway ports: the
	// reference then refuses streams with more than one replica (10074) instead of
	// keeping one.
	StandAlone bool
}

// AccountLimits are one account's JetStream limits; -1 (or 0) means unlimited.
type AccountLimits struct {
	MaxMemory    int64
	MaxStore     int64
	MaxStreams   int
	MaxConsumers int
	// MaxAckPending caps (and defaults) its consumers' max_ack_pending.
	MaxAckPending int
	// MemoryMaxStreamBytes and StoreMaxStreamBytes cap a memory or file stream's
	// max_bytes; MaxBytesRequired refuses streams without max_bytes.
	MemoryMaxStreamBytes int64
	StoreMaxStreamBytes  int64
	MaxBytesRequired     bool
}

// Manager is JetStream for one server: its accounts and their streams.
type Manager struct {
	config Config
	host   Host
	logger Logger

	consumers consumerEngine

	mu       sync.Mutex
	accounts map[string]*Account
	stopped  bool

	// stored is the bytes every account's streams hold (see Account.stored).
	stored storedBytes

	// atomicBatches and fastBatches count the open atomic and fast publish batches
	// of every stream.
	atomicBatches atomic.Int64
	fastBatches   atomic.Int64
}

// ErrStopped is returned by calls on a stopped Manager.
var ErrStopped = errors.New("jetstream: stopped")

// New builds a Manager. It creates the store directory; accounts are enabled with
// EnableAccount, which recovers their streams.
func New(config Config, host Host) (*Manager, error) {
	if config.Env.FS == nil || config.Env.Clock == nil {
		return nil, errors.New("jetstream: an env with a clock and a file system is required")
	}
	if config.StoreDir == "" {
		return nil, errors.New("jetstream: store directory required")
	}
	if config.Cipher != filestore.NoCipher && len(config.Key) != 32 {
		return nil, errors.New("jetstream: encryption needs a 32-byte key")
	}
	logger := config.Logger
	if logger == nil {
		logger = discardLogger{}
	}
	m := &Manager{config: config, host: host, logger: logger, accounts: make(map[string]*Account)}
	if err := m.makeDurableDir(m.rootDir()); err != nil {
		return nil, fmt.Errorf("jetstream: store directory: %w", err)
	}
	// A restore cut short by a crash leaves its spooled chunks behind; no restore
	// runs before the manager exists, so whatever is there is garbage.
	if err := config.Env.FS.RemoveAll(m.restoreStagingDir()); err != nil {
		logger.Warnf("JetStream could not remove unfinished restores in %s: %v", m.restoreStagingDir(), err)
	}
	m.consumers = consumerEngineFactory(m)
	return m, nil
}

// Config returns the configuration the Manager runs with.
func (m *Manager) Config() Config { return m.config }

// Host returns the server the Manager runs in.
func (m *Manager) Host() Host { return m.host }

// Env returns the world the Manager runs in.
func (m *Manager) Env() env.Env { return m.config.Env }

// Logger returns the Manager's logger.
func (m *Manager) Logger() Logger { return m.logger }

func (m *Manager) rootDir() string { return path.Join(m.config.StoreDir, "jetstream") }

func (m *Manager) accountDir(account string) string {
	return path.Join(m.rootDir(), account, "streams")
}

// EnableAccount turns JetStream on for an account (idempotent: a second call
// updates the limits), recovers its streams from the store directory, and subscribes
// its API.
func (m *Manager) EnableAccount(name string, limits AccountLimits) (*Account, error) {
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return nil, ErrStopped
	}
	if account := m.accounts[name]; account != nil {
		m.mu.Unlock()
		account.setLimits(limits)
		return account, nil
	}
	account := newAccount(m, name, limits)
	m.accounts[name] = account
	m.mu.Unlock()
	if err := account.recover(); err != nil {
		m.logger.Errorf("JetStream account %q recovery: %v", name, err)
	}
	if err := account.subscribeAPI(); err != nil {
		return nil, err
	}
	return account, nil
}

// Account returns an account's JetStream state, or nil when not enabled.
func (m *Manager) Account(name string) *Account {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.accounts[name]
}

// Accounts returns the enabled accounts, sorted by name.
func (m *Manager) Accounts() []*Account {
	m.mu.Lock()
	defer m.mu.Unlock()
	names := make([]string, 0, len(m.accounts))
	for name := range m.accounts {
		names = append(names, name)
	}
	sort.Strings(names)
	accounts := make([]*Account, len(names))
	for i, name := range names {
		accounts[i] = m.accounts[name]
	}
	return accounts
}

// Stop stops every stream (keeping its data) and unsubscribes every handler.
func (m *Manager) Stop() {
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return
	}
	m.stopped = true
	m.mu.Unlock()
	for _, account := range m.Accounts() {
		account.stop()
	}
}

// Usage returns the server's memory and file storage in use, in bytes.
func (m *Manager) Usage() (memory, storage uint64) {
	for _, account := range m.Accounts() {
		accountMemory, accountStore := account.usage()
		memory += accountMemory
		storage += accountStore
	}
	return memory, storage
}

// makeDurableDir creates dir and makes its entry durable, as strict POSIX needs: a
// new directory survives power loss only once its parent is synced. Only the parents
// of directories this call creates are synced (and always dir's own parent, in case
// an earlier incarnation created it and crashed before syncing), so creating a
// stream costs one or two directory syncs rather than one per level.
func (m *Manager) makeDurableDir(dir string) error {
	fsys := m.config.Env.FS
	var missing []string
	for current := dir; ; current = path.Dir(current) {
		if _, err := fsys.Stat(current); err == nil {
			break
		}
		missing = append(missing, current)
		if current == "." || current == "/" || current == path.Dir(current) {
			break
		}
	}
	if err := fsys.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	parents := []string{path.Dir(dir)}
	for i := len(missing) - 1; i >= 0; i-- {
		if parent := path.Dir(missing[i]); parent != parents[0] {
			parents = append(parents, parent)
		}
	}
	for _, parent := range parents {
		if err := fsys.SyncDir(parent); err != nil {
			return err
		}
	}
	return nil
}

// writeFileDurably replaces name with data: a temporary file, fsync, rename, and a
// sync of the directory, so a crash leaves either the old or the new contents.
func (m *Manager) writeFileDurably(name string, data []byte) error {
	fsys := m.config.Env.FS
	temporary := name + ".tmp"
	file, err := fsys.Create(temporary)
	if err != nil {
		return err
	}
	if _, err := file.WriteAt(data, 0); err != nil {
		_ = file.Close()
		return err
	}
	if err := file.Sync(); err != nil {
		_ = file.Close()
		return err
	}
	if err := file.Close(); err != nil {
		return err
	}
	if err := fsys.Rename(temporary, name); err != nil {
		return err
	}
	return fsys.SyncDir(path.Dir(name))
}

// readFile reads a whole file.
func (m *Manager) readFile(name string) ([]byte, error) {
	file, err := m.config.Env.FS.Open(name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = file.Close() }()
	size, err := file.Size()
	if err != nil {
		return nil, err
	}
	data := make([]byte, size)
	n, err := file.ReadAt(data, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return data[:n], nil
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

type discardLogger struct{}

func (discardLogger) Noticef(string, ...any) {}
func (discardLogger) Warnf(string, ...any)   {}
func (discardLogger) Errorf(string, ...any)  {}
func (discardLogger) Debugf(string, ...any)  {}
