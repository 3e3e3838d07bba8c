package powerbi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopowerbi/powerbi"
	"github.com/gopowerbi/powerbi/powerbitest"
)

// issued checks that conf carries a token the fake issued for it, and returns the fake's record.
func (e *e2e) issued(t *testing.T, conf *powerbi.EmbedConfig) powerbitest.EmbedTokenInfo {
	t.Helper()
	info, ok := e.srv.LookupEmbedToken(conf.AccessToken)
	require.True(t, ok, "the config's token was issued by the fake")
	assert.Equal(t, info.TokenID, conf.TokenID)
	assert.True(t, info.Expiration.Equal(conf.Expiration))
	assert.Equal(t, powerbi.TokenTypeEmbed, conf.TokenType)
	return info
}

func TestReportEmbedConfig(t *testing.T) {
	e := newE2E(t)
	d := e.demo
	c := e.demoClient(t)
	ctx := context.Background()
	report, err := c.Reports.GetReportInGroup(ctx, d.WorkspaceID, d.ReportID)
	require.NoError(t, err)

	conf, err := c.ReportEmbedConfig(ctx, d.WorkspaceID, d.ReportID, nil)
	require.NoError(t, err)
	info := e.issued(t, conf)
	assert.Equal(t, "multi", info.Kind, "a Power BI report gets a V2 token")
	assert.Equal(t, []string{d.ReportID}, info.ReportIDs)
	assert.Equal(t, []string{d.DatasetID}, info.DatasetIDs)
	assert.Equal(t, powerbi.TokenAccessLevelView, info.AccessLevel)
	assert.Equal(t, powerbi.EmbedTypeReport, conf.Type)
	assert.Equal(t, d.ReportID, conf.ID)
	assert.Equal(t, report.EmbedURL, conf.EmbedURL, "the REST API's embedUrl, unchanged")

	// The JSON is what powerbi.embed takes, and nothing else.
	b, err := json.Marshal(conf)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	assert.ElementsMatch(t, []string{"type", "id", "embedUrl", "accessToken", "tokenType", "tokenId", "expiration"}, keys(m))
	assert.EqualValues(t, 1, m["tokenType"])
	assert.Equal(t, "report", m["type"])
	for _, s := range []string{conf.String(), fmt.Sprintf("%v %+v %#v", *conf, conf, conf)} {
		assert.NotContains(t, s, conf.AccessToken, "printing a config hides its token")
	}
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestReportEmbedConfigEditAndSaveAs(t *testing.T) {
	e := newE2E(t)
	d := e.demo
	c := e.demoClient(t)
	conf, err := c.ReportEmbedConfig(context.Background(), d.WorkspaceID, d.ReportID, &powerbi.EmbedOptions{AllowEdit: true, AllowSaveAs: true, LifetimeInMinutes: 15})
	require.NoError(t, err)
	info := e.issued(t, conf)
	assert.Equal(t, powerbi.TokenAccessLevelEdit, info.AccessLevel)
	assert.Equal(t, powerbi.PermissionsReadWrite|powerbi.PermissionsCopy, conf.Permissions)
	assert.Equal(t, 1, conf.ViewMode, "opens in edit mode")
	assert.Equal(t, e.srv.Now().Add(15*time.Minute), conf.Expiration)
	var body string
	for _, r := range e.srv.Requests() {
		if r.Path == "/v1.0/myorg/GenerateToken" {
			body = r.Body
		}
	}
	assert.JSONEq(t, fmt.Sprintf(`{"reports":[{"id":%q,"allowEdit":true}],"datasets":[{"id":%q}],"targetWorkspaces":[{"id":%q}],"lifetimeInMinutes":15}`,
		d.ReportID, d.DatasetID, d.WorkspaceID), body)
}

func TestReportEmbedConfigRowLevelSecurity(t *testing.T) {
	e := newE2E(t)
	d := e.demo
	c := e.demoClient(t)
	ctx := context.Background()

	// An identity without datasets applies to the report's dataset.
	conf, err := c.ReportEmbedConfig(ctx, d.WorkspaceID, d.RLSReportID, &powerbi.EmbedOptions{
		Identities: []powerbi.EffectiveIdentity{{Username: "ann@contoso.com", Roles: []string{"West"}}}})
	require.NoError(t, err)
	info := e.issued(t, conf)
	assert.Equal(t, []powerbi.EffectiveIdentity{{Username: "ann@contoso.com", Roles: []string{"West"}, Datasets: []string{d.RLSDatasetID}}}, info.Identities)

	tests := []struct {
		name     string
		reportID string
		ids      []powerbi.EffectiveIdentity
		reason   string
	}{
		{"identity required", d.RLSReportID, nil, "uses row-level security"},
		{"roles required", d.RLSReportID, []powerbi.EffectiveIdentity{{Username: "ann@contoso.com"}}, "requires roles"},
		{"identity refused", d.ReportID, []powerbi.EffectiveIdentity{{Username: "ann@contoso.com", Roles: []string{"West"}}}, "has no row-level security"},
		{"invalid identity", d.RLSReportID, []powerbi.EffectiveIdentity{{Username: "ann smith", Roles: []string{"West"}}}, "must not contain spaces"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.srv.ResetRequests()
			_, err := c.ReportEmbedConfig(ctx, d.WorkspaceID, tt.reportID, &powerbi.EmbedOptions{Identities: tt.ids})
			var ve *powerbi.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.ErrorIs(t, err, powerbi.ErrInvalidArgument)
			assert.Contains(t, ve.Reason, tt.reason)
			assert.Zero(t, e.srv.CountRequests("/GenerateToken"), "refused before GenerateToken")
		})
	}
}

func TestReportEmbedConfigPaginated(t *testing.T) {
	e := newE2E(t)
	d := e.demo
	c := e.demoClient(t)
	conf, err := c.ReportEmbedConfig(context.Background(), d.WorkspaceID, d.PaginatedReportID, nil)
	require.NoError(t, err)
	info := e.issued(t, conf)
	assert.Equal(t, "report", info.Kind, "a paginated report gets a V1 token")
	assert.Contains(t, conf.EmbedURL, "/rdlEmbed?")

	_, err = c.ReportEmbedConfig(context.Background(), d.WorkspaceID, d.PaginatedReportID, &powerbi.EmbedOptions{AllowEdit: true})
	assert.ErrorIs(t, err, powerbi.ErrInvalidArgument)
}

func TestDashboardTileAndQnAEmbedConfigs(t *testing.T) {
	e := newE2E(t)
	d := e.demo
	c := e.demoClient(t)
	ctx := context.Background()

	dash, err := c.DashboardEmbedConfig(ctx, d.WorkspaceID, d.DashboardID, nil)
	require.NoError(t, err)
	assert.Equal(t, "dashboard", e.issued(t, dash).Kind)
	assert.Equal(t, powerbi.EmbedTypeDashboard, dash.Type)
	assert.Contains(t, dash.EmbedURL, "/dashboardEmbed?dashboardId="+d.DashboardID)

	tile, err := c.TileEmbedConfig(ctx, d.WorkspaceID, d.DashboardID, d.TileID, nil)
	require.NoError(t, err)
	info := e.issued(t, tile)
	assert.Equal(t, "tile", info.Kind)
	assert.Equal(t, d.TileID, info.TileID)
	assert.Equal(t, powerbi.EmbedTypeTile, tile.Type)
	assert.Equal(t, d.DashboardID, tile.DashboardID, "powerbi-client needs dashboardId for a tile")
	b, _ := json.Marshal(tile)
	assert.Contains(t, string(b), `"dashboardId":"`+d.DashboardID+`"`)

	qna, err := c.QnAEmbedConfig(ctx, d.WorkspaceID, d.RLSDatasetID, &powerbi.EmbedOptions{
		Identities: []powerbi.EffectiveIdentity{{Username: "ann@contoso.com", Roles: []string{"West"}}}})
	require.NoError(t, err)
	assert.Equal(t, "dataset", e.issued(t, qna).Kind)
	assert.Equal(t, powerbi.EmbedTypeQnA, qna.Type)
	assert.Equal(t, []string{d.RLSDatasetID}, qna.DatasetIDs)
	assert.Contains(t, qna.EmbedURL, "/qnaEmbed?datasetId="+d.RLSDatasetID)

	_, err = c.QnAEmbedConfig(ctx, d.WorkspaceID, d.RLSDatasetID, nil)
	assert.ErrorIs(t, err, powerbi.ErrInvalidArgument, "Q&A on an RLS dataset needs an identity")
	_, err = c.DashboardEmbedConfig(ctx, d.WorkspaceID, d.DashboardID, &powerbi.EmbedOptions{AllowEdit: true})
	assert.ErrorIs(t, err, powerbi.ErrInvalidArgument)
	_, err = c.TileEmbedConfig(ctx, d.WorkspaceID, d.DashboardID, powerbitest.NewGUID(), nil)
	assert.ErrorIs(t, err, powerbi.ErrNotFound)
}

// newCache returns a cache on the fake's clock, with access tokens that
// outlive every embed token of the test.
func newCache(t *testing.T, opts powerbi.EmbedCacheOptions) (*e2e, *powerbi.EmbedCache) {
	t.Helper()
	e := newE2E(t, powerbitest.WithTokenLifetime(24*time.Hour))
	opts.Now = e.srv.Now
	cache, err := powerbi.NewEmbedCache(e.demoClient(t), &opts)
	require.NoError(t, err)
	return e, cache
}

func TestEmbedCacheSharesOneToken(t *testing.T) {
	e, cache := newCache(t, powerbi.EmbedCacheOptions{RefreshMargin: 10 * time.Minute})
	d := e.demo
	opts := &powerbi.EmbedOptions{LifetimeInMinutes: 60}
	views := func(n int) []string {
		tokens := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				conf, err := cache.Report(context.Background(), d.WorkspaceID, d.ReportID, opts)
				if assert.NoError(t, err) {
					tokens[i] = conf.AccessToken
				}
			}()
		}
		wg.Wait()
		return tokens
	}

	first := views(1000)
	assert.Equal(t, 1, e.srv.CountRequests("/GenerateToken"), "1,000 concurrent page views, one GenerateToken")
	for _, tok := range first {
		assert.Equal(t, first[0], tok)
	}

	e.srv.Advance(49 * time.Minute) // 11 minutes left: fresh
	assert.Equal(t, first[0], views(100)[0])
	assert.Equal(t, 1, e.srv.CountRequests("/GenerateToken"))

	// 9 minutes left: inside the margin. The still-valid token is served while
	// one refresh runs behind the page views; then all get the new one.
	e.srv.Advance(2 * time.Minute)
	var second string
	for _, tok := range views(100) {
		if tok != first[0] {
			second = tok
		}
	}
	require.Eventually(t, func() bool { second = views(1)[0]; return second != first[0] }, 5*time.Second, time.Millisecond)
	for _, tok := range views(100) {
		assert.Equal(t, second, tok)
	}
	assert.Equal(t, 2, e.srv.CountRequests("/GenerateToken"), "exactly one refresh")
}

func TestEmbedCacheKeysIdentitiesApart(t *testing.T) {
	e, cache := newCache(t, powerbi.EmbedCacheOptions{})
	d := e.demo
	ctx := context.Background()
	as := func(user string) *powerbi.EmbedOptions {
		return &powerbi.EmbedOptions{Identities: []powerbi.EffectiveIdentity{{Username: user, Roles: []string{"West"}}}}
	}
	ann1, err := cache.Report(ctx, d.WorkspaceID, d.RLSReportID, as("ann@contoso.com"))
	require.NoError(t, err)
	bob, err := cache.Report(ctx, d.WorkspaceID, d.RLSReportID, as("bob@contoso.com"))
	require.NoError(t, err)
	ann2, err := cache.Report(ctx, d.WorkspaceID, d.RLSReportID, as("ann@contoso.com"))
	require.NoError(t, err)
	assert.NotEqual(t, ann1.AccessToken, bob.AccessToken, "two identities, two tokens")
	assert.Equal(t, ann1.AccessToken, ann2.AccessToken)
	assert.Equal(t, 2, e.srv.CountRequests("/GenerateToken"))
	assert.Equal(t, "bob@contoso.com", e.issued(t, bob).Identities[0].Username)
	assert.Equal(t, 2, cache.Len())
}

func TestEmbedCacheIsBounded(t *testing.T) {
	e, cache := newCache(t, powerbi.EmbedCacheOptions{MaxEntries: 2})
	d := e.demo
	ctx := context.Background()
	get := func(lifetime int) string {
		conf, err := cache.Report(ctx, d.WorkspaceID, d.ReportID, &powerbi.EmbedOptions{LifetimeInMinutes: lifetime})
		require.NoError(t, err)
		return conf.AccessToken
	}
	a := get(50)
	get(51)
	assert.Equal(t, a, get(50), "a hit; 50 is now the most recently used")
	get(52) // evicts 51, the least recently used
	assert.Equal(t, 2, cache.Len())
	assert.Equal(t, 3, e.srv.CountRequests("/GenerateToken"))
	assert.Equal(t, a, get(50), "kept")
	get(51)
	assert.Equal(t, 4, e.srv.CountRequests("/GenerateToken"), "51 was evicted and is generated again")
	assert.Equal(t, 2, cache.Len())
}

func TestEmbedCacheKeepsAValidTokenWhenRefreshFails(t *testing.T) {
	e, cache := newCache(t, powerbi.EmbedCacheOptions{RefreshMargin: 10 * time.Minute})
	d := e.demo
	ctx := context.Background()
	opts := &powerbi.EmbedOptions{LifetimeInMinutes: 60}
	first, err := cache.Report(ctx, d.WorkspaceID, d.ReportID, opts)
	require.NoError(t, err)

	e.srv.Advance(55 * time.Minute) // 5 minutes left: refresh due
	e.srv.InjectFault(powerbitest.Fault{PathContains: "/GenerateToken", Status: 503, Times: 100})
	e.srv.ResetRequests()
	got, err := cache.Report(ctx, d.WorkspaceID, d.ReportID, opts)
	require.NoError(t, err, "the still-valid token is served while the refresh runs behind")
	assert.Equal(t, first.AccessToken, got.AccessToken)
	// The refresh fails behind the caller: one refresh, retried by the Client.
	require.Eventually(t, func() bool { return e.srv.CountRequests("/GenerateToken") == 5 }, 5*time.Second, time.Millisecond)
	attempts := 5

	got, err = cache.Report(ctx, d.WorkspaceID, d.ReportID, opts)
	require.NoError(t, err)
	assert.Equal(t, first.AccessToken, got.AccessToken)
	assert.Equal(t, attempts, e.srv.CountRequests("/GenerateToken"), "no new attempt within 30 s of a failure")

	e.srv.Advance(6 * time.Minute) // expired, and the service still fails
	_, err = cache.Report(ctx, d.WorkspaceID, d.ReportID, opts)
	var apiErr *powerbi.APIError
	require.ErrorAs(t, err, &apiErr, "an expired token is never served")
	assert.Equal(t, 503, apiErr.StatusCode)
}

func TestEmbedCacheRejectsBadOptions(t *testing.T) {
	e := newE2E(t)
	c := e.demoClient(t)
	_, err := powerbi.NewEmbedCache(c, &powerbi.EmbedCacheOptions{RefreshMargin: -time.Second})
	assert.ErrorIs(t, err, powerbi.ErrInvalidArgument)
	_, err = powerbi.NewEmbedCache(nil, nil)
	assert.ErrorIs(t, err, powerbi.ErrInvalidArgument)
	cache, err := powerbi.NewEmbedCache(c, nil)
	require.NoError(t, err)
	_, err = cache.Report(context.Background(), e.demo.WorkspaceID, "nope", nil)
	assert.ErrorIs(t, err, powerbi.ErrInvalidArgument)
	assert.Zero(t, cache.Len(), "a failure leaves no entry")
	assert.False(t, strings.Contains(fmt.Sprint(err), "Bearer"))
}

// BenchmarkEmbedCacheHit is a page view served from the cache: no request.
//
//	go test -run '^$' -bench EmbedCacheHit -benchmem .
func BenchmarkEmbedCacheHit(b *testing.B) {
	srv := powerbitest.NewServer(powerbitest.WithTokenLifetime(24 * time.Hour))
	defer srv.Close()
	demo := srv.SeedDemo()
	auth, err := demo.Authenticator(srv)
	require.NoError(b, err)
	client, err := srv.NewClient(auth)
	require.NoError(b, err)
	cache, err := powerbi.NewEmbedCache(client, &powerbi.EmbedCacheOptions{Now: srv.Now})
	require.NoError(b, err)
	ctx := context.Background()
	rls := &powerbi.EmbedOptions{Identities: []powerbi.EffectiveIdentity{{Username: "ann@contoso.com", Roles: []string{"West"}}}}
	for _, bc := range []struct {
		name     string
		reportID string
		opts     *powerbi.EmbedOptions
	}{{"no-options", demo.ReportID, nil}, {"rls-identity", demo.RLSReportID, rls}} {
		_, err := cache.Report(ctx, demo.WorkspaceID, bc.reportID, bc.opts)
		require.NoError(b, err)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cache.Report(ctx, demo.WorkspaceID, bc.reportID, bc.opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	if n := srv.CountRequests("/GenerateToken"); n != 2 {
		b.Fatalf("%d GenerateToken calls; the benchmark must measure hits only", n)
	}
}
