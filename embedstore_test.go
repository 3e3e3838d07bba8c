package powerbi

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memStore is an EmbedStore in memory, shared by the "replicas" of a test:
// entries expire on the test's clock, the lock is one map entry, and fail
// makes every call fail as a store that is down would.
type memStore struct {
	now func() time.Time

	mu      sync.Mutex
	values  map[string]memValue
	locks   map[string]time.Time
	fail    bool
	sets    int
	encoded [][]byte // what Key was given
}

type memValue struct {
	b       []byte
	expires time.Time
}

var errStoreDown = errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")

func newMemStore(now func() time.Time) *memStore {
	return &memStore{now: now, values: map[string]memValue{}, locks: map[string]time.Time{}}
}

func (m *memStore) Key(request []byte) string {
	m.mu.Lock()
	m.encoded = append(m.encoded, bytes.Clone(request))
	m.mu.Unlock()
	mac := hmac.New(sha256.New, []byte("fleet secret"))
	mac.Write(request)
	return hex.EncodeToString(mac.Sum(nil))
}

func (m *memStore) Get(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return nil, errStoreDown
	}
	v, ok := m.values[key]
	if !ok || !m.now().Before(v.expires) {
		return nil, nil
	}
	return bytes.Clone(v.b), nil
}

func (m *memStore) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return errStoreDown
	}
	m.sets++
	m.values[key] = memValue{bytes.Clone(value), m.now().Add(ttl)}
	return nil
}

func (m *memStore) Lock(_ context.Context, key string, ttl time.Duration) (func(context.Context), bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return nil, false, errStoreDown
	}
	if until, held := m.locks[key]; held && time.Now().Before(until) {
		return nil, false, nil
	}
	m.locks[key] = time.Now().Add(ttl)
	return func(context.Context) {
		m.mu.Lock()
		delete(m.locks, key)
		m.mu.Unlock()
	}, true, nil
}

func (m *memStore) setFail(fail bool) {
	m.mu.Lock()
	m.fail = fail
	m.mu.Unlock()
}

// replicas returns n EmbedCaches sharing one store, as n replicas of a
// service would, in front of one API; the store's entries expire on the
// API's clock.
func replicas(t *testing.T, n int, logger *slog.Logger) ([]*EmbedCache, *embedAPI, *memStore) {
	t.Helper()
	c, api := newEmbedAPI(t)
	store := newMemStore(api.clk.now)
	var caches []*EmbedCache
	for range n {
		ec, err := NewEmbedCache(c, &EmbedCacheOptions{Store: store, Logger: logger})
		require.NoError(t, err)
		caches = append(caches, ec)
	}
	return caches, api, store
}

// viewers asks each cache for the report from v goroutines at once and
// returns the token IDs they got.
func viewers(t *testing.T, caches []*EmbedCache, v int) map[string]int {
	t.Helper()
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for _, ec := range caches {
		for range v {
			wg.Add(1)
			go func() {
				defer wg.Done()
				conf, err := ec.Report(context.Background(), groupID, reportID, nil)
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				seen[conf.TokenID]++
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	return seen
}

// Replicas sharing a store generate one embed token between them on a cold
// cache, and one more when its refresh margin opens.
func TestEmbedStoreSharesTokensAcrossReplicas(t *testing.T) {
	caches, api, store := replicas(t, 4, nil)

	seen := viewers(t, caches, 25)
	assert.Len(t, api.tokens(), 1, "one GenerateToken for 4 replicas × 25 viewers")
	assert.Len(t, seen, 1, "every viewer got the same token")

	api.clk.add(55 * time.Minute) // inside the 10-minute margin of every replica
	viewers(t, caches, 25)
	require.Eventually(t, func() bool { return len(api.tokens()) == 2 }, 5*time.Second, time.Millisecond)
	time.Sleep(50 * time.Millisecond) // a second refresh, if any, would have been made by now
	assert.Len(t, api.tokens(), 2, "one more GenerateToken across the fleet")
	seen = viewers(t, caches, 5)
	assert.Len(t, seen, 1)
	assert.Equal(t, 2, store.sets, "each token stored once")
}

// The store is handed the request's canonical encoding only to name it: the
// name the cache uses is the store's, and the value holds the config and when
// it was issued, nothing of the request.
func TestEmbedStoreKeyAndValue(t *testing.T) {
	c, api := newEmbedAPI(t)
	api.rls = true
	store := newMemStore(api.clk.now)
	ec, err := NewEmbedCache(c, &EmbedCacheOptions{Store: store})
	require.NoError(t, err)
	opts := &EmbedOptions{Identities: []EffectiveIdentity{{Username: "alice@contoso.com", Roles: []string{"Sales"}}}}
	_, err = ec.Report(context.Background(), groupID, reportID, opts)
	require.NoError(t, err)

	require.Len(t, store.encoded, 1)
	assert.Contains(t, string(store.encoded[0]), "alice@contoso.com", "the encoding holds what changes the grant")
	assert.Contains(t, string(store.encoded[0]), reportID)
	require.Len(t, store.values, 1)
	for k, v := range store.values {
		assert.Equal(t, store.Key(store.encoded[0]), k)
		assert.NotContains(t, string(v.b), "alice@contoso.com")
		assert.Contains(t, string(v.b), `"accessToken":"embed-1"`, "the store holds the config; a real one encrypts it")
	}
}

// A store that is down costs nothing but the saved GenerateToken: page views
// succeed, each replica generates on its own, and the failure is logged once
// until the store answers again.
func TestEmbedStoreDownGeneratesLocally(t *testing.T) {
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	caches, api, store := replicas(t, 2, logger)
	store.setFail(true)
	seen := viewers(t, caches, 10)
	assert.Len(t, api.tokens(), 2, "one per replica, as without a store")
	assert.Len(t, seen, 2)
	assert.Equal(t, 2, bytes.Count([]byte(logs.String()), []byte("embed store failed")), "once per replica: %s", logs.String())
	assert.Contains(t, logs.String(), "connection refused")

	store.setFail(false)
	api.clk.add(55 * time.Minute)
	viewers(t, caches, 10)
	require.Eventually(t, func() bool { return len(api.tokens()) == 3 }, 5*time.Second, time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	assert.Len(t, api.tokens(), 3, "back to one per refresh across the fleet")
}

// A value that does not decode is a miss: the replica generates and stores a
// good one over it.
func TestEmbedStoreGarbageIsAMiss(t *testing.T) {
	c, api := newEmbedAPI(t)
	store := newMemStore(api.clk.now)
	logs := &syncBuffer{}
	ec, err := NewEmbedCache(c, &EmbedCacheOptions{Store: store, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	require.NoError(t, err)
	req := &embedRequest{Kind: EmbedTypeReport, IDs: []string{groupID, reportID}, Options: &EmbedOptions{}}
	_, encoded, err := (&keyer{mac: hmac.New(sha256.New, []byte("any"))}).key(req)
	require.NoError(t, err)
	name := store.Key(encoded)
	for _, garbage := range []string{"not json", `{"c":null}`, `{"c":{"accessToken":""},"i":"2026-11-24T12:00:00Z"}`} {
		store.values[name] = memValue{[]byte(garbage), api.clk.now().Add(time.Hour)}
		before := len(api.tokens())
		conf, err := ec.Report(context.Background(), groupID, reportID, nil)
		require.NoError(t, err, garbage)
		assert.NotEmpty(t, conf.AccessToken)
		assert.Len(t, api.tokens(), before+1, "generated: %s", garbage)
		assert.NotEqual(t, garbage, string(store.values[name].b), "a good value stored over it")
		ec, _ = NewEmbedCache(c, &EmbedCacheOptions{Store: store, Logger: slog.New(slog.NewTextHandler(logs, nil))}) // a cold replica
	}
	assert.Contains(t, logs.String(), "could not be read")
}

// A replica that takes the lock and never stores (it crashed) holds the
// others up for the lock's time at most; they then generate on their own.
func TestEmbedStoreLockHolderThatNeverAnswers(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the lock to time out")
	}
	c, api := newEmbedAPI(t)
	store := newMemStore(api.clk.now)
	ec, err := NewEmbedCache(c, &EmbedCacheOptions{Store: store})
	require.NoError(t, err)
	req := &embedRequest{Kind: EmbedTypeReport, IDs: []string{groupID, reportID}, Options: &EmbedOptions{}}
	_, encoded, err := (&keyer{mac: hmac.New(sha256.New, []byte("any"))}).key(req)
	require.NoError(t, err)
	name := store.Key(encoded)
	_, acquired, _ := store.Lock(context.Background(), name, time.Hour) // a crashed replica's lock, never released
	require.True(t, acquired)
	start := time.Now()
	conf, err := ec.Report(context.Background(), groupID, reportID, nil)
	require.NoError(t, err)
	assert.NotEmpty(t, conf.AccessToken)
	assert.Less(t, time.Since(start), storeLockTTL+5*time.Second)
	assert.Len(t, api.tokens(), 1)
}

// syncBuffer is a log destination safe for the cache's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
	n  atomic.Int64
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n.Add(1)
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
