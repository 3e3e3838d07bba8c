package powerbi

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const datasetID = "cfafbeb1-8037-4d0c-896e-a46fb27ff229"

// embedAPI answers the calls behind EmbedCache.Report on an httpmock
// transport: the report, its dataset (with or without row-level security) and
// V2 GenerateToken, whose tokens live an hour on clk. It records each
// GenerateToken's profile header and body.
type embedAPI struct {
	clk *clock
	rls bool

	mu        sync.Mutex
	generated []generated
	hold      chan struct{} // when set, the report lookup waits for it
}

type generated struct {
	profile, body string
}

func newEmbedAPI(t *testing.T, opts ...Option) (*Client, *embedAPI) {
	t.Helper()
	api := &embedAPI{clk: &clock{t: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}}
	c, mt := mockClient(t, nil, append([]Option{WithClock(api.clk.now)}, opts...)...)
	mt.RegisterResponder("GET", "=~/reports/"+reportID+"$", func(r *http.Request) (*http.Response, error) {
		api.mu.Lock()
		hold := api.hold
		api.mu.Unlock()
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
				return nil, r.Context().Err()
			}
		}
		return httpmock.NewStringResponse(200, `{"id":"`+reportID+`","datasetId":"`+datasetID+`","embedUrl":"https://app.powerbi.com/reportEmbed?reportId=`+reportID+`"}`), nil
	})
	mt.RegisterResponder("GET", "=~/datasets/"+datasetID+"$", func(*http.Request) (*http.Response, error) {
		return httpmock.NewStringResponse(200, fmt.Sprintf(`{"id":%q,"isEffectiveIdentityRequired":%t}`, datasetID, api.rls)), nil
	})
	mt.RegisterResponder("POST", "=~/GenerateToken$", func(r *http.Request) (*http.Response, error) {
		b, _ := io.ReadAll(r.Body)
		api.mu.Lock()
		api.generated = append(api.generated, generated{profile: r.Header.Get("X-PowerBI-Profile-Id"), body: string(b)})
		n := len(api.generated)
		api.mu.Unlock()
		return httpmock.NewStringResponse(200, fmt.Sprintf(`{"token":"embed-%d","tokenId":"00000000-0000-0000-0000-%012d","expiration":%q}`,
			n, n, api.clk.now().Add(time.Hour).Format(time.RFC3339))), nil
	})
	return c, api
}

func (a *embedAPI) tokens() []generated {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]generated(nil), a.generated...)
}

// Two service principal profiles never share an embed token: the profile in
// effect, the context's or the Client's, is part of the key.
func TestEmbedCacheKeysProfilesApart(t *testing.T) {
	const profileA, profileB, profileC = "a1a1a1a1-0000-4000-8000-000000000001", "b2b2b2b2-0000-4000-8000-000000000002", "c3c3c3c3-0000-4000-8000-000000000003"
	c, api := newEmbedAPI(t, WithProfileID(profileC))
	cache, err := NewEmbedCache(c, nil)
	require.NoError(t, err)
	ctx := context.Background()
	confA, err := cache.Report(ContextWithProfileID(ctx, profileA), groupID, reportID, nil)
	require.NoError(t, err)
	confB, err := cache.Report(ContextWithProfileID(ctx, profileB), groupID, reportID, nil)
	require.NoError(t, err)
	confC, err := cache.Report(ctx, groupID, reportID, nil)
	require.NoError(t, err)
	confNone, err := cache.Report(ContextWithProfileID(ctx, ""), groupID, reportID, nil)
	require.NoError(t, err)
	again, err := cache.Report(ContextWithProfileID(ctx, profileA), groupID, reportID, nil)
	require.NoError(t, err)

	assert.Equal(t, confA.TokenID, again.TokenID, "the same profile shares its token")
	ids := map[string]bool{confA.TokenID: true, confB.TokenID: true, confC.TokenID: true, confNone.TokenID: true}
	assert.Len(t, ids, 4, "four profiles in effect, four tokens")
	var profiles []string
	for _, g := range api.tokens() {
		profiles = append(profiles, g.profile)
	}
	assert.Equal(t, []string{profileA, profileB, profileC, ""}, profiles, "each token generated as its own profile")
}

// The cache owns a copy of the options: a caller that gives up and reuses its
// EmbedOptions for the next user cannot change what the detached refresh
// generates, nor under which key it is stored.
func TestEmbedCacheCopiesTheOptions(t *testing.T) {
	c, api := newEmbedAPI(t)
	api.rls = true
	cache, err := NewEmbedCache(c, nil)
	require.NoError(t, err)
	hold := make(chan struct{})
	api.mu.Lock()
	api.hold = hold
	api.mu.Unlock()

	opts := &EmbedOptions{Identities: []EffectiveIdentity{{Username: "ann@contoso.com", Roles: []string{"West"}}}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	_, err = cache.Report(ctx, groupID, reportID, opts)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded, "the handler gives up; the refresh goes on detached")

	// The handler reuses its options for the next user while the refresh runs.
	opts.Identities[0].Username = "bob@contoso.com"
	opts.Identities[0].Roles[0] = "East"
	close(hold)

	ann, err := cache.Report(context.Background(), groupID, reportID,
		&EmbedOptions{Identities: []EffectiveIdentity{{Username: "ann@contoso.com", Roles: []string{"West"}}}})
	require.NoError(t, err)
	gen := api.tokens()
	require.NotEmpty(t, gen)
	assert.Contains(t, gen[0].body, "ann@contoso.com", "the refresh generated for the options as they were passed")
	assert.NotContains(t, gen[0].body, "bob@contoso.com")
	assert.Contains(t, gen[0].body, "West")
	assert.Equal(t, "embed-1", ann.AccessToken, "ann's next page view gets ann's token")
	for _, g := range gen[1:] {
		assert.NotContains(t, g.body, "ann@contoso.com", "ann's token was generated once")
	}
}

// Expired entries do not stay in memory, and keys are keyed hashes: the same
// request hashes differently in two caches, and no key is the plain hash of
// the options, which a heap dump could match against a guessed username.
func TestEmbedCacheDropsExpiredEntriesAndKeysWithASecret(t *testing.T) {
	c, api := newEmbedAPI(t)
	api.rls = true
	opts := &EmbedOptions{Identities: []EffectiveIdentity{{Username: "ann@contoso.com", Roles: []string{"West"}}}}
	plain, err := json.Marshal(opts)
	require.NoError(t, err)
	plainSum := sha256.Sum256(plain)

	keys := func(ec *EmbedCache) []string {
		ec.mu.Lock()
		defer ec.mu.Unlock()
		var out []string
		for k := range ec.entries {
			out = append(out, k)
		}
		return out
	}
	var seen []string
	for range 2 {
		cache, err := NewEmbedCache(c, nil)
		require.NoError(t, err)
		_, err = cache.Report(context.Background(), groupID, reportID, opts)
		require.NoError(t, err)
		k := keys(cache)
		require.Len(t, k, 1)
		assert.NotContains(t, k[0], string(plainSum[:]), "the key is not the plain hash of the options")
		assert.NotContains(t, k[0], "ann@contoso.com")
		seen = append(seen, k[0])

		api.clk.add(61 * time.Minute) // the token has expired
		assert.Zero(t, cache.Len(), "an expired entry is dropped")
		assert.Empty(t, keys(cache))
	}
	assert.NotEqual(t, seen[0], seen[1], "each cache keys with its own secret")
}

// Inside its refresh margin a cached config is served at once while one
// refresh runs behind: a page view with a short deadline gets the token that
// still has minutes left.
func TestEmbedCacheServesValidConfigWhileRefreshing(t *testing.T) {
	c, api := newEmbedAPI(t)
	cache, err := NewEmbedCache(c, &EmbedCacheOptions{RefreshMargin: 10 * time.Minute})
	require.NoError(t, err)
	first, err := cache.Report(context.Background(), groupID, reportID, nil)
	require.NoError(t, err)

	hold := make(chan struct{})
	var once sync.Once
	defer once.Do(func() { close(hold) })
	api.mu.Lock()
	api.hold = hold
	api.mu.Unlock()
	api.clk.add(55 * time.Minute) // 5 minutes left, inside the 10-minute margin
	for range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		conf, err := cache.Report(ctx, groupID, reportID, nil)
		cancel()
		require.NoError(t, err)
		assert.Equal(t, first.TokenID, conf.TokenID)
	}
	once.Do(func() { close(hold) })
	require.Eventually(t, func() bool {
		conf, err := cache.Report(context.Background(), groupID, reportID, nil)
		return err == nil && conf.TokenID != first.TokenID
	}, 5*time.Second, time.Millisecond)
	assert.Len(t, api.tokens(), 2, "one refresh")
	assert.True(t, strings.HasPrefix(api.tokens()[1].body, "{"))
}
