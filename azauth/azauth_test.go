package azauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/gopowerbi/powerbi"
	"github.com/gopowerbi/powerbi/azauth"
	"github.com/gopowerbi/powerbi/powerbitest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// net/http keeps idle connections of azidentity's default client alive
		// until they time out; they belong to no test.
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	)
}

const identityHeader = "sentinel-identity-header-5f1c"

// appService is the managed identity endpoint of an App Service or Container
// App (IDENTITY_ENDPOINT, IDENTITY_HEADER): it hands out the tokens the fake
// issues to its demo service principal, so they work on the fake's API.
type appService struct {
	*httptest.Server
	requests atomic.Int64
	fail     atomic.Bool
	resource atomic.Value // the resource asked for
}

func newAppService(t *testing.T, fake *powerbitest.Server, demo powerbitest.Demo) *appService {
	t.Helper()
	sp, err := powerbi.NewClientSecretAuthenticator(demo.TenantID, demo.ClientID, demo.ClientSecret, fake.AuthenticatorOptions())
	require.NoError(t, err)
	a := &appService{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.requests.Add(1)
		a.resource.Store(r.URL.Query().Get("resource"))
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("X-IDENTITY-HEADER") != identityHeader || a.fail.Load() {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"statusCode":400,"message":"No managed identity found for the specified ClientId/ResourceId/PrincipalId.","correlationId":"6a7f0c55-0b59-4ae4-9c2a-4b0e3a1f6f2e"}`))
			return
		}
		tok, err := sp.Token(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{
			"access_token": tok.Token,
			"expires_on":   strconv.FormatInt(tok.ExpiresOn.Unix(), 10),
			"resource":     r.URL.Query().Get("resource"),
			"token_type":   "Bearer",
		})
	}))
	t.Cleanup(a.Close)
	return a
}

// azidentity's ManagedIdentityCredential, configured as on App Service by
// IDENTITY_ENDPOINT and IDENTITY_HEADER, signs a Client in: the token works on
// the API, carries its expiry (so the Client asks once for many calls), and
// was asked for the Power BI resource.
func TestManagedIdentityAppService(t *testing.T) {
	fake := powerbitest.NewServer(powerbitest.WithRealClock())
	defer fake.Close()
	demo := fake.SeedDemo()
	mi := newAppService(t, fake, demo)
	t.Setenv("IDENTITY_ENDPOINT", mi.URL+"/msi/token")
	t.Setenv("IDENTITY_HEADER", identityHeader)

	cred, err := azidentity.NewManagedIdentityCredential(nil)
	require.NoError(t, err)
	auth, err := azauth.New(cred, nil)
	require.NoError(t, err)
	client, err := fake.NewClient(auth)
	require.NoError(t, err)

	for range 5 {
		reports, err := client.Reports.GetReportsInGroup(context.Background(), demo.WorkspaceID)
		require.NoError(t, err)
		assert.NotEmpty(t, reports)
	}
	assert.EqualValues(t, 1, mi.requests.Load(), "the expiry reached the Client's cache: one token for five calls")
	assert.Equal(t, "https://analysis.windows.net/powerbi/api", mi.resource.Load())

	tok, err := auth.Token(context.Background())
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(time.Hour), tok.ExpiresOn, 5*time.Minute, "ExpiresOn is the token's")
}

// A managed identity that refuses: the error matches ErrAuthentication,
// names the credential, quotes its message on one line, and holds neither the
// identity header nor a token.
func TestManagedIdentityFailure(t *testing.T) {
	fake := powerbitest.NewServer(powerbitest.WithRealClock())
	defer fake.Close()
	demo := fake.SeedDemo()
	mi := newAppService(t, fake, demo)
	mi.fail.Store(true)
	t.Setenv("IDENTITY_ENDPOINT", mi.URL+"/msi/token")
	t.Setenv("IDENTITY_HEADER", identityHeader)

	// A user-assigned identity the host does not have. (Its own ID also keeps
	// this test clear of the token MSAL's process-wide managed identity cache
	// holds from the test before.)
	cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ClientID(powerbitest.NewGUID())})
	require.NoError(t, err)
	auth, err := azauth.New(cred, nil)
	require.NoError(t, err)
	client, err := fake.NewClient(auth)
	require.NoError(t, err)

	_, err = client.Reports.GetReportsInGroup(context.Background(), demo.WorkspaceID)
	require.Error(t, err)
	assert.ErrorIs(t, err, powerbi.ErrAuthentication)
	var azErr *azauth.Error
	require.ErrorAs(t, err, &azErr)
	assert.Equal(t, "ManagedIdentityCredential", azErr.Credential)
	var failed *azidentity.AuthenticationFailedError
	assert.ErrorAs(t, err, &failed, "the credential's own error is reachable")
	assert.Contains(t, err.Error(), "No managed identity found")
	assert.NotContains(t, err.Error(), "\n")
	assert.NotContains(t, err.Error(), identityHeader)
	assert.Zero(t, fake.CountRequests("/reports"), "nothing was sent to the API")
}

// azidentity's WorkloadIdentityCredential, as on AKS: a federated token in a
// file, exchanged at the fake's Entra ID endpoint for a Power BI token.
func TestWorkloadIdentity(t *testing.T) {
	fake := powerbitest.NewServer(powerbitest.WithRealClock())
	defer fake.Close()
	demo := fake.SeedDemo()
	const issuer = "https://oidc.prod-aks.azure.com/3f1b2c4d-0000-4000-8000-000000000000/"
	const subject = "system:serviceaccount:reports:embed-api"
	clientID := powerbitest.NewGUID()
	fake.AddWorkloadIdentity(demo.TenantID, clientID, issuer, subject)
	fake.AddMember(demo.WorkspaceID, clientID)
	federatedToken, err := fake.FederatedToken(issuer, subject)
	require.NoError(t, err)
	tokenFile := filepath.Join(t.TempDir(), "azure-identity-token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(federatedToken), 0o600))

	auth := workloadIdentity(t, fake, demo.TenantID, clientID, tokenFile)
	client, err := fake.NewClient(auth)
	require.NoError(t, err)

	reports, err := client.Reports.GetReportsInGroup(context.Background(), demo.WorkspaceID)
	require.NoError(t, err)
	assert.NotEmpty(t, reports)
	assert.Equal(t, 1, fake.CountRequests("/oauth2/v2.0/token"))
	for _, r := range fake.Requests() {
		assert.NotContains(t, r.Body, federatedToken, "the recording hides the assertion")
	}

	// A token for a subject the app does not trust is refused by Entra ID.
	other, err := fake.FederatedToken(issuer, "system:serviceaccount:other:intruder")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(tokenFile, []byte(other), 0o600))
	_, err = workloadIdentity(t, fake, demo.TenantID, clientID, tokenFile).Token(context.Background())
	require.Error(t, err)
	assert.ErrorIs(t, err, powerbi.ErrAuthentication)
	assert.Contains(t, err.Error(), "WorkloadIdentityCredential")
	assert.Contains(t, err.Error(), "AADSTS70021")
	assert.NotContains(t, err.Error(), other)
	assert.NotContains(t, err.Error(), "\n")
}

// workloadIdentity is azauth on azidentity's WorkloadIdentityCredential, as on
// AKS, signing in at the fake's Entra ID endpoint with the token in tokenFile.
func workloadIdentity(t *testing.T, fake *powerbitest.Server, tenantID, clientID, tokenFile string) powerbi.Authenticator {
	t.Helper()
	cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
		ClientID: clientID, TenantID: tenantID, TokenFilePath: tokenFile, DisableInstanceDiscovery: true,
		ClientOptions: azcore.ClientOptions{
			Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: fake.URL() + "/"},
			Transport: fake.HTTPClient(),
		},
	})
	require.NoError(t, err)
	auth, err := azauth.New(cred, nil)
	require.NoError(t, err)
	return auth
}

// fakeCred is a TokenCredential whose answer the test chooses.
type fakeCred struct {
	tok azcore.AccessToken
	err error
	got policy.TokenRequestOptions
}

func (f *fakeCred) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	f.got = o
	return f.tok, f.err
}

// The scope is the cloud's; errors are scrubbed of tokens and put on one
// line; a canceled context is said to be one; bad arguments are refused.
func TestAuthenticator(t *testing.T) {
	_, err := azauth.New(nil, nil)
	assert.ErrorIs(t, err, powerbi.ErrInvalidArgument)

	cred := &fakeCred{tok: azcore.AccessToken{Token: "tok", ExpiresOn: time.Now().Add(time.Hour)}}
	auth, err := azauth.New(cred, &azauth.Options{Cloud: powerbi.CloudUSGovHigh, TenantID: "t1"})
	require.NoError(t, err)
	tok, err := auth.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "tok", tok.Token)
	assert.Equal(t, []string{powerbi.CloudUSGovHigh.Scope}, cred.got.Scopes)
	assert.Equal(t, "t1", cred.got.TenantID)

	const jwtSentinel = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzZW50aW5lbCJ9.c2lnbmF0dXJlLXNlbnRpbmVs"
	cred.err = errors.New("DefaultAzureCredential: failed\n---------\nRESPONSE 401\n{\"access_token\":\"opaque-sentinel-value\",\"assertion\":\"" + jwtSentinel + "\"}\n---------")
	_, err = auth.Token(context.Background())
	require.Error(t, err)
	assert.ErrorIs(t, err, powerbi.ErrAuthentication)
	assert.NotContains(t, err.Error(), "opaque-sentinel-value")
	assert.NotContains(t, err.Error(), jwtSentinel)
	assert.NotContains(t, err.Error(), "\n")
	assert.Contains(t, err.Error(), "RESPONSE 401")

	cred.err = context.Canceled
	_, err = auth.Token(context.Background())
	assert.ErrorIs(t, err, context.Canceled)

	cred.err, cred.tok = nil, azcore.AccessToken{}
	_, err = auth.Token(context.Background())
	assert.ErrorIs(t, err, powerbi.ErrAuthentication)
	assert.Contains(t, err.Error(), "empty token")
}
