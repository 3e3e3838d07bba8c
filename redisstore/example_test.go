package redisstore_test

import (
	"context"
	"fmt"
	"log"

	"github.com/redis/go-redis/v9"

	"github.com/gopowerbi/powerbi"
	"github.com/gopowerbi/powerbi/powerbitest"
	"github.com/gopowerbi/powerbi/redisstore"
)

// Two replicas of a service share embed tokens through Redis: the second
// replica's page view is served the token the first one generated.
func Example() {
	fake := powerbitest.NewServer() // the Power BI service, in memory
	defer fake.Close()
	demo := fake.SeedDemo()

	key := make([]byte, 32) // in production: 32 random bytes from your secret store, the same on every replica
	replica := func() *powerbi.EmbedCache {
		auth, err := powerbi.NewClientSecretAuthenticator(demo.TenantID, demo.ClientID, demo.ClientSecret, fake.AuthenticatorOptions())
		if err != nil {
			log.Fatal(err)
		}
		client, err := fake.NewClient(auth)
		if err != nil {
			log.Fatal(err)
		}
		rdb := redis.NewClient(&redis.Options{Addr: redisAddr}) // or redis.NewUniversalClient for Cluster and Sentinel
		store, err := redisstore.New(rdb, &redisstore.Options{Key: key})
		if err != nil {
			log.Fatal(err)
		}
		cache, err := powerbi.NewEmbedCache(client, &powerbi.EmbedCacheOptions{Store: store})
		if err != nil {
			log.Fatal(err)
		}
		return cache
	}
	a, b := replica(), replica()

	ctx := context.Background()
	first, err := a.Report(ctx, demo.WorkspaceID, demo.ReportID, nil)
	if err != nil {
		log.Fatal(err)
	}
	second, err := b.Report(ctx, demo.WorkspaceID, demo.ReportID, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("same token on both replicas:", first.TokenID == second.TokenID)
	fmt.Println("GenerateToken calls:", fake.CountRequests("/GenerateToken"))
	// Output:
	// same token on both replicas: true
	// GenerateToken calls: 1
}
