package redisstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/gopowerbi/powerbi"
	"github.com/gopowerbi/powerbi/redisstore"
)

// BenchmarkHit compares a page view served from the process's own cache
// with one that misses it and is served from Redis (the token another
// replica generated): decrypting and decoding the value, one GET on
// loopback.
func BenchmarkHit(b *testing.B) {
	ctx := context.Background()
	b.Run("in-process", func(b *testing.B) {
		f := newFleet(b, 1, redisAddr, newKey(b))
		opts := rls(sentinelUser)
		_, err := f.replicas[0].Report(ctx, f.demo.WorkspaceID, f.demo.RLSReportID, opts)
		require.NoError(b, err)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if _, err := f.replicas[0].Report(ctx, f.demo.WorkspaceID, f.demo.RLSReportID, opts); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("shared-store", func(b *testing.B) {
		// The replica keeps one entry and is asked for two identities in
		// turn: every view misses its own cache and hits Redis.
		f := newFleet(b, 1, redisAddr, newKey(b))
		users := []*powerbi.EmbedOptions{rls("a@contoso.com"), rls("b@contoso.com")}
		for _, o := range users {
			_, err := f.replicas[0].Report(ctx, f.demo.WorkspaceID, f.demo.RLSReportID, o)
			require.NoError(b, err)
		}
		rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
		b.Cleanup(func() { rdb.Close() })
		store := storeOf(b, f, rdb)
		small := replicaWith(b, f, store, 1)
		for _, o := range users {
			_, err := small.Report(ctx, f.demo.WorkspaceID, f.demo.RLSReportID, o)
			require.NoError(b, err)
		}
		generated := f.generated()
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if _, err := small.Report(ctx, f.demo.WorkspaceID, f.demo.RLSReportID, users[i%2]); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if f.generated() != generated {
			b.Fatalf("%d GenerateToken during the run: not store hits", f.generated()-generated)
		}
	})
}

// fleetKey is the key of the fleets storeOf builds.
var fleetKey = make([]byte, 32)

func storeOf(b *testing.B, _ *fleet, rdb *redis.Client) *redisstore.Store {
	s, err := redisstore.New(rdb, &redisstore.Options{Key: fleetKey})
	require.NoError(b, err)
	return s
}

func replicaWith(b *testing.B, f *fleet, store powerbi.EmbedStore, entries int) *powerbi.EmbedCache {
	auth, err := powerbi.NewClientSecretAuthenticator(f.demo.TenantID, f.demo.ClientID, f.demo.ClientSecret, f.fake.AuthenticatorOptions())
	require.NoError(b, err)
	client, err := f.fake.NewClient(auth)
	require.NoError(b, err)
	cache, err := powerbi.NewEmbedCache(client, &powerbi.EmbedCacheOptions{Store: store, MaxEntries: entries})
	require.NoError(b, err)
	return cache
}

// BenchmarkFleetHour counts the GenerateToken calls of R replicas serving V
// viewers each, every viewer one page view a minute for an hour of the
// fake's time, the viewers spread over 10 RLS identities: with a shared
// store and without one. The metric is the count; ns/op is one simulated
// hour.
func BenchmarkFleetHour(b *testing.B) {
	const identities = 10
	for _, tc := range []struct{ replicas, viewers int }{{4, 100}, {16, 100}} {
		for _, shared := range []bool{false, true} {
			b.Run(fmt.Sprintf("replicas=%d/viewers=%d/store=%t", tc.replicas, tc.viewers, shared), func(b *testing.B) {
				var calls int
				for range b.N {
					calls = fleetHour(b, tc.replicas, tc.viewers, identities, shared)
				}
				b.ReportMetric(float64(calls), "GenerateToken/hour")
				b.ReportMetric(float64(tc.replicas*tc.viewers*60)/float64(calls), "views/GenerateToken")
			})
		}
	}
}

func fleetHour(b *testing.B, replicas, viewers, identities int, shared bool) int {
	b.Helper()
	f := newFleet(b, 0, redisAddr, nil)
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	require.NoError(b, rdb.FlushDB(context.Background()).Err())
	var caches []*powerbi.EmbedCache
	for range replicas {
		var store powerbi.EmbedStore
		if shared {
			store = storeOf(b, f, rdb)
		}
		caches = append(caches, replicaWith(b, f, store, 0))
	}
	f.replicas = caches
	for minute := 0; minute < 60; minute++ {
		failed, _ := f.view(b, viewers, func(_, viewer int) string { return fmt.Sprintf("user-%d@contoso.com", viewer%identities) })
		if failed > 0 {
			b.Fatalf("%d page views failed", failed)
		}
		f.fake.Advance(time.Minute)
	}
	time.Sleep(100 * time.Millisecond) // refreshes started in the last minute land
	return f.generated()
}
