package powerbi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// EmbedStore is a store of embed configurations shared by the replicas of a
// service, set as EmbedCacheOptions.Store: replicas that share one store
// share embed tokens, so the fleet makes one GenerateToken per item and
// options per refresh window instead of one per replica.
//
// The EmbedCache hands the store opaque values (an embed configuration and
// when it was issued, which hold an embed token) and never trusts what comes
// back: a value it cannot read is a miss. A store that fails or is slow costs
// page views nothing but the local GenerateToken the store would have saved.
//
// The module github.com/gopowerbi/powerbi/redisstore implements it on Redis.
type EmbedStore interface {
	// Key names the entry of one request, given the request's canonical
	// encoding. The encoding holds identities (usernames, roles, custom
	// data, identity blobs): the name must be a keyed hash of it (HMAC under a
	// secret of the store's), the same on every replica that shares the store,
	// and the encoding must be kept nowhere.
	Key(request []byte) string
	// Get returns the value stored under key, or nil and no error when there
	// is none or it cannot be read (expired, tampered with, under an unknown
	// key).
	Get(ctx context.Context, key string) ([]byte, error)
	// Set stores value under key; the store drops it once ttl has passed.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Lock tries to take a short lock on key, which ends when release is
	// called or ttl has passed (so a replica that crashed while holding it
	// blocks nobody for long). acquired is false when another replica holds
	// it; it then generates, and this one waits and reads what it stores.
	Lock(ctx context.Context, key string, ttl time.Duration) (release func(context.Context), acquired bool, err error)
}

const (
	// storeOpTimeout bounds each call to an EmbedStore, whatever the store's
	// own timeouts: a slow store delays a cold page view by at most this
	// much per call before the replica generates on its own.
	storeOpTimeout = 2 * time.Second
	// storeLockTTL is how long a replica may hold the generation lock of one
	// key, and how long the others wait for its result before generating on
	// their own (a GenerateToken normally answers in well under a second).
	storeLockTTL = 10 * time.Second
	// storePoll is how often a waiting replica reads the store again.
	storePoll = 50 * time.Millisecond
)

// storedConfig is what the EmbedCache keeps per key, locally and in a store:
// the configuration and when it was issued, from which every replica
// computes the same refresh window.
type storedConfig struct {
	Config   *EmbedConfig `json:"c"`
	IssuedAt time.Time    `json:"i"`
}

// sharedStore is the EmbedCache's side of an EmbedStore: the fleet-wide
// single flight, and the fallback to local generation when the store fails.
type sharedStore struct {
	store  EmbedStore
	logger *slog.Logger
	now    func() time.Time
	margin time.Duration
	down   atomic.Bool // the last call to the store failed: a failure is logged once, until it works again
}

// fetch returns a config for the request named name: the one a replica
// stored, or, under the store's lock, a new one from generate, which it then
// stores for the others. When the store fails, or another replica holds the
// lock for longer than storeLockTTL, it generates on its own.
func (s *sharedStore) fetch(ctx context.Context, name string, generate func(context.Context) (*EmbedConfig, error)) (*storedConfig, error) {
	local := func() (*storedConfig, error) {
		conf, err := generate(ctx)
		if err != nil {
			return nil, err
		}
		return &storedConfig{Config: conf, IssuedAt: s.now()}, nil
	}
	waitUntil := time.Now().Add(storeLockTTL)
	for {
		if v, err := s.get(ctx, name); err != nil {
			return local()
		} else if v != nil {
			return v, nil
		}
		release, acquired, err := s.lock(ctx, name)
		if err != nil {
			return local()
		}
		if acquired {
			return s.generateAndStore(ctx, name, release, local)
		}
		if time.Now().After(waitUntil) {
			s.warn("powerbi: embed store: another replica held the generation lock too long; generating locally", nil)
			return local()
		}
		t := time.NewTimer(storePoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// generateAndStore runs under the lock: it reads once more (a replica may
// have stored a config between the miss and the lock), generates, stores
// the result until its refresh window opens, and releases the lock.
func (s *sharedStore) generateAndStore(ctx context.Context, name string, release func(context.Context), local func() (*storedConfig, error)) (*storedConfig, error) {
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeOpTimeout)
		defer cancel()
		release(rctx)
	}()
	if v, err := s.get(ctx, name); err == nil && v != nil {
		return v, nil
	}
	v, err := local()
	if err != nil {
		return nil, err
	}
	ttl := v.Config.Expiration.Sub(s.now()) - refreshMargin(s.margin, v.Config.Expiration.Sub(v.IssuedAt))
	if ttl <= 0 {
		return v, nil // too short-lived to share
	}
	b, err := json.Marshal(v)
	if err != nil {
		return v, nil
	}
	sctx, cancel := context.WithTimeout(ctx, storeOpTimeout)
	defer cancel()
	s.result(s.store.Set(sctx, name, b, ttl))
	return v, nil
}

// get reads name; a value that does not decode, or whose refresh window has
// opened, is a miss.
func (s *sharedStore) get(ctx context.Context, name string) (*storedConfig, error) {
	gctx, cancel := context.WithTimeout(ctx, storeOpTimeout)
	defer cancel()
	b, err := s.store.Get(gctx, name)
	if s.result(err) != nil || b == nil {
		return nil, err
	}
	var v storedConfig
	if json.Unmarshal(b, &v) != nil || v.Config == nil || v.Config.AccessToken == "" || v.IssuedAt.IsZero() {
		s.warn("powerbi: embed store: a stored value could not be read; treating it as a miss", nil)
		return nil, nil
	}
	e := embedEntry{conf: v.Config, issuedAt: v.IssuedAt}
	if fresh, _ := e.state(s.now(), s.margin); !fresh {
		return nil, nil
	}
	return &v, nil
}

func (s *sharedStore) lock(ctx context.Context, name string) (func(context.Context), bool, error) {
	lctx, cancel := context.WithTimeout(ctx, storeOpTimeout)
	defer cancel()
	release, acquired, err := s.store.Lock(lctx, name, storeLockTTL)
	if s.result(err) != nil {
		return nil, false, err
	}
	if acquired && release == nil {
		release = func(context.Context) {}
	}
	return release, acquired, nil
}

// result notes whether the store answered: the first failure after a
// success is logged, the following ones are not, and a success re-arms it.
func (s *sharedStore) result(err error) error {
	if err == nil {
		s.down.Store(false)
		return nil
	}
	if s.down.CompareAndSwap(false, true) {
		s.warn("powerbi: embed store failed; generating embed tokens locally until it answers again", err)
	}
	return err
}

func (s *sharedStore) warn(msg string, err error) {
	if s.logger == nil {
		return
	}
	if err != nil {
		// A store's error text is its own; it is cut to one line and scrubbed
		// of anything shaped like a token.
		s.logger.Warn(msg, "error", oneLine(errorText(err), 200))
		return
	}
	s.logger.Warn(msg)
}

func errorText(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("no answer within %s", storeOpTimeout)
	}
	return err.Error()
}

// refreshMargin is the margin in effect for a token that lives life: a
// margin longer than the token's life would regenerate it on every call, so
// it is then half the life.
func refreshMargin(margin, life time.Duration) time.Duration {
	if margin >= life {
		return life / 2
	}
	return margin
}
