package powerbi_test

// End-to-end tests of the SDK against powerbitest: real TLS, real token
// requests, the fake's rules. Each flow is the embedding walkthrough of docs/embedding.md: authenticate
// → list groups → list reports → GenerateToken.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopowerbi/powerbi"
	"github.com/gopowerbi/powerbi/powerbitest"
)

// e2e is a fake seeded with the demo workspace.
type e2e struct {
	srv  *powerbitest.Server
	demo powerbitest.Demo
}

func newE2E(t *testing.T, opts ...powerbitest.Option) *e2e {
	t.Helper()
	srv := powerbitest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return &e2e{srv: srv, demo: srv.SeedDemo()}
}

func (e *e2e) client(t *testing.T, auth powerbi.Authenticator, err error, opts ...powerbi.Option) *powerbi.Client {
	t.Helper()
	require.NoError(t, err)
	c, err := e.srv.NewClient(auth, opts...)
	require.NoError(t, err)
	return c
}

func (e *e2e) demoClient(t *testing.T, opts ...powerbi.Option) *powerbi.Client {
	t.Helper()
	auth, err := e.demo.Authenticator(e.srv)
	return e.client(t, auth, err, opts...)
}

func TestEndToEndEmbedFlow(t *testing.T) {
	e := newE2E(t)
	d := e.demo
	cert, _, pemData, err := powerbitest.NewCertificate()
	require.NoError(t, err)
	certClientID := powerbitest.NewGUID()
	e.srv.AddServicePrincipalCertificate(d.TenantID, certClientID, cert)
	e.srv.AddMember(d.WorkspaceID, certClientID)
	userClientID := powerbitest.NewGUID()
	e.srv.AddUser(d.TenantID, userClientID, "embed.admin@contoso.com", "correct horse battery staple")
	e.srv.AddMember(d.WorkspaceID, "embed.admin@contoso.com")

	authenticators := map[string]func() (powerbi.Authenticator, error){
		"client secret": func() (powerbi.Authenticator, error) {
			return powerbi.NewClientSecretAuthenticator(d.TenantID, d.ClientID, d.ClientSecret, e.srv.AuthenticatorOptions())
		},
		"certificate": func() (powerbi.Authenticator, error) {
			certs, key, err := powerbi.ParseCertificates(pemData)
			if err != nil {
				return nil, err
			}
			return powerbi.NewClientCertificateAuthenticator(d.TenantID, certClientID, certs, key, e.srv.AuthenticatorOptions())
		},
		"password": func() (powerbi.Authenticator, error) {
			return powerbi.NewPasswordAuthenticator(d.TenantID, userClientID, "embed.admin@contoso.com", "correct horse battery staple", e.srv.AuthenticatorOptions())
		},
	}
	for name, newAuth := range authenticators {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			auth, err := newAuth()
			c := e.client(t, auth, err)
			e.srv.ResetRequests()

			groups, err := c.Groups.GetGroups(ctx, nil)
			require.NoError(t, err)
			require.Len(t, groups, 1)
			assert.Equal(t, d.WorkspaceID, groups[0].ID)
			assert.True(t, groups[0].IsOnDedicatedCapacity)

			reports, err := c.Reports.GetReportsInGroup(ctx, d.WorkspaceID)
			require.NoError(t, err)
			ids := make([]string, len(reports))
			for i, r := range reports {
				ids[i] = r.ID
			}
			assert.Equal(t, []string{d.ReportID, d.RLSReportID, d.PaginatedReportID}, ids)
			assert.Equal(t, d.DatasetID, reports[0].DatasetID)

			// V1 without RLS, V1 with RLS, V2 with both, and a paginated report.
			rls := powerbi.EffectiveIdentity{Username: "ann@contoso.com", Roles: []string{"West"}, Datasets: []string{d.RLSDatasetID}}
			tokens := map[string]func() (*powerbi.EmbedToken, error){
				"V1": func() (*powerbi.EmbedToken, error) {
					return c.Reports.GenerateTokenInGroup(ctx, d.WorkspaceID, d.ReportID, powerbi.GenerateTokenRequest{AccessLevel: powerbi.TokenAccessLevelView})
				},
				"V1 RLS": func() (*powerbi.EmbedToken, error) {
					return c.Reports.GenerateTokenInGroup(ctx, d.WorkspaceID, d.RLSReportID, powerbi.GenerateTokenRequest{Identities: []powerbi.EffectiveIdentity{rls}})
				},
				"V2 RLS": func() (*powerbi.EmbedToken, error) {
					return c.EmbedToken.GenerateToken(ctx, powerbi.GenerateTokenRequestV2{
						Reports:    []powerbi.GenerateTokenRequestV2Report{{ID: d.ReportID}, {ID: d.RLSReportID}},
						Datasets:   []powerbi.GenerateTokenRequestV2Dataset{{ID: d.DatasetID}, {ID: d.RLSDatasetID}},
						Identities: []powerbi.EffectiveIdentity{rls},
					})
				},
				"paginated": func() (*powerbi.EmbedToken, error) {
					return c.Reports.GenerateTokenInGroup(ctx, d.WorkspaceID, d.PaginatedReportID, powerbi.GenerateTokenRequest{})
				},
				"tile": func() (*powerbi.EmbedToken, error) {
					return c.Tiles.GenerateTokenInGroup(ctx, d.WorkspaceID, d.DashboardID, d.TileID, powerbi.GenerateTokenRequest{})
				},
			}
			for kind, generate := range tokens {
				tok, err := generate()
				require.NoError(t, err, kind)
				info, ok := e.srv.LookupEmbedToken(tok.Token)
				require.True(t, ok, "%s: the fake issued this token", kind)
				assert.Equal(t, info.TokenID, tok.TokenID, kind)
				assert.True(t, tok.Expiration.Equal(info.Expiration), kind)
				assert.True(t, tok.Expiration.After(e.srv.Now().Add(30*time.Minute)), "%s: the access token had at least the minimum lifetime left", kind)
				if kind == "V1 RLS" || kind == "V2 RLS" {
					assert.Equal(t, []powerbi.EffectiveIdentity{rls}, info.Identities, kind)
				}
			}
			assert.Equal(t, 1, e.srv.CountRequests("/oauth2/"), "one access token served the whole flow")
		})
	}
}

// The fake's clock passes the access token's expiry: the API answers 403
// TokenExpired, and the Client drops the token, gets a new one and replays.
func TestEndToEndTokenExpiryAndRefresh(t *testing.T) {
	e := newE2E(t, powerbitest.WithTokenLifetime(time.Hour))
	c := e.demoClient(t)
	ctx := context.Background()
	_, err := c.Reports.GetReportsInGroup(ctx, e.demo.WorkspaceID)
	require.NoError(t, err)
	require.Equal(t, 1, e.srv.CountRequests("/oauth2/"))

	// The Client runs on the fake's clock: it sees the token expire and
	// fetches a new one before it sends anything.
	e.srv.Advance(61 * time.Minute)
	tok, err := c.Reports.GenerateTokenInGroup(ctx, e.demo.WorkspaceID, e.demo.ReportID, powerbi.GenerateTokenRequest{})
	require.NoError(t, err)
	assert.Equal(t, 2, e.srv.CountRequests("/oauth2/"))
	assert.Equal(t, 1, e.srv.CountRequests("/GenerateToken"), "the expired token was never sent")
	assert.True(t, tok.Expiration.After(e.srv.Now()), "the embed token is made with the new access token")

	// A token the API refuses (401 InvalidToken with an empty body, 403
	// TokenExpired) is replaced once and the call replayed.
	invalid := http.Header{"X-Powerbi-Error-Info": {"InvalidToken"}}
	e.srv.InjectFault(powerbitest.Fault{PathContains: "/GenerateToken", Status: 401, Header: invalid})
	_, err = c.Reports.GenerateTokenInGroup(ctx, e.demo.WorkspaceID, e.demo.ReportID, powerbi.GenerateTokenRequest{})
	require.NoError(t, err)
	assert.Equal(t, 3, e.srv.CountRequests("/oauth2/"))
	e.srv.InjectFault(powerbitest.Fault{PathContains: "/GenerateToken", Status: 403, Body: `{"error":{"code":"TokenExpired"}}`})
	_, err = c.Reports.GenerateTokenInGroup(ctx, e.demo.WorkspaceID, e.demo.ReportID, powerbi.GenerateTokenRequest{})
	require.NoError(t, err)
	assert.Equal(t, 4, e.srv.CountRequests("/oauth2/"))

	// Refused twice: the replay happens once only, and the error says so.
	e.srv.InjectFault(powerbitest.Fault{PathContains: "/GenerateToken", Status: 401, Times: 2, Header: invalid})
	_, err = c.Reports.GenerateTokenInGroup(ctx, e.demo.WorkspaceID, e.demo.ReportID, powerbi.GenerateTokenRequest{})
	require.ErrorIs(t, err, powerbi.ErrUnauthorized)
	assert.Equal(t, 5, e.srv.CountRequests("/oauth2/"))
}

// An embed token never outlives the access token: a short-lived access token
// (shorter than the Client's minimum) is refreshed before GenerateToken.
func TestEndToEndEmbedTokenCappedByAccessToken(t *testing.T) {
	e := newE2E(t, powerbitest.WithTokenLifetime(20*time.Minute))
	c := e.demoClient(t)
	tok, err := c.Reports.GenerateTokenInGroup(context.Background(), e.demo.WorkspaceID, e.demo.ReportID, powerbi.GenerateTokenRequest{LifetimeInMinutes: 60})
	require.NoError(t, err)
	assert.Equal(t, e.srv.Now().Add(20*time.Minute), tok.Expiration, "capped by the access token, whatever lifetimeInMinutes asks")
}

func TestEndToEndErrorsCarryHints(t *testing.T) {
	e := newE2E(t)
	d := e.demo
	c := e.demoClient(t)
	ctx := context.Background()
	other := e.srv.AddWorkspace(powerbitest.Workspace{Name: "Finance"})

	tests := []struct {
		name   string
		call   func() error
		status int
		code   string
		hint   string
	}{
		{"RLS dataset, no identity", func() error {
			_, err := c.Reports.GenerateTokenInGroup(ctx, d.WorkspaceID, d.RLSReportID, powerbi.GenerateTokenRequest{})
			return err
		}, 400, "InvalidRequest", "send an identity with the dataset ID"},
		{"no RLS, an identity", func() error {
			_, err := c.Reports.GenerateTokenInGroup(ctx, d.WorkspaceID, d.ReportID, powerbi.GenerateTokenRequest{
				Identities: []powerbi.EffectiveIdentity{{Username: "ann@contoso.com", Datasets: []string{d.DatasetID}}}})
			return err
		}, 400, "InvalidRequest", "send no identities"},
		{"RLS roles missing", func() error {
			_, err := c.EmbedToken.GenerateToken(ctx, powerbi.GenerateTokenRequestV2{
				Reports: []powerbi.GenerateTokenRequestV2Report{{ID: d.RLSReportID}}, Datasets: []powerbi.GenerateTokenRequestV2Dataset{{ID: d.RLSDatasetID}},
				Identities: []powerbi.EffectiveIdentity{{Username: "ann@contoso.com", Datasets: []string{d.RLSDatasetID}}}})
			return err
		}, 400, "InvalidRequest", "role names"},
		{"not a member", func() error {
			_, err := c.Reports.GetReportsInGroup(ctx, other.ID)
			return err
		}, 401, "PowerBINotAuthorizedException", "Allow service principals to use Power BI APIs"},
		{"unknown report", func() error {
			_, err := c.Reports.GetReportInGroup(ctx, d.WorkspaceID, powerbitest.NewGUID())
			return err
		}, 404, "PowerBIEntityNotFound", "an ID from another workspace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var apiErr *powerbi.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.status, apiErr.StatusCode)
			assert.Equal(t, tt.code, apiErr.Code)
			assert.Contains(t, apiErr.Hint, tt.hint)
			assert.NotEmpty(t, apiErr.RequestID, "the fake's RequestId reaches the error")
			assert.Contains(t, err.Error(), apiErr.RequestID)
		})
	}
}

func TestEndToEndAuthErrors(t *testing.T) {
	e := newE2E(t)
	d := e.demo
	tests := []struct {
		name string
		auth func() (powerbi.Authenticator, error)
		code int
	}{
		{"secret ID instead of value", func() (powerbi.Authenticator, error) {
			return powerbi.NewClientSecretAuthenticator(d.TenantID, d.ClientID, "8f1c3e6a-secret-id", e.srv.AuthenticatorOptions())
		}, 7000215},
		{"unknown tenant", func() (powerbi.Authenticator, error) {
			return powerbi.NewClientSecretAuthenticator(powerbitest.NewGUID(), d.ClientID, d.ClientSecret, e.srv.AuthenticatorOptions())
		}, 90002},
		{"wrong password", func() (powerbi.Authenticator, error) {
			e.srv.AddUser(d.TenantID, d.ClientID, "ann@contoso.com", "right")
			return powerbi.NewPasswordAuthenticator(d.TenantID, d.ClientID, "ann@contoso.com", "wrong", e.srv.AuthenticatorOptions())
		}, 50126},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auth, err := tt.auth()
			c := e.client(t, auth, err)
			_, err = c.Reports.GetReportsInGroup(context.Background(), d.WorkspaceID)
			var authErr *powerbi.AuthError
			require.ErrorAs(t, err, &authErr)
			assert.True(t, authErr.HasCode(tt.code), "%v", authErr.AADSTSCodes)
			assert.NotEmpty(t, authErr.Hint)
			assert.NotEmpty(t, authErr.TraceID)
			assert.NotEmpty(t, authErr.CorrelationID)
			assert.ErrorIs(t, err, powerbi.ErrAuthentication)
		})
	}
}

// Throttling and transient failures, injected by the fake, are retried.
func TestEndToEndThrottlingAndFaults(t *testing.T) {
	e := newE2E(t)
	c := e.demoClient(t)
	ctx := context.Background()
	generate := func() (*powerbi.EmbedToken, error) {
		return c.Reports.GenerateTokenInGroup(ctx, e.demo.WorkspaceID, e.demo.ReportID, powerbi.GenerateTokenRequest{})
	}
	_, err := generate() // warm the token cache
	require.NoError(t, err)

	e.srv.ResetRequests()
	e.srv.InjectFault(powerbitest.Fault{PathContains: "/GenerateToken", Status: 429, RetryAfter: "1",
		Body: `{"message":"You have exceeded the amount of requests allowed in the current time frame. Retry in 1 seconds."}`})
	start := time.Now()
	_, err = generate()
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), time.Second, "Retry-After was honoured")
	assert.Equal(t, 2, e.srv.CountRequests("/GenerateToken"))

	for _, f := range []powerbitest.Fault{
		{PathContains: "/GenerateToken", Status: 503, Times: 2},
		{PathContains: "/GenerateToken", Status: 500, Body: `{"Message":"An error has occurred."}`},
		{PathContains: "/GenerateToken", CutBody: true},
		{PathContains: "/oauth2/", Status: 503, Times: 2},
	} {
		e.srv.InjectFault(f)
	}
	_, err = generate()
	require.NoError(t, err, "503, 503, 500 and a cut body are each retried")

	// The token endpoint's 503s are retried too: a fresh client must sign in through them.
	e.srv.ResetRequests()
	fresh := e.demoClient(t)
	_, err = fresh.Groups.GetGroups(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, 3, e.srv.CountRequests("/oauth2/"), "two 503s, then the token")

	// Throttled longer than the policy allows: fail fast with ErrThrottled and the wait.
	e.srv.InjectFault(powerbitest.Fault{PathContains: "/GenerateToken", Status: 429, RetryAfter: "3392"})
	_, err = generate()
	require.ErrorIs(t, err, powerbi.ErrThrottled)
	var apiErr *powerbi.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 3392*time.Second, apiErr.RetryAfter)

	// Retries run out.
	e.srv.InjectFault(powerbitest.Fault{PathContains: "/reports", Status: 502, Times: 10})
	_, err = c.Reports.GetReportsInGroup(ctx, e.demo.WorkspaceID)
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 502, apiErr.StatusCode)
	assert.Equal(t, 5, apiErr.Attempts, "1 + MaxRetries (4) of powerbitest's NewClient")
}

func TestEndToEndGroupsPaging(t *testing.T) {
	e := newE2E(t)
	for i := range 2100 {
		e.srv.AddWorkspace(powerbitest.Workspace{Name: fmt.Sprintf("team %04d", i), Members: []string{e.demo.ClientID}})
	}
	c := e.demoClient(t)
	e.srv.ResetRequests()
	var names []string
	for g, err := range c.Groups.GetGroupsIter(context.Background(), &powerbi.GetGroupsOptions{Filter: "startswith(name,'team')"}) {
		require.NoError(t, err)
		names = append(names, g.Name)
	}
	require.Len(t, names, 2100)
	assert.Equal(t, "team 2099", names[2099])
	queries := func() []string {
		var qs []string
		for _, r := range e.srv.Requests() {
			if r.Path == "/v1.0/myorg/groups" {
				qs = append(qs, r.Query)
			}
		}
		return qs
	}
	assert.Equal(t, []string{"$filter=startswith%28name%2C%27team%27%29&$top=1000", "$filter=startswith%28name%2C%27team%27%29&$top=1000&$skip=1000",
		"$filter=startswith%28name%2C%27team%27%29&$top=1000&$skip=2000"}, queries(), "pages of 1,000, 1,000 and 100")

	e.srv.ResetRequests()
	names = nil
	for g, err := range c.Groups.GetGroupsIter(context.Background(), &powerbi.GetGroupsOptions{Top: 2, Filter: "startswith(name,'team')"}) {
		require.NoError(t, err)
		names = append(names, g.Name)
	}
	assert.Equal(t, []string{"team 0000", "team 0001"}, names, "Top caps the total")
	assert.Len(t, queries(), 1)
}

// Bad input is refused before anything reaches the fake.
func TestEndToEndValidationSendsNothing(t *testing.T) {
	e := newE2E(t)
	c := e.demoClient(t)
	e.srv.ResetRequests()
	_, err := c.Reports.GenerateTokenInGroup(context.Background(), e.demo.WorkspaceID, "not-a-guid", powerbi.GenerateTokenRequest{})
	require.True(t, errors.Is(err, powerbi.ErrInvalidArgument), "%v", err)
	assert.Empty(t, e.srv.Requests())
}
