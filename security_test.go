package powerbi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Sentinels for scenario 21. The secret and the password hold characters a
// form encodes; the access token is short, so only exact redaction can catch
// it; the embed token has the length of a real one, which the SDK never knows
// in advance.
const (
	sentinelSecret   = "SENTINEL~SECRET.7f3a+9c/x="
	sentinelPassword = "SENTINEL pw/&9+c"
	sentinelAccess   = "SENTINEL-ACCESS-TOKEN-c0de55"
	sentinelEmbed    = "H4sIAAAAAAAEACWWtQ7sCBZE-SENTINEL-EMBED-TOKEN-beef77"
	sentinelQuery    = "SENTINEL-QUERY-d00d"
)

// leakWitness collects everything a user could see of failing calls: errors,
// values printed with every verb, and slog output at debug level.
type leakWitness struct {
	logs     bytes.Buffer
	logger   *slog.Logger
	failures []error
	printed  []any
}

func newLeakWitness() *leakWitness {
	w := &leakWitness{}
	w.logger = slog.New(slog.NewTextHandler(&w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return w
}

func (w *leakWitness) failed(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	w.failures = append(w.failures, err)
}

// failedCalls makes a GenerateToken call and an EmbedCache lookup through c,
// both of which must fail, and keeps c and the cache to print.
func (w *leakWitness) failedCalls(t *testing.T, c *Client) {
	t.Helper()
	_, err := genToken(c)
	w.failed(t, err)
	cache, err := NewEmbedCache(c, &EmbedCacheOptions{Logger: w.logger})
	require.NoError(t, err)
	_, err = cache.Report(context.Background(), groupID, reportID, nil)
	w.failed(t, err)
	w.printed = append(w.printed, c, cache)
}

// text is all of it as one string, each error also unwrapped one level.
func (w *leakWitness) text() string {
	var out strings.Builder
	for _, err := range w.failures {
		fmt.Fprintf(&out, "%s\n%v\n%+v\n%#v\n%v\n", err.Error(), err, err, err, errors.Unwrap(err))
	}
	for _, v := range w.printed {
		fmt.Fprintf(&out, "%v\n%+v\n%#v\n%s\n", v, v, v, v)
	}
	out.WriteString(w.logs.String())
	return out.String()
}

// assertClean fails for each sentinel found in the witnessed text, in the
// form given or as a form or query string encodes it. It names the sentinel,
// never prints it: a failure message must not leak either.
func (w *leakWitness) assertClean(t *testing.T, sentinels map[string]string) {
	t.Helper()
	text := w.text()
	for name, s := range sentinels {
		for i, form := range withEncodings(s) {
			assert.False(t, strings.Contains(text, form), "the %s (form %d) leaked into errors, printed values or logs", name, i)
		}
	}
}

// Scenario 21: secrets, tokens and query strings never appear in an error
// string, in %v/%+v/%#v of errors, the Client, an Authenticator or the
// EmbedCache, or in a log line at any level, through every failing path of
// the suite: each fault of docs/reliability.md (throttling, retries running out, a cancelled backoff, a
// refused token, HTML pages, broken, huge, cut and trickling bodies, a
// connection hung up), Entra's refusals in every form, bad input, and
// panicking Authenticators, behind the Client and behind the EmbedCache. The
// servers echo the token, the query string and the form they were sent, and
// put the embed token wherever a response could carry it.
func TestScenario21SecretsThroughEveryFailingPath(t *testing.T) {
	w := newLeakWitness()
	fast := RetryPolicy{MaxRetries: 1, WaitMin: time.Millisecond, WaitMax: time.Millisecond, MaxRetryAfter: time.Minute}
	echo := func(r *http.Request) string {
		return r.Header.Get("Authorization") + " " + r.URL.RawQuery + " " + url.QueryEscape(r.URL.RawQuery) + " " + sentinelEmbed
	}
	echoJSON := func(status int, headers ...string) http.HandlerFunc {
		return func(rw http.ResponseWriter, r *http.Request) {
			respond(status, `{"error":{"code":"`+sentinelAccess+`","message":"`+echo(r)+`"}}`, headers...)(rw, r)
		}
	}
	echoHTML := func(status int) http.HandlerFunc {
		return func(rw http.ResponseWriter, r *http.Request) {
			respond(status, "<html><body><p>"+echo(r)+"</p><i>"+sentinelAccess[:10]+"</i>"+sentinelAccess[10:]+"</body></html>", "Content-Type", "text/html")(rw, r)
		}
	}
	huge := func(status int) http.HandlerFunc {
		return func(rw http.ResponseWriter, r *http.Request) {
			respond(status, `{"error":{"message":"`+echo(r)+strings.Repeat("x", 11<<20)+`"}}`)(rw, r)
		}
	}
	api := map[string]http.HandlerFunc{
		"401 twice":                     echoJSON(401),
		"403 TokenExpired twice":        echoJSON(403, "X-PowerBI-Error-Info", "TokenExpired"),
		"429 Retry-After 1 h":           echoJSON(429, "Retry-After", "3600"),
		"503 until retries run out":     echoJSON(503),
		"400 RequestId echo":            echoJSON(400, "RequestId", sentinelAccess),
		"404 not found":                 echoJSON(404),
		"502 HTML page":                 echoHTML(502),
		"200 HTML page":                 echoHTML(200),
		"200 broken JSON after space":   respond(200, ` {"token":"`+sentinelEmbed+`","expiration":`),
		"200 trailing garbage":          respond(200, `{"token":"`+sentinelEmbed+`","tokenId":"x","expiration":"2030-01-01T00:00:00Z"} `+sentinelEmbed),
		"200 token as timestamp":        respond(200, `{"token":"x","tokenId":"x","expiration":"`+sentinelEmbed+`"}`),
		"200 plain text":                respond(200, sentinelEmbed+" "+sentinelAccess, "Content-Type", "text/plain"),
		"200 without expiration":        respond(200, `{"token":"`+sentinelEmbed+`"}`),
		"200 bad timestamp, text/plain": respond(200, `{"token":"`+sentinelEmbed+`","expiration":"soon"}`, "Content-Type", "text/plain"),
		"huge error body":               huge(500),
		"huge 200 body":                 huge(200),
		"body cut short":                truncated,
		"connection hung up":            hangUp,
	}
	for name, h := range api {
		t.Run(name, func(t *testing.T) {
			f := newFakeAPI(t, h)
			c := f.client(t, StaticToken(sentinelAccess), WithLogger(w.logger), WithRetryPolicy(fast))
			w.failedCalls(t, c)
			_, err := c.Groups.GetGroups(context.Background(), &GetGroupsOptions{Filter: "name eq '" + sentinelQuery + "'"})
			w.failed(t, err)
		})
	}

	t.Run("cancelled during backoff", func(t *testing.T) {
		f := newFakeAPI(t, echoJSON(503))
		c := f.client(t, StaticToken(sentinelAccess), WithLogger(w.logger),
			WithRetryPolicy(RetryPolicy{MaxRetries: 3, WaitMin: time.Minute, WaitMax: time.Minute, MaxRetryAfter: time.Hour}))
		ctx, cancel := context.WithCancel(context.Background())
		defer time.AfterFunc(100*time.Millisecond, cancel).Stop()
		_, err := c.Groups.GetGroups(ctx, &GetGroupsOptions{Filter: sentinelQuery})
		require.ErrorIs(t, err, context.Canceled)
		w.failed(t, err)
	})
	t.Run("server gone", func(t *testing.T) {
		f := newFakeAPI(t, respond(200, ""))
		f.srv.Close()
		c := f.client(t, StaticToken(sentinelAccess), WithLogger(w.logger), WithRetryPolicy(RetryPolicy{}))
		_, err := c.Groups.GetGroups(context.Background(), &GetGroupsOptions{Filter: sentinelQuery})
		w.failed(t, err)
	})
	t.Run("body trickles past the body timeout", func(t *testing.T) {
		stop := make(chan struct{})
		defer close(stop)
		f := newFakeAPI(t, trickle(stop))
		c := f.client(t, StaticToken(sentinelAccess), WithLogger(w.logger), WithRetryPolicy(RetryPolicy{}),
			withBodyTimeout(50*time.Millisecond))
		_, err := c.Groups.GetGroups(context.Background(), &GetGroupsOptions{Filter: sentinelQuery})
		w.failed(t, err)
	})
	t.Run("bad input", func(t *testing.T) {
		c, _ := mockClient(t, StaticToken(sentinelAccess), WithLogger(w.logger))
		_, err := c.Reports.GetReportInGroup(context.Background(), sentinelAccess, reportID)
		w.failed(t, err)
		_, err = c.Datasets.GetDatasetInGroup(context.Background(), groupID, sentinelEmbed+"/..")
		w.failed(t, err)
		_, err = c.Reports.GenerateTokenInGroup(context.Background(), groupID, reportID, GenerateTokenRequest{
			AccessLevel: TokenAccessLevel(sentinelAccess),
		})
		w.failed(t, err)
		_, err = c.Reports.GenerateTokenInGroup(context.Background(), groupID, reportID, GenerateTokenRequest{
			Identities: []EffectiveIdentity{{Username: "a " + sentinelPassword, Roles: []string{sentinelSecret}, Datasets: []string{groupID}}},
		})
		w.failed(t, err)
		_, err = c.Groups.GetGroups(ContextWithProfileID(context.Background(), sentinelAccess), nil)
		w.failed(t, err)
	})
	t.Run("panicking Authenticator", func(t *testing.T) {
		auth := AuthenticatorFunc(func(context.Context) (AccessToken, error) {
			panic("cannot refresh " + sentinelAccess + " with " + sentinelSecret)
		})
		c, _ := mockClient(t, auth, WithLogger(w.logger))
		w.failedCalls(t, c)
	})
	t.Run("panicking transport behind the EmbedCache", func(t *testing.T) {
		// Through the Client the panic is the caller's own (Go's way); the
		// cache's detached refresh turns it into an error without its value.
		c, err := NewClient(StaticToken(sentinelAccess), WithHTTPClient(&http.Client{Transport: panickingTransport{}}), WithLogger(w.logger))
		require.NoError(t, err)
		cache, err := NewEmbedCache(c, &EmbedCacheOptions{Logger: w.logger})
		require.NoError(t, err)
		_, err = cache.Report(context.Background(), groupID, reportID, nil)
		w.failed(t, err)
		require.Contains(t, err.Error(), "panicked")
	})
	t.Run("transport error quoting the request", func(t *testing.T) {
		c, mt := mockClient(t, StaticToken(sentinelAccess), WithLogger(w.logger), WithRetryPolicy(fast))
		mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
			return nil, fmt.Errorf("proxy refused %s with %s", r.URL, r.Header.Get("Authorization"))
		})
		_, err := c.Groups.GetGroups(context.Background(), &GetGroupsOptions{Filter: sentinelQuery})
		w.failed(t, err)
		w.failedCalls(t, c)
	})
	t.Run("panicking Authenticator with an error value", func(t *testing.T) {
		auth := AuthenticatorFunc(func(context.Context) (AccessToken, error) {
			panic(fmt.Errorf("token %s", sentinelAccess))
		})
		c, _ := mockClient(t, auth, WithLogger(w.logger))
		_, err := genToken(c)
		w.failed(t, err)
	})

	// Entra: every way the token endpoint refuses, for each kind of credential.
	var assertions []string
	echoForm := func(r *http.Request) string {
		if a := r.PostForm.Get("client_assertion"); a != "" {
			assertions = append(assertions, a)
		}
		return strings.ReplaceAll(r.PostForm.Encode(), `"`, "") + " " + url.Values(r.PostForm).Get("client_secret")
	}
	entra := map[string]http.HandlerFunc{
		"400 invalid_client": func(rw http.ResponseWriter, r *http.Request) {
			respond(400, `{"error":"invalid_client","error_description":"AADSTS7000215: `+echoForm(r)+`","error_codes":[7000215],"trace_id":"`+r.PostForm.Get("client_secret")+r.PostForm.Get("password")+`"}`)(rw, r)
		},
		"200 with an error": func(rw http.ResponseWriter, r *http.Request) {
			respond(200, `{"error":"invalid_grant","error_description":"`+echoForm(r)+`"}`)(rw, r)
		},
		"200 without access_token": func(rw http.ResponseWriter, r *http.Request) {
			echoForm(r)
			respond(200, `{"token_type":"Bearer","expires_in":3599}`)(rw, r)
		},
		"200 HTML login page": func(rw http.ResponseWriter, r *http.Request) {
			respond(200, "<html><form><input value='"+echoForm(r)+"'></form></html>", "Content-Type", "text/html")(rw, r)
		},
		"500 HTML page": func(rw http.ResponseWriter, r *http.Request) {
			respond(500, "<html><pre>"+echoForm(r)+"</pre></html>", "Content-Type", "text/html")(rw, r)
		},
		"429 throttled": func(rw http.ResponseWriter, r *http.Request) {
			respond(429, `{"error":"temporarily_unavailable","error_description":"`+echoForm(r)+`"}`, "Retry-After-Ms", "1")(rw, r)
		},
		"200 broken JSON": func(rw http.ResponseWriter, r *http.Request) {
			respond(200, `{"access_token":"`+sentinelAccess+`","expires_in":`+echoForm(r))(rw, r)
		},
	}
	_, _, pemData := testCertificate(t)
	certs, key, err := ParseCertificates(pemData)
	require.NoError(t, err)
	pemLines := strings.Split(string(pemData), "\n")
	keyFragment := pemLines[len(pemLines)-3]
	for name, h := range entra {
		t.Run("Entra "+name, func(t *testing.T) {
			te := newTokenEndpoint(t, h)
			opts := te.opts()
			opts.RetryPolicy = &fast
			secretAuth, err := NewClientSecretAuthenticator(tenantID, clientID, sentinelSecret, opts)
			require.NoError(t, err)
			passAuth, err := NewPasswordAuthenticator(tenantID, clientID, "user@contoso.com", sentinelPassword, opts)
			require.NoError(t, err)
			certAuth, err := NewClientCertificateAuthenticator(tenantID, clientID, certs, key, opts)
			require.NoError(t, err)
			for _, a := range []Authenticator{secretAuth, passAuth, certAuth} {
				_, err := a.Token(context.Background())
				w.failed(t, err)
				c, _ := mockClient(t, a, WithLogger(w.logger))
				w.failedCalls(t, c)
				w.printed = append(w.printed, a)
			}
		})
	}
	// The Entra authority is down.
	te := newTokenEndpoint(t, respond(200, ""))
	te.srv.Close()
	down, err := NewClientSecretAuthenticator(tenantID, clientID, sentinelSecret, te.opts())
	require.NoError(t, err)
	_, err = down.Token(context.Background())
	w.failed(t, err)

	w.printed = append(w.printed, AccessToken{Token: sentinelAccess}, EmbedToken{Token: sentinelEmbed}, StaticToken(sentinelAccess))
	require.NotEmpty(t, assertions)
	text := w.text()
	for _, want := range []string{"AADSTS7000215", "retry after 1h0m0s", "status=401", "status=503", "level=DEBUG", "panicked", "the body did not arrive in full"} {
		require.Contains(t, text, want, "the checked text holds the real failures")
	}
	w.assertClean(t, map[string]string{
		"client secret": sentinelSecret, "password": sentinelPassword, "access token": sentinelAccess,
		"embed token": sentinelEmbed, "query string": sentinelQuery, "private key": keyFragment, "client assertion": assertions[0],
	})
}

// panickingTransport panics with the request's Authorization header.
type panickingTransport struct{}

func (panickingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	panic("sending " + r.Header.Get("Authorization"))
}

// Scenario 22: no bearer token over plain http unless allowed; a redirect to
// another host carries no Authorization.
func TestScenario22TokenOnlyToAPIHostOverHTTPS(t *testing.T) {
	_, err := NewClient(StaticToken("t"), WithBaseURL("http://api.powerbi.com"))
	require.ErrorIs(t, err, ErrInvalidArgument)

	var gotAuth atomic.Value
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth.Store(r.Header.Get("Authorization"))
		respond(200, `{"value":[]}`)(w, r)
	}))
	defer plain.Close()
	c, err := NewClient(StaticToken("tok-plain"), WithBaseURL(plain.URL), WithInsecureAllowHTTP())
	require.NoError(t, err)
	_, err = c.Reports.GetReports(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "Bearer tok-plain", gotAuth.Load())

	// The API host redirects to another host: the token stays behind.
	var otherAuth atomic.Value
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherAuth.Store(r.Header.Get("Authorization"))
		respond(200, `{"value":[]}`)(w, r)
	}))
	defer other.Close()
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "Bearer "+testToken, r.Header.Get("Authorization"))
		http.Redirect(w, r, other.URL+"/elsewhere", http.StatusTemporaryRedirect)
	})
	hc := api.httpClient()
	hc.Transport.(*http.Transport).TLSClientConfig.RootCAs.AddCert(other.Certificate())
	c2, err := NewClient(expiringToken(testToken, time.Hour), WithBaseURL(api.srv.URL), WithHTTPClient(hc))
	require.NoError(t, err)
	_, err = c2.Reports.GetReports(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "", otherAuth.Load(), "no Authorization to another host")
}

// A request body holds RLS usernames and identity blobs (Azure SQL access
// tokens): a 307 or 308 may carry it again only to the API host over https.
// Anywhere else the call fails with an error naming the target, and the
// target receives nothing; without a body (a GET), a redirect to another host
// is followed without the token, as before.
func TestBodyNeverRedirectedOffTheAPIHost(t *testing.T) {
	var received atomic.Int64
	record := func(w http.ResponseWriter, r *http.Request) {
		received.Add(1)
		respond(200, tokenJSON)(w, r)
	}
	otherTLS := httptest.NewTLSServer(http.HandlerFunc(record))
	defer otherTLS.Close()
	plain := httptest.NewServer(http.HandlerFunc(record))
	defer plain.Close()
	var target atomic.Value
	var bodies atomic.Int64
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			b, _ := io.ReadAll(r.Body)
			if strings.Contains(string(b), "ann@contoso.com") {
				bodies.Add(1)
			}
			respond(200, tokenJSON)(w, r)
			return
		}
		http.Redirect(w, r, target.Load().(string), http.StatusTemporaryRedirect)
	})
	hc := api.httpClient()
	hc.Transport.(*http.Transport).TLSClientConfig.RootCAs.AddCert(otherTLS.Certificate())
	c, err := NewClient(expiringToken(testToken, time.Hour), WithBaseURL(api.srv.URL), WithHTTPClient(hc), WithRetryPolicy(fastRetry))
	require.NoError(t, err)
	req := GenerateTokenRequest{Identities: []EffectiveIdentity{{Username: "ann@contoso.com", Datasets: []string{reportID}, IdentityBlob: &IdentityBlob{Value: "sql-access-token"}}}}
	apiHTTP := "http://" + strings.TrimPrefix(api.srv.URL, "https://")
	for name, to := range map[string]string{
		"another host over https": otherTLS.URL + "/steal",
		"another host over http":  plain.URL + "/steal",
		"the API host over http":  apiHTTP + "/moved",
	} {
		t.Run(name, func(t *testing.T) {
			target.Store(to)
			before := api.requests.Load()
			_, err := c.Reports.GenerateTokenInGroup(context.Background(), groupID, reportID, req)
			require.Error(t, err)
			u, _ := url.Parse(to)
			assert.Contains(t, err.Error(), u.Host, "the error names the target")
			assert.Contains(t, err.Error(), "redirect")
			assert.NotContains(t, err.Error(), "sql-access-token")
			assert.Equal(t, before+1, api.requests.Load(), "not retried")
		})
	}
	assert.Zero(t, received.Load(), "no other host received the body")

	target.Store(api.srv.URL + "/moved")
	tok, err := c.Reports.GenerateTokenInGroup(context.Background(), groupID, reportID, req)
	require.NoError(t, err, "the API host over https may take the body again")
	assert.Equal(t, "H4sI-embed", tok.Token)
	assert.EqualValues(t, 1, bodies.Load())
}

// Scenario 23: malformed IDs are refused before any token fetch or request.
func TestScenario23BadIDs(t *testing.T) {
	var tokenCalls atomic.Int64
	auth := AuthenticatorFunc(func(context.Context) (AccessToken, error) {
		tokenCalls.Add(1)
		return AccessToken{Token: "t"}, nil
	})
	c, mt := mockClient(t, auth)
	mt.RegisterNoResponder(httpmock.NewStringResponder(200, `{}`))
	ctx := context.Background()
	// Bad for every ID; the last two are bad only where a GUID is required
	// (dataset IDs need not be GUIDs, and are path-escaped).
	bad := []string{"../admin/groups", "abc?$top=1", "a#b", "a/b", "%2e%2e", "", "with space", strings.Repeat("a", 10<<10), ".", "..",
		"f089354e-8366-4e18-aea3-4cb4a3a50b48/..", "f089354e-8366-4e18-aea3-4cb4a3a50b4", "{f089354e-8366-4e18-aea3-4cb4a3a50b48}"}
	req := GenerateTokenRequest{}
	for i, id := range bad {
		guidOnly := i >= len(bad)-2
		calls := map[string]func() error{
			"GetReport":             func() error { _, err := c.Reports.GetReport(ctx, id); return err },
			"GetReportInGroup/g":    func() error { _, err := c.Reports.GetReportInGroup(ctx, id, reportID); return err },
			"GetReportInGroup/r":    func() error { _, err := c.Reports.GetReportInGroup(ctx, groupID, id); return err },
			"Reports.GenerateToken": func() error { _, err := c.Reports.GenerateTokenInGroup(ctx, groupID, id, req); return err },
			"ForCreate":             func() error { _, err := c.Reports.GenerateTokenForCreateInGroup(ctx, id, req); return err },
			"GetDashboard":          func() error { _, err := c.Dashboards.GetDashboard(ctx, id); return err },
			"Dashboards.Token":      func() error { _, err := c.Dashboards.GenerateTokenInGroup(ctx, groupID, id, req); return err },
			"GetTileInGroup":        func() error { _, err := c.Tiles.GetTileInGroup(ctx, groupID, reportID, id); return err },
			"Tiles.Token":           func() error { _, err := c.Tiles.GenerateTokenInGroup(ctx, id, reportID, reportID, req); return err },
			"GetGroup":              func() error { _, err := c.Groups.GetGroup(ctx, id); return err },
			"GetReportsInGroup":     func() error { _, err := c.Reports.GetReportsInGroup(ctx, id); return err },
			"V2 report": func() error {
				_, err := c.EmbedToken.GenerateToken(ctx, GenerateTokenRequestV2{Reports: []GenerateTokenRequestV2Report{{ID: id}}})
				return err
			},
		}
		if !guidOnly {
			calls["GetDataset"] = func() error { _, err := c.Datasets.GetDataset(ctx, id); return err }
			calls["GetDatasetInGroup"] = func() error { _, err := c.Datasets.GetDatasetInGroup(ctx, groupID, id); return err }
			calls["Datasets.Token"] = func() error { _, err := c.Datasets.GenerateTokenInGroup(ctx, groupID, id, req); return err }
		}
		for name, call := range calls {
			err := call()
			assert.ErrorIs(t, err, ErrInvalidArgument, "%s(%.40q)", name, id)
			var ve *ValidationError
			if assert.ErrorAs(t, err, &ve) && len(id) >= 8 {
				assert.NotContains(t, ve.Error(), id, "the bad value is not echoed")
			}
		}
	}
	assert.Zero(t, tokenCalls.Load(), "no token fetched")
	assert.Zero(t, mt.GetTotalCallCount(), "nothing sent")

	// A dataset ID that is not a GUID but is safe is path-escaped.
	var path string
	mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		path = r.URL.EscapedPath()
		return httpmock.NewStringResponse(200, `{"id":"x"}`), nil
	})
	_, err := c.Datasets.GetDataset(ctx, "sobe_wowvirtualserver-1d2c3b4a")
	require.NoError(t, err)
	assert.Equal(t, "/v1.0/myorg/datasets/sobe_wowvirtualserver-1d2c3b4a", path)
	_, err = c.Datasets.GetDataset(ctx, "ds:ü")
	require.NoError(t, err)
	assert.Equal(t, "/v1.0/myorg/datasets/ds:%C3%BC", path)
}

// Scenario 24: requests that break documented limits are refused client-side
// with a message that names the limit.
func TestScenario24DocumentedLimits(t *testing.T) {
	c, mt := mockClient(t, nil)
	ctx := context.Background()
	ds := "cfafbeb1-8037-4d0c-896e-a46fb27ff229"
	reports := make([]GenerateTokenRequestV2Report, 51)
	datasets := make([]GenerateTokenRequestV2Dataset, 51)
	workspaces := make([]GenerateTokenRequestV2TargetWorkspace, 51)
	roles := make([]string, 51)
	for i := range 51 {
		reports[i].ID, datasets[i].ID, workspaces[i].ID, roles[i] = reportID, ds, groupID, "r"
	}
	one := []GenerateTokenRequestV2Report{{ID: reportID}}
	id := func(mod func(*EffectiveIdentity)) []EffectiveIdentity {
		e := EffectiveIdentity{Username: "john@contoso.com", Roles: []string{"sales"}, Datasets: []string{ds}}
		mod(&e)
		return []EffectiveIdentity{e}
	}
	for _, tc := range []struct {
		name string
		v1   *GenerateTokenRequest
		v2   *GenerateTokenRequestV2
		want string
	}{
		{"51 reports", nil, &GenerateTokenRequestV2{Reports: reports}, "at most 50 reports"},
		{"51 datasets", nil, &GenerateTokenRequestV2{Reports: one, Datasets: datasets}, "at most 50 datasets"},
		{"51 target workspaces", nil, &GenerateTokenRequestV2{Reports: one, TargetWorkspaces: workspaces}, "at most 50 target workspaces"},
		{"nothing to embed", nil, &GenerateTokenRequestV2{}, "at least one report or dataset"},
		{"negative lifetime v2", nil, &GenerateTokenRequestV2{Reports: one, LifetimeInMinutes: -1}, "lifetimeInMinutes"},
		{"username with space", &GenerateTokenRequest{Identities: id(func(e *EffectiveIdentity) { e.Username = "john smith" })}, nil, "must not contain spaces"},
		{"username too long", &GenerateTokenRequest{Identities: id(func(e *EffectiveIdentity) { e.Username = strings.Repeat("a", 257) })}, nil, "at most 256"},
		{"51 roles", &GenerateTokenRequest{Identities: id(func(e *EffectiveIdentity) { e.Roles = roles })}, nil, "at most 50 roles"},
		{"role with comma", &GenerateTokenRequest{Identities: id(func(e *EffectiveIdentity) { e.Roles = []string{"a,b"} })}, nil, "comma"},
		{"role too long", &GenerateTokenRequest{Identities: id(func(e *EffectiveIdentity) { e.Roles = []string{strings.Repeat("r", 51)} })}, nil, "at most 50 are allowed"},
		{"negative lifetime", &GenerateTokenRequest{LifetimeInMinutes: -5}, nil, "lifetimeInMinutes"},
		{"unknown access level", &GenerateTokenRequest{AccessLevel: "Admin"}, nil, "View, Edit or Create"},
		{"create on view call", &GenerateTokenRequest{AccessLevel: TokenAccessLevelCreate}, nil, "GenerateTokenForCreateInGroup"},
		{"v2 identity with space", nil, &GenerateTokenRequestV2{Reports: one, Identities: id(func(e *EffectiveIdentity) { e.Username = "a b" })}, "must not contain spaces"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.v1 != nil {
				_, err = c.Reports.GenerateTokenInGroup(ctx, groupID, reportID, *tc.v1)
			} else {
				_, err = c.EmbedToken.GenerateToken(ctx, *tc.v2)
			}
			require.ErrorIs(t, err, ErrInvalidArgument)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	_, err := c.Reports.GenerateTokenForCreateInGroup(ctx, groupID, GenerateTokenRequest{})
	assert.ErrorContains(t, err, "datasetId")
	assert.Zero(t, mt.GetTotalCallCount())

	// A paginated-report identity may hold a space (the swagger's own example does).
	mt.RegisterNoResponder(httpmock.NewStringResponder(200, tokenJSON))
	_, err = c.Reports.GenerateTokenInGroup(ctx, groupID, reportID, GenerateTokenRequest{Identities: []EffectiveIdentity{{Username: "John Smith", Reports: []string{reportID}}}})
	assert.NoError(t, err)

	// Limits are in characters, not bytes: 111 three-byte characters are a
	// valid username (333 bytes), 50 two-byte ones a valid role name.
	_, err = c.Reports.GenerateTokenInGroup(ctx, groupID, reportID, GenerateTokenRequest{Identities: id(func(e *EffectiveIdentity) {
		e.Username, e.Roles = strings.Repeat("名", 111), []string{strings.Repeat("é", 50)}
	})})
	assert.NoError(t, err)
	_, err = c.Reports.GenerateTokenInGroup(ctx, groupID, reportID, GenerateTokenRequest{Identities: id(func(e *EffectiveIdentity) {
		e.Username = strings.Repeat("名", 257)
	})})
	assert.ErrorContains(t, err, "is 257 characters long; at most 256")
}

func TestNewClientOptions(t *testing.T) {
	for name, opt := range map[string]Option{
		"nil http client":    WithHTTPClient(nil),
		"negative retries":   WithRetryPolicy(RetryPolicy{MaxRetries: -1}),
		"inverted waits":     WithRetryPolicy(RetryPolicy{WaitMin: time.Second, WaitMax: time.Millisecond}),
		"negative wait":      WithRetryPolicy(RetryPolicy{WaitMin: -1}),
		"empty user agent":   WithUserAgent(" "),
		"user agent newline": WithUserAgent("a\nb"),
		"nil logger":         WithLogger(nil),
		"empty base URL":     WithBaseURL(""),
		"relative base URL":  WithBaseURL("api.powerbi.com"),
		"base URL query":     WithBaseURL("https://api.powerbi.com?x=1"),
		"base URL userinfo":  WithBaseURL("https://u:p@api.powerbi.com"),
		"ftp base URL":       WithBaseURL("ftp://api.powerbi.com"),
		"cloud without API":  WithCloud(Cloud{Name: "x"}),
		"bad profile":        WithProfileID("x"),
		"negative lifetime":  WithMinAccessTokenLifetime(-time.Minute),
		"nil option":         nil,
	} {
		_, err := NewClient(StaticToken("t"), opt)
		assert.ErrorIs(t, err, ErrInvalidArgument, name)
	}
	_, err := NewClient(nil)
	assert.ErrorIs(t, err, ErrInvalidArgument)

	c, err := NewClient(StaticToken("t"), WithCloud(CloudChina), WithRetryPolicy(RetryPolicy{}))
	require.NoError(t, err)
	assert.Equal(t, "https://api.powerbi.cn/v1.0/myorg/", c.apiRoot)
	assert.Equal(t, 0, c.retryPolicy.MaxRetries, "MaxRetries 0 means no retries")
	c, err = NewClient(StaticToken("t"), WithBaseURL("https://proxy.example/pbi/"))
	require.NoError(t, err)
	assert.Equal(t, "https://proxy.example/pbi/v1.0/myorg/", c.apiRoot)

	for _, name := range []string{"public", "USGovGCC", "usgovhigh", "USGovDoD", "China"} {
		cl, ok := CloudByName(name)
		assert.True(t, ok, name)
		assert.NotEmpty(t, cl.Scope)
	}
	_, ok := CloudByName("Germany")
	assert.False(t, ok, "the Germany cloud is retired")
}
