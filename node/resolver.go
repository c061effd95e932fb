package node

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/nats-io/jwt/v2"

	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/node/opts"
)

// The directory account resolver.
//
// `resolver { type: full, dir: DIR }` (and `cache`, which on one server is the same
// store) keeps each account's JWT in DIR/<account public key>.jwt. The server reads
// them at start, after storing the resolver_preload JWTs that are newer than what the
// directory holds, and the system account's claims requests change them while it
// runs (see claims.go): an update stores the JWT and applies the directory as a
// reload would, so a new account exists, and a changed one has its limits, imports,
// exports, JetStream limits and revocations, for new and connected users alike.

// jwtFileSuffix ends an account JWT's file name; deletedSuffix is appended to the
// file of a deleted account when deletes are not hard.
const (
	jwtFileSuffix  = ".jwt"
	deletedSuffix  = ".deleted"
	jwtFileMaxSize = 1 << 20
)

// dirResolver is the directory store of account JWTs.
type dirResolver struct {
	fs          env.FS
	dir         string
	allowDelete bool
	hardDelete  bool
	// cache is the cache resolver: it updates only accounts it has loaded, answers
	// no lookups, and deletes files outright (see claims.go).
	cache bool
}

func newDirResolver(fs env.FS, r *opts.ResolverOpts) (*dirResolver, error) {
	if r.Dir == "" {
		return nil, fmt.Errorf("resolver dir is required")
	}
	if err := fs.MkdirAll(r.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("resolver dir %q: %v", r.Dir, err)
	}
	cache := r.Type == "cache"
	return &dirResolver{fs: fs, dir: r.Dir, allowDelete: r.AllowDelete, hardDelete: r.HardDelete || cache, cache: cache}, nil
}

// path names an account's file; account must be an account public key (callers
// check), which keeps every name inside the directory.
func (r *dirResolver) path(account string) string {
	return path.Join(r.dir, path.Base(account)+jwtFileSuffix)
}

// load returns the stored JWTs by account public key.
func (r *dirResolver) load() (map[string]string, error) {
	names, err := r.fs.ReadDir(r.dir)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string)
	for _, name := range names {
		if !strings.HasSuffix(name, jwtFileSuffix) {
			continue
		}
		data, err := readWholeFile(r.fs, path.Join(r.dir, name))
		if err != nil {
			return nil, err
		}
		out[strings.TrimSuffix(name, jwtFileSuffix)] = strings.TrimSpace(string(data))
	}
	return out, nil
}

// get returns one account's stored JWT, or "".
func (r *dirResolver) get(account string) string {
	data, err := readWholeFile(r.fs, r.path(account))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// list returns the stored account public keys, sorted.
func (r *dirResolver) list() ([]string, error) {
	stored, err := r.load()
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(stored))
	for key := range stored {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	return keys, nil
}

// store replaces an account's JWT, durably: a temporary file synced, renamed over
// the old one, and the directory synced.
func (r *dirResolver) store(account, token string) error {
	name := r.path(account)
	tmp := name + ".tmp"
	f, err := r.fs.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt([]byte(token), 0); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := r.fs.Rename(tmp, name); err != nil {
		return err
	}
	return r.fs.SyncDir(r.dir)
}

// remove deletes an account's JWT: the file goes with hard_delete, and is otherwise
// renamed aside with deletedSuffix.
func (r *dirResolver) remove(account string) error {
	name := r.path(account)
	var err error
	if r.hardDelete {
		err = r.fs.Remove(name)
	} else {
		err = r.fs.Rename(name, name+deletedSuffix)
	}
	if err != nil {
		return err
	}
	return r.fs.SyncDir(r.dir)
}

// storePreloads stores each preloaded JWT the directory lacks or holds an older
// version of (by issue time).
func (r *dirResolver) storePreloads(preloads map[string]string) error {
	keys := make([]string, 0, len(preloads))
	for key := range preloads {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		token := preloads[key]
		if stored := r.get(key); stored != "" && !newerJWT(token, stored) {
			continue
		}
		if err := r.store(key, token); err != nil {
			return err
		}
	}
	return nil
}

// newerJWT reports whether account JWT a was issued after b (or b does not decode).
func newerJWT(a, b string) bool {
	claimsA, err := jwt.DecodeAccountClaims(a)
	if err != nil {
		return false
	}
	claimsB, err := jwt.DecodeAccountClaims(b)
	if err != nil {
		return true
	}
	return claimsA.IssuedAt > claimsB.IssuedAt
}
