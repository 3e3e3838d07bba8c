package redisstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopowerbi/powerbi"
	"github.com/gopowerbi/powerbi/powerbitest"
	"github.com/gopowerbi/powerbi/redisstore"
)

// A username that must never reach Redis in clear.
const sentinelUser = "alice.sentinel@contoso.com"

func newKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, 32)
	_, err := rand.Read(k)
	require.NoError(t, err)
	return k
}

// fleet is R replicas of one service: each its own powerbi.Client, Redis
// client and EmbedCache, sharing the fake Power BI and one Redis.
type fleet struct {
	fake     *powerbitest.Server
	demo     powerbitest.Demo
	replicas []*powerbi.EmbedCache
	rdb      *redis.Client // the test's own view of Redis
	logs     *syncBuffer
}

func newFleet(t testing.TB, n int, addr string, key []byte) *fleet {
	t.Helper()
	fake := powerbitest.NewServer()
	t.Cleanup(fake.Close)
	f := &fleet{fake: fake, demo: fake.SeedDemo(), logs: &syncBuffer{}}
	f.rdb = redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { f.rdb.Close() })
	for range n {
		f.replicas = append(f.replicas, f.newReplica(t, addr, &redisstore.Options{Key: key}))
	}
	return f
}

func (f *fleet) newReplica(t testing.TB, addr string, opts *redisstore.Options) *powerbi.EmbedCache {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(f.logs, nil))
	auth, err := powerbi.NewClientSecretAuthenticator(f.demo.TenantID, f.demo.ClientID, f.demo.ClientSecret, f.fake.AuthenticatorOptions())
	require.NoError(t, err)
	client, err := f.fake.NewClient(auth)
	require.NoError(t, err)
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	o := *opts
	o.Logger = logger
	store, err := redisstore.New(rdb, &o)
	require.NoError(t, err)
	cache, err := powerbi.NewEmbedCache(client, &powerbi.EmbedCacheOptions{Store: store, Logger: logger})
	require.NoError(t, err)
	return cache
}

func (f *fleet) generated() int { return f.fake.CountRequests("/GenerateToken") }

// rls is the options of a page view by user on the demo's RLS report.
func rls(user string) *powerbi.EmbedOptions {
	return &powerbi.EmbedOptions{Identities: []powerbi.EffectiveIdentity{{Username: user, Roles: []string{"West"}}}}
}

// view asks every replica for the RLS report from v concurrent viewers and
// returns how many failed and the token IDs they got.
func (f *fleet) view(t testing.TB, v int, user func(replica, viewer int) string) (failed int64, tokenIDs map[string]int) {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var nFailed atomic.Int64
	tokenIDs = map[string]int{}
	for r, ec := range f.replicas {
		for i := range v {
			wg.Add(1)
			go func() {
				defer wg.Done()
				conf, err := ec.Report(context.Background(), f.demo.WorkspaceID, f.demo.RLSReportID, rls(user(r, i)))
				if err != nil {
					nFailed.Add(1)
					t.Logf("page view failed: %v", err)
					return
				}
				mu.Lock()
				tokenIDs[conf.TokenID]++
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	return nFailed.Load(), tokenIDs
}

func sameUser(int, int) string { return sentinelUser }

// 4 replicas × 100 concurrent viewers on a cold cache: one GenerateToken for
// the fleet. In the refresh window: exactly one more. Redis holds no token
// and no identity in clear, in key names or values.
func TestFleetSharesOneToken(t *testing.T) {
	f := newFleet(t, 4, redisAddr, newKey(t))
	failed, ids := f.view(t, 100, sameUser)
	assert.Zero(t, failed)
	assert.Equal(t, 1, f.generated(), "one GenerateToken for 4 replicas × 100 viewers")
	assert.Len(t, ids, 1, "all 400 viewers got the same token")

	f.fake.Advance(55 * time.Minute) // inside every replica's 10-minute margin
	failed, _ = f.view(t, 100, sameUser)
	assert.Zero(t, failed)
	require.Eventually(t, func() bool { return f.generated() == 2 }, 10*time.Second, 5*time.Millisecond)
	time.Sleep(200 * time.Millisecond) // a third GenerateToken, if any, would be made by now
	assert.Equal(t, 2, f.generated(), "one more for the fleet in the refresh window")
	_, ids = f.view(t, 10, sameUser)
	assert.Len(t, ids, 1, "the fleet is back on one token")

	tokens := f.fake.EmbedTokens()
	keys, err := f.rdb.Keys(context.Background(), redisstore.DefaultPrefix+"*").Result()
	require.NoError(t, err)
	require.NotEmpty(t, keys)
	for _, k := range keys {
		assert.NotContains(t, k, sentinelUser)
		assert.NotContains(t, k, f.demo.RLSReportID)
		v, err := f.rdb.Get(context.Background(), k).Bytes()
		if err == redis.Nil {
			continue // a lock released meanwhile
		}
		require.NoError(t, err)
		for _, secret := range []string{sentinelUser, f.demo.RLSReportID, "accessToken", "embedUrl"} {
			assert.False(t, bytes.Contains(v, []byte(secret)), "%s in clear in the value of %s", secret, k)
		}
		for _, tok := range tokens {
			assert.False(t, bytes.Contains(v, []byte(tok.Token)), "an embed token in clear")
		}
		ttl, err := f.rdb.PTTL(context.Background(), k).Result()
		require.NoError(t, err)
		assert.Positive(t, ttl, "every key expires")
	}
}

// Redis killed in the middle of page views: every page view still succeeds,
// each replica generating on its own, and each says so once in its log.
func TestRedisKilledMidRun(t *testing.T) {
	srv := newRedis(t)
	f := newFleet(t, 4, srv.addr, newKey(t))
	var views, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for r, ec := range f.replicas {
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					// A new identity on every view: each one misses the local
					// cache and goes to the store.
					_, err := ec.Report(context.Background(), f.demo.WorkspaceID, f.demo.RLSReportID, rls(fmt.Sprintf("user-%d-%d-%d", r, g, i)))
					views.Add(1)
					if err != nil {
						failed.Add(1)
						t.Logf("page view failed: %v", err)
					}
				}
			}()
		}
	}
	time.Sleep(300 * time.Millisecond)
	before := views.Load()
	srv.stop()
	time.Sleep(700 * time.Millisecond)
	close(stop)
	wg.Wait()
	assert.Zero(t, failed.Load(), "no page view failed")
	assert.Greater(t, views.Load(), before+20, "page views went on after Redis died")
	logged := strings.Count(f.logs.String(), "embed store failed")
	assert.GreaterOrEqual(t, logged, 1)
	assert.LessOrEqual(t, logged, len(f.replicas), "logged once per replica, not per page view: %s", f.logs.String())
}

// A slow Redis (every client paused) delays a cold page view by about the
// store's timeout, then the replica generates on its own.
func TestSlowRedisIsBounded(t *testing.T) {
	srv := newRedis(t)
	f := newFleet(t, 1, srv.addr, newKey(t))
	require.NoError(t, f.rdb.Do(context.Background(), "CLIENT", "PAUSE", "1500", "ALL").Err())
	start := time.Now()
	conf, err := f.replicas[0].Report(context.Background(), f.demo.WorkspaceID, f.demo.RLSReportID, rls(sentinelUser))
	took := time.Since(start)
	require.NoError(t, err)
	assert.NotEmpty(t, conf.AccessToken)
	assert.Less(t, took, 1200*time.Millisecond, "bounded by the store's timeout, not by Redis")
	time.Sleep(1600 * time.Millisecond) // the pause ends; the abandoned calls return
}

// A value tampered with in Redis is a miss: the replica generates and stores
// a good value over it.
func TestTamperedValueIsAMiss(t *testing.T) {
	srv := newRedis(t)
	key := newKey(t)
	f := newFleet(t, 1, srv.addr, key)
	ctx := context.Background()
	_, err := f.replicas[0].Report(ctx, f.demo.WorkspaceID, f.demo.RLSReportID, rls(sentinelUser))
	require.NoError(t, err)
	require.Equal(t, 1, f.generated())
	name := valueKey(t, f.rdb)
	good, err := f.rdb.Get(ctx, name).Bytes()
	require.NoError(t, err)
	_, err = f.rdb.SetRange(ctx, name, int64(len(good)-3), "XYZ").Result() // keeps the TTL
	require.NoError(t, err)

	cold := f.newReplica(t, srv.addr, &redisstore.Options{Key: key})
	conf, err := cold.Report(ctx, f.demo.WorkspaceID, f.demo.RLSReportID, rls(sentinelUser))
	require.NoError(t, err)
	assert.NotEmpty(t, conf.AccessToken)
	assert.Equal(t, 2, f.generated(), "the tampered value was a miss")
	assert.Contains(t, f.logs.String(), "did not decrypt")
	repaired, err := f.rdb.Get(ctx, name).Bytes()
	require.NoError(t, err)
	assert.NotEqual(t, good, repaired)

	another := f.newReplica(t, srv.addr, &redisstore.Options{Key: key})
	again, err := another.Report(ctx, f.demo.WorkspaceID, f.demo.RLSReportID, rls(sentinelUser))
	require.NoError(t, err)
	assert.Equal(t, conf.TokenID, again.TokenID, "the good value stored over it is shared")
	assert.Equal(t, 2, f.generated())

	// A value copied under another name does not decrypt either: it is
	// bound to its name.
	_, err = f.replicas[0].Report(ctx, f.demo.WorkspaceID, f.demo.RLSReportID, rls("bob@contoso.com"))
	require.NoError(t, err)
	names, err := f.rdb.Keys(ctx, redisstore.DefaultPrefix+"*").Result()
	require.NoError(t, err)
	for _, n := range names {
		if n != name && !strings.HasSuffix(n, ":lock") {
			require.NoError(t, f.rdb.Set(ctx, n, repaired, time.Hour).Err())
		}
	}
	before := f.generated()
	cold = f.newReplica(t, srv.addr, &redisstore.Options{Key: key})
	_, err = cold.Report(ctx, f.demo.WorkspaceID, f.demo.RLSReportID, rls("bob@contoso.com"))
	require.NoError(t, err)
	assert.Equal(t, before+1, f.generated(), "alice's value under bob's name is a miss")
}

func valueKey(t *testing.T, rdb *redis.Client) string {
	t.Helper()
	names, err := rdb.Keys(context.Background(), redisstore.DefaultPrefix+"*").Result()
	require.NoError(t, err)
	for _, n := range names {
		if !strings.HasSuffix(n, ":lock") {
			return n
		}
	}
	t.Fatal("no value in Redis")
	return ""
}

// Key rotation: a replica with the new key in front and the old one behind
// reads what the old key encrypted; a replica without the old key cannot.
func TestKeyRotation(t *testing.T) {
	srv := newRedis(t)
	oldKey, newKey := newKey(t), newKey(t)
	f := newFleet(t, 1, srv.addr, oldKey)
	ctx := context.Background()
	_, err := f.replicas[0].Report(ctx, f.demo.WorkspaceID, f.demo.RLSReportID, rls(sentinelUser))
	require.NoError(t, err)
	require.Equal(t, 1, f.generated())

	rotated := f.newReplica(t, srv.addr, &redisstore.Options{Key: newKey, OldKeys: [][]byte{oldKey}})
	_, err = rotated.Report(ctx, f.demo.WorkspaceID, f.demo.RLSReportID, rls(sentinelUser))
	require.NoError(t, err)
	assert.Equal(t, 1, f.generated(), "the old key still decrypts")

	rdb := redis.NewClient(&redis.Options{Addr: srv.addr})
	defer rdb.Close()
	s1, err := redisstore.New(rdb, &redisstore.Options{Key: newKey, OldKeys: [][]byte{oldKey}})
	require.NoError(t, err)
	s2, err := redisstore.New(rdb, &redisstore.Options{Key: newKey})
	require.NoError(t, err)
	require.NoError(t, s1.Set(ctx, s1.Key([]byte("r")), []byte("v"), time.Minute))
	got, err := s1.Get(ctx, s1.Key([]byte("r")))
	require.NoError(t, err)
	assert.Equal(t, "v", string(got))
	assert.NotEqual(t, s1.Key([]byte("r")), s2.Key([]byte("r")), "dropping the last key names entries anew")
	require.NoError(t, s2.Set(ctx, s1.Key([]byte("r")), []byte("w"), time.Minute))
	got, err = s1.Get(ctx, s1.Key([]byte("r")))
	require.NoError(t, err)
	assert.Equal(t, "w", string(got), "the new key encrypts, every listed key decrypts")
	s3, err := redisstore.New(rdb, &redisstore.Options{Key: oldKey})
	require.NoError(t, err)
	got, err = s3.Get(ctx, s1.Key([]byte("r")))
	require.NoError(t, err)
	assert.Nil(t, got, "a replica without the new key: a miss")
}

// The lock is exclusive, expires with its TTL (a crashed holder blocks
// nobody for long), and a release does not free another replica's lock.
func TestLock(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	s, err := redisstore.New(rdb, &redisstore.Options{Key: newKey(t)})
	require.NoError(t, err)
	ctx := context.Background()
	name := s.Key([]byte(t.Name()))
	release, ok, err := s.Lock(ctx, name, 300*time.Millisecond)
	require.NoError(t, err)
	require.True(t, ok)
	_, ok, err = s.Lock(ctx, name, time.Second)
	require.NoError(t, err)
	assert.False(t, ok, "held")
	time.Sleep(400 * time.Millisecond)
	release2, ok, err := s.Lock(ctx, name, time.Minute)
	require.NoError(t, err)
	assert.True(t, ok, "the first holder's lock expired")
	release(ctx) // the first holder, late: must not free the second's lock
	_, ok, err = s.Lock(ctx, name, time.Second)
	require.NoError(t, err)
	assert.False(t, ok, "a late release does not free another's lock")
	release2(ctx)
	_, ok, err = s.Lock(ctx, name, time.Second)
	require.NoError(t, err)
	assert.True(t, ok)
}

func TestNewValidates(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	for name, opts := range map[string]*redisstore.Options{
		"no options":    nil,
		"no key":        {},
		"short key":     {Key: make([]byte, 16)},
		"short old key": {Key: make([]byte, 32), OldKeys: [][]byte{make([]byte, 31)}},
		"bad timeout":   {Key: make([]byte, 32), Timeout: -1},
	} {
		_, err := redisstore.New(rdb, opts)
		assert.ErrorIs(t, err, powerbi.ErrInvalidArgument, name)
	}
	_, err := redisstore.New(nil, &redisstore.Options{Key: make([]byte, 32)})
	assert.ErrorIs(t, err, powerbi.ErrInvalidArgument)
}

// syncBuffer is a log destination safe for concurrent replicas.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
