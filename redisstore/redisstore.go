// Package redisstore shares the embed tokens of a powerbi.EmbedCache between
// the replicas of a service through Redis (or Valkey, Azure Cache for Redis,
// a Redis Cluster or Sentinel: anything a redis.UniversalClient reaches).
//
//	rdb := redis.NewClient(&redis.Options{Addr: "cache:6379"})
//	store, err := redisstore.New(rdb, &redisstore.Options{Key: key}) // key: 32 random bytes, the same on every replica
//	if err != nil { ... }
//	cache, err := powerbi.NewEmbedCache(client, &powerbi.EmbedCacheOptions{Store: store})
//
// Replicas that share one Redis make one GenerateToken per item and options
// per refresh window between them: the first replica to miss takes a short
// lock and generates, the others wait for it and read what it stored.
//
// What Redis holds is of no use to whoever reads it: a value is the embed
// configuration encrypted with AES-256-GCM under Options.Key and bound to its
// key name, and a key name is an HMAC of the request (item, identities,
// profile), never an identity in clear. A value that does not decrypt
// (tampered with, or under a key the replica does not have) is a miss.
//
// Redis is a help, never a dependency of a page view: every call is bounded
// by Options.Timeout, and when Redis is down, slow or answers garbage, the
// EmbedCache generates locally and logs it once.
//
// It is a module of its own so that the core module does not depend on
// go-redis.
package redisstore

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gopowerbi/powerbi"
)

// Defaults of Options.
const (
	DefaultPrefix  = "powerbi:embed:"
	DefaultTimeout = 200 * time.Millisecond
)

// Options configure a Store.
type Options struct {
	// Key is the AES-256 key (32 bytes) that encrypts the values, the same on
	// every replica. Required. Keep it where you keep other secrets.
	Key []byte
	// OldKeys decrypt values but encrypt none: to rotate, put the new key in
	// Key and the old one here on every replica, then drop it once the
	// values it encrypted have expired (an embed token lives at most an
	// hour). Key names are derived from the last key of Key and OldKeys, so
	// they stay the same while a new key is put in front; dropping the last
	// key names entries anew, which costs one GenerateToken per item.
	OldKeys [][]byte
	// Prefix of every key name (default "powerbi:embed:").
	Prefix string
	// Timeout bounds each call to Redis, whatever the client's own timeouts
	// (default 200 ms): a slow Redis delays a page view that misses the local
	// cache by about this much before the replica generates on its own.
	Timeout time.Duration
	// Logger receives a warning when a value cannot be decrypted (once, until
	// one can). Failures to reach Redis are logged by the EmbedCache.
	Logger *slog.Logger
}

// Store is a powerbi.EmbedStore on Redis. It is safe for concurrent use.
type Store struct {
	rdb     redis.UniversalClient
	seal    cipher.AEAD
	seals   map[[keyIDLen]byte]cipher.AEAD // every key, by its ID
	keyID   [keyIDLen]byte                 // the ID of the key that seals
	names   []byte                         // the HMAC key of key names
	prefix  string
	timeout time.Duration
	logger  *slog.Logger
	garbled atomic.Bool // a value did not decrypt: logged once, until one does
}

var _ powerbi.EmbedStore = (*Store)(nil)

const (
	version  = 1
	keyIDLen = 4
)

// release deletes the lock only if it still holds this replica's token: a
// lock that expired and was taken by another replica is not released.
var release = redis.NewScript(`if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) end return 0`)

// New returns a Store on rdb.
func New(rdb redis.UniversalClient, opts *Options) (*Store, error) {
	if rdb == nil {
		return nil, &powerbi.ValidationError{Field: "rdb", Reason: "is nil"}
	}
	if opts == nil {
		return nil, &powerbi.ValidationError{Field: "Options.Key", Reason: "is required: 32 random bytes, the same on every replica"}
	}
	o := *opts
	switch {
	case o.Timeout < 0:
		return nil, &powerbi.ValidationError{Field: "Options.Timeout", Reason: "must not be negative"}
	case o.Timeout == 0:
		o.Timeout = DefaultTimeout
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	s := &Store{rdb: rdb, seals: map[[keyIDLen]byte]cipher.AEAD{}, prefix: o.Prefix, timeout: o.Timeout, logger: o.Logger}
	keys := append([][]byte{o.Key}, o.OldKeys...)
	for i, k := range keys {
		field := "Options.Key"
		if i > 0 {
			field = fmt.Sprintf("Options.OldKeys[%d]", i-1)
		}
		if len(k) != 32 {
			return nil, &powerbi.ValidationError{Field: field, Reason: fmt.Sprintf("is %d bytes long; an AES-256 key is 32", len(k))}
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("redisstore: %s: %w", field, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("redisstore: %s: %w", field, err)
		}
		id := keyID(k)
		s.seals[id] = aead
		if i == 0 {
			s.seal, s.keyID = aead, id
		}
	}
	s.names = derive(keys[len(keys)-1], "key names")
	return s, nil
}

// derive is a key for one purpose, from a key given for another.
func derive(key []byte, purpose string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("gopowerbi redisstore v1: " + purpose))
	return mac.Sum(nil)
}

// keyID names a key in a value without revealing it.
func keyID(key []byte) [keyIDLen]byte {
	var id [keyIDLen]byte
	copy(id[:], derive(key, "key id"))
	return id
}

// Key names the entry of a request: the prefix and an HMAC of the request's
// encoding, in braces so that the entry and its lock share a Cluster slot.
func (s *Store) Key(request []byte) string {
	mac := hmac.New(sha256.New, s.names)
	mac.Write(request)
	return s.prefix + "{" + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)) + "}"
}

// Get returns the decrypted value under key, or nil when there is none or it
// does not decrypt.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	var raw []byte
	err := s.do(ctx, func(ctx context.Context) error {
		var err error
		raw, err = s.rdb.Get(ctx, key).Bytes()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	plain, err := s.open(key, raw)
	if err != nil {
		if s.garbled.CompareAndSwap(false, true) && s.logger != nil {
			s.logger.Warn("redisstore: a value did not decrypt; treating it as a miss (tampered with, or encrypted under a key this replica does not have)", "reason", err.Error())
		}
		return nil, nil
	}
	s.garbled.Store(false)
	return plain, nil
}

// Set encrypts value and stores it under key for ttl.
func (s *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	sealed, err := s.sealValue(key, value)
	if err != nil {
		return err
	}
	return s.do(ctx, func(ctx context.Context) error { return s.rdb.Set(ctx, key, sealed, ttl).Err() })
}

// Lock takes the generation lock of key for ttl, if no replica holds it.
func (s *Store) Lock(ctx context.Context, key string, ttl time.Duration) (func(context.Context), bool, error) {
	var tok [16]byte
	if _, err := rand.Read(tok[:]); err != nil {
		return nil, false, err
	}
	token := hex.EncodeToString(tok[:])
	lock := key + ":lock"
	var acquired bool
	err := s.do(ctx, func(ctx context.Context) error {
		var err error
		acquired, err = s.rdb.SetNX(ctx, lock, token, ttl).Result()
		return err
	})
	if err != nil || !acquired {
		return nil, false, err
	}
	return func(ctx context.Context) {
		// A release that fails leaves the lock to expire with its TTL.
		_ = s.do(ctx, func(ctx context.Context) error { return release.Run(ctx, s.rdb, []string{lock}, token).Err() })
	}, true, nil
}

// do runs one Redis call bounded by the Store's timeout. The client may not
// respect a context's deadline (go-redis does only with
// ContextTimeoutEnabled), so the wait is bounded here; a call that outlives
// it ends with the client's own read timeout.
func (s *Store) do(ctx context.Context, call func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	done := make(chan error, 1)
	go func() {
		defer cancel()
		done <- call(ctx)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("redisstore: Redis did not answer within %s: %w", s.timeout, ctx.Err())
	}
}

// sealValue is version, key ID, nonce, then the AES-GCM ciphertext of value
// with the key name as additional data, so a value copied under another
// name does not decrypt.
func (s *Store) sealValue(key string, value []byte) ([]byte, error) {
	out := make([]byte, 1+keyIDLen+s.seal.NonceSize(), 1+keyIDLen+s.seal.NonceSize()+len(value)+s.seal.Overhead())
	out[0] = version
	copy(out[1:], s.keyID[:])
	nonce := out[1+keyIDLen:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.seal.Seal(out, nonce, value, []byte(key)), nil
}

func (s *Store) open(key string, raw []byte) ([]byte, error) {
	if len(raw) < 1+keyIDLen || raw[0] != version {
		return nil, errors.New("not a value of this store")
	}
	var id [keyIDLen]byte
	copy(id[:], raw[1:])
	aead, ok := s.seals[id]
	if !ok {
		return nil, errors.New("encrypted under a key this replica does not have")
	}
	rest := raw[1+keyIDLen:]
	if len(rest) < aead.NonceSize() {
		return nil, errors.New("cut short")
	}
	plain, err := aead.Open(nil, rest[:aead.NonceSize()], rest[aead.NonceSize():], []byte(key))
	if err != nil {
		return nil, errors.New("does not authenticate")
	}
	return plain, nil
}
