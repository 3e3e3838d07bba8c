package powerbi

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	tenantID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	clientID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
)

// tokenEndpoint is a fake Entra ID v2.0 token endpoint (a fakeAPI) that
// records the forms posted to it.
type tokenEndpoint struct {
	srv   *httptest.Server
	mu    sync.Mutex
	forms []url.Values
	paths []string
	reply http.HandlerFunc
}

func newTokenEndpoint(t *testing.T, reply http.HandlerFunc) *tokenEndpoint {
	t.Helper()
	te := &tokenEndpoint{reply: reply}
	te.srv = newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, r.ParseForm())
		te.mu.Lock()
		te.forms = append(te.forms, r.PostForm)
		te.paths = append(te.paths, r.URL.Path)
		te.mu.Unlock()
		te.reply(w, r)
	}).srv
	return te
}

func (te *tokenEndpoint) opts() *AuthenticatorOptions {
	return &AuthenticatorOptions{AuthorityHost: te.srv.URL, HTTPClient: te.srv.Client(),
		RetryPolicy: &RetryPolicy{MaxRetries: 2, WaitMin: time.Millisecond, WaitMax: 5 * time.Millisecond, MaxRetryAfter: time.Second}}
}

func (te *tokenEndpoint) tokenURL() string { return te.srv.URL + "/" + tenantID + "/oauth2/v2.0/token" }

func tokenOK(expiresIn string) http.HandlerFunc {
	return respond(200, `{"token_type":"Bearer","expires_in":`+expiresIn+`,"ext_expires_in":3599,"access_token":"eyJ0eXAi.access"}`)
}

func TestClientSecretAuthenticatorForm(t *testing.T) {
	te := newTokenEndpoint(t, tokenOK("3599"))
	a, err := NewClientSecretAuthenticator(tenantID, clientID, "s3cr3t-value", te.opts())
	require.NoError(t, err)
	before := time.Now()
	tok, err := a.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "eyJ0eXAi.access", tok.Token)
	assert.WithinDuration(t, before.Add(3599*time.Second), tok.ExpiresOn, 5*time.Second)
	require.Len(t, te.forms, 1)
	assert.Equal(t, "/"+tenantID+"/oauth2/v2.0/token", te.paths[0])
	assert.Equal(t, url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {clientID},
		"client_secret": {"s3cr3t-value"},
		"scope":         {"https://analysis.windows.net/powerbi/api/.default"},
	}, te.forms[0])
}

func TestPasswordAuthenticatorForm(t *testing.T) {
	te := newTokenEndpoint(t, tokenOK("3599"))
	opts := te.opts()
	opts.Cloud = CloudUSGovHigh
	a, err := NewPasswordAuthenticator(tenantID, clientID, "master@contoso.com", "p@ss word", opts)
	require.NoError(t, err)
	_, err = a.Token(context.Background())
	require.NoError(t, err)
	require.Len(t, te.forms, 1)
	assert.Equal(t, url.Values{
		"grant_type": {"password"},
		"client_id":  {clientID},
		"username":   {"master@contoso.com"},
		"password":   {"p@ss word"},
		"scope":      {"https://high.analysis.usgovcloudapi.net/powerbi/api/.default"},
	}, te.forms[0])
}

// testCertificate makes a self-signed RSA certificate and its key as PEM.
func testCertificate(t *testing.T) (*x509.Certificate, *rsa.PrivateKey, []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "powerbi-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	pemData := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})...)
	return cert, key, pemData
}

func TestClientCertificateAuthenticatorAssertion(t *testing.T) {
	cert, _, pemData := testCertificate(t)
	certs, key, err := ParseCertificates(pemData)
	require.NoError(t, err)
	te := newTokenEndpoint(t, tokenOK(`"3599"`))
	a, err := NewClientCertificateAuthenticator(tenantID, clientID, certs, key, te.opts())
	require.NoError(t, err)
	for range 2 {
		_, err = a.Token(context.Background())
		require.NoError(t, err)
	}
	require.Len(t, te.forms, 2)
	form := te.forms[0]
	assert.Equal(t, "client_credentials", form.Get("grant_type"))
	assert.Equal(t, clientID, form.Get("client_id"))
	assert.Equal(t, "https://analysis.windows.net/powerbi/api/.default", form.Get("scope"))
	assert.Equal(t, "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", form.Get("client_assertion_type"))
	assert.NotContains(t, form, "client_secret")

	// The assertion verifies with the certificate's public key and names it by thumbprint.
	sum := sha256.Sum256(cert.Raw)
	parsed, err := jwt.Parse(form.Get("client_assertion"), func(tok *jwt.Token) (any, error) {
		return cert.PublicKey, nil
	}, jwt.WithValidMethods([]string{"PS256"}), jwt.WithAudience(te.tokenURL()), jwt.WithIssuer(clientID), jwt.WithSubject(clientID), jwt.WithExpirationRequired())
	require.NoError(t, err)
	assert.Equal(t, base64.RawURLEncoding.EncodeToString(sum[:]), parsed.Header["x5t#S256"])
	claims := parsed.Claims.(jwt.MapClaims)
	assert.NotEmpty(t, claims["jti"])
	assert.NotEqual(t, form.Get("client_assertion"), te.forms[1].Get("client_assertion"), "a fresh assertion per request")

	// The wrong key for the certificate is refused up front.
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	_, err = NewClientCertificateAuthenticator(tenantID, clientID, certs, other, te.opts())
	assert.ErrorIs(t, err, ErrInvalidArgument)
}

// Scenario 19: expires_in as number and string, missing, 0 and negative; a
// missing or non-positive expiry is never cached as "forever".
func TestScenario19ExpiresIn(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       func(t *testing.T, tok AccessToken, err error)
		cached     bool
	}{
		{"number", `"expires_in":3599,`, func(t *testing.T, tok AccessToken, err error) {
			require.NoError(t, err)
			assert.WithinDuration(t, time.Now().Add(time.Hour), tok.ExpiresOn, 5*time.Second)
		}, true},
		{"string", `"expires_in":"3599",`, func(t *testing.T, tok AccessToken, err error) {
			require.NoError(t, err)
			assert.WithinDuration(t, time.Now().Add(time.Hour), tok.ExpiresOn, 5*time.Second)
		}, true},
		{"missing", ``, func(t *testing.T, tok AccessToken, err error) {
			require.NoError(t, err)
			assert.True(t, tok.ExpiresOn.IsZero())
		}, false},
		{"zero", `"expires_in":0,`, func(t *testing.T, tok AccessToken, err error) {
			require.NoError(t, err)
			assert.True(t, tok.ExpiresOn.IsZero())
		}, false},
		{"negative", `"expires_in":-5,`, func(t *testing.T, tok AccessToken, err error) {
			require.NoError(t, err)
			assert.True(t, tok.ExpiresOn.Before(time.Now()))
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := newTokenEndpoint(t, respond(200, `{"token_type":"Bearer",`+tc.body+`"access_token":"eyJ.at"}`))
			a, err := NewClientSecretAuthenticator(tenantID, clientID, "secret", te.opts())
			require.NoError(t, err)
			tok, err := a.Token(context.Background())
			tc.want(t, tok, err)

			// Through the cache: only a positive expiry is cached.
			cache := newTokenCache(a, nil)
			for range 2 {
				_, _ = cache.token(context.Background(), 0)
			}
			wantCalls := 3
			if tc.cached {
				wantCalls = 2
			}
			assert.Len(t, te.forms, wantCalls)
		})
	}
}

// entraError is the JSON Entra ID sends with a refusal.
func entraError(oauthErr string, code int, desc string) string {
	return fmt.Sprintf(`{"error":%q,"error_description":"AADSTS%d: %s\r\nTrace ID: 0a1b\r\nCorrelation ID: 9f8e\r\nTimestamp: 2026-11-24 12:00:00Z","error_codes":[%d],"timestamp":"2026-11-24 12:00:00Z","trace_id":"trace-%d","correlation_id":"corr-%d","error_uri":"https://login.microsoftonline.com/error?code=%d"}`,
		oauthErr, code, desc, code, code, code, code)
}

// Scenario 20, credential errors: invalid_client (7000215, 7000222, 700016,
// ...) and invalid_grant (50126, 50076, ...) become an *AuthError with the
// AADSTS code, trace and correlation IDs and a hint, and are not retried.
func TestAADSTSHints(t *testing.T) {
	for _, tc := range []struct {
		code     int
		oauthErr string
		status   int
		hint     string
	}{
		{50126, "invalid_grant", 400, "wrong username or password"},
		{50076, "invalid_grant", 400, "multi-factor"},
		{50079, "invalid_grant", 400, "multi-factor"},
		{7000215, "invalid_client", 401, "Value, not its Secret ID"},
		{7000222, "invalid_client", 401, "expired"},
		{700016, "unauthorized_client", 400, "wrong client ID or tenant ID"},
		{90002, "invalid_request", 400, "tenant not found"},
		{65001, "invalid_grant", 400, "consent"},
		{500011, "invalid_resource", 400, "different clouds"},
		{650057, "invalid_client", 400, "different clouds"},
		{700027, "invalid_client", 401, "certificate"},
	} {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			te := newTokenEndpoint(t, respond(tc.status, entraError(tc.oauthErr, tc.code, "Some description.")))
			a, err := NewClientSecretAuthenticator(tenantID, clientID, "secret", te.opts())
			require.NoError(t, err)
			_, err = a.Token(context.Background())
			var ae *AuthError
			require.ErrorAs(t, err, &ae)
			assert.ErrorIs(t, err, ErrAuthentication)
			assert.Equal(t, tc.status, ae.StatusCode)
			assert.Equal(t, tc.oauthErr, ae.ErrorCode)
			assert.True(t, ae.HasCode(tc.code))
			assert.Equal(t, fmt.Sprintf("trace-%d", tc.code), ae.TraceID)
			assert.Equal(t, fmt.Sprintf("corr-%d", tc.code), ae.CorrelationID)
			assert.Contains(t, ae.Hint, tc.hint)
			msg := err.Error()
			assert.Contains(t, msg, fmt.Sprintf("AADSTS%d", tc.code))
			assert.Contains(t, msg, tc.hint)
			assert.NotContains(t, msg, "\n")
			assert.Len(t, te.forms, 1, "credential errors are not retried")
		})
	}
}

// Scenario 20: odd token responses become *AuthError; 429 and 5xx are retried.
func TestScenario20TokenEndpointFailures(t *testing.T) {
	t.Run("200 with error", func(t *testing.T) {
		te := newTokenEndpoint(t, respond(200, entraError("invalid_client", 7000215, "Invalid client secret provided.")))
		a, _ := NewClientSecretAuthenticator(tenantID, clientID, "secret", te.opts())
		_, err := a.Token(context.Background())
		var ae *AuthError
		require.ErrorAs(t, err, &ae)
		assert.True(t, ae.HasCode(7000215))
	})
	t.Run("200 without access_token", func(t *testing.T) {
		te := newTokenEndpoint(t, respond(200, `{"token_type":"Bearer","expires_in":3599}`))
		a, _ := NewClientSecretAuthenticator(tenantID, clientID, "secret", te.opts())
		_, err := a.Token(context.Background())
		var ae *AuthError
		require.ErrorAs(t, err, &ae)
		assert.Contains(t, err.Error(), "access_token")
		assert.NotEmpty(t, ae.Hint)
	})
	t.Run("HTML from the authority", func(t *testing.T) {
		te := newTokenEndpoint(t, respond(404, "<html><body><h1>Not the authority</h1></body></html>", "Content-Type", "text/html"))
		a, _ := NewClientSecretAuthenticator(tenantID, clientID, "secret", te.opts())
		_, err := a.Token(context.Background())
		var ae *AuthError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, 404, ae.StatusCode)
		assert.Contains(t, err.Error(), "Not the authority")
		assert.NotContains(t, err.Error(), "<h1>")
		assert.Contains(t, ae.Hint, "authority")
	})
	t.Run("429 and 503 are retried", func(t *testing.T) {
		te := newTokenEndpoint(t, sequence(
			respond(429, `{"error":"temporarily_unavailable"}`, "Retry-After", "0"),
			respond(503, ""),
			tokenOK("3599"),
		))
		a, _ := NewClientSecretAuthenticator(tenantID, clientID, "secret", te.opts())
		tok, err := a.Token(context.Background())
		require.NoError(t, err)
		assert.Equal(t, "eyJ0eXAi.access", tok.Token)
		assert.Len(t, te.forms, 3)
	})
	t.Run("429 for good", func(t *testing.T) {
		te := newTokenEndpoint(t, respond(429, `{"error":"temporarily_unavailable","error_description":"AADSTS50196: loop detected"}`))
		a, _ := NewClientSecretAuthenticator(tenantID, clientID, "secret", te.opts())
		_, err := a.Token(context.Background())
		assert.ErrorIs(t, err, ErrThrottled)
		assert.ErrorIs(t, err, ErrAuthentication)
		assert.Len(t, te.forms, 3)
	})
	t.Run("through the Client: not retried by the API loop", func(t *testing.T) {
		te := newTokenEndpoint(t, respond(401, entraError("invalid_client", 7000222, "The provided client secret keys are expired.")))
		a, _ := NewClientSecretAuthenticator(tenantID, clientID, "secret", te.opts())
		c, mt := mockClient(t, a)
		_, err := genToken(c)
		var ae *AuthError
		require.ErrorAs(t, err, &ae)
		assert.True(t, ae.HasCode(7000222))
		assert.Zero(t, mt.GetTotalCallCount(), "nothing sent to the API")
		assert.Len(t, te.forms, 1)
	})
}

func TestAuthenticatorArguments(t *testing.T) {
	ok := &AuthenticatorOptions{}
	for name, err := range map[string]error{
		"empty tenant":     func() error { _, err := NewClientSecretAuthenticator("", clientID, "s", ok); return err }(),
		"tenant with path": func() error { _, err := NewClientSecretAuthenticator("a/../b", clientID, "s", ok); return err }(),
		"client not GUID":  func() error { _, err := NewClientSecretAuthenticator(tenantID, "app", "s", ok); return err }(),
		"empty secret":     func() error { _, err := NewClientSecretAuthenticator(tenantID, clientID, "", ok); return err }(),
		"empty password":   func() error { _, err := NewPasswordAuthenticator(tenantID, clientID, "u", "", ok); return err }(),
		"http authority": func() error {
			_, err := NewClientSecretAuthenticator(tenantID, clientID, "s", &AuthenticatorOptions{AuthorityHost: "http://login.example"})
			return err
		}(),
		"nil key": func() error {
			_, err := NewClientCertificateAuthenticator(tenantID, clientID, nil, nil, ok)
			return err
		}(),
		"bad retry policy": func() error {
			_, err := NewClientSecretAuthenticator(tenantID, clientID, "s", &AuthenticatorOptions{RetryPolicy: &RetryPolicy{MaxRetries: -1}})
			return err
		}(),
	} {
		assert.ErrorIs(t, err, ErrInvalidArgument, name)
	}
	_, err := NewClientSecretAuthenticator("contoso.onmicrosoft.com", clientID, "s", nil)
	assert.NoError(t, err, "a verified domain is a valid tenant")

	_, _, err = ParseCertificates([]byte("not pem"))
	assert.ErrorIs(t, err, ErrInvalidArgument)
}

// The token request carries the client secret, the password or a signed
// client assertion: it is never sent anywhere but the token endpoint. A
// redirect, to another host or to plain http, is an error that names the
// target host, and the target receives nothing.
func TestTokenRequestIsNeverRedirected(t *testing.T) {
	var elsewhere sync.Map
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		elsewhere.Store(r.URL.Path, r.PostForm.Encode())
		tokenOK("3599")(w, r)
	}))
	defer other.Close()
	otherHost := strings.TrimPrefix(other.URL, "http://")
	cert, key, _ := testCertificate(t)
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound} {
		te := newTokenEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/steal", status)
		})
		authenticators := map[string]func() (Authenticator, error){
			"secret": func() (Authenticator, error) {
				return NewClientSecretAuthenticator(tenantID, clientID, "s3cr3t", te.opts())
			},
			"password": func() (Authenticator, error) {
				return NewPasswordAuthenticator(tenantID, clientID, "ann@contoso.com", "pa55word", te.opts())
			},
			"certificate": func() (Authenticator, error) {
				return NewClientCertificateAuthenticator(tenantID, clientID, []*x509.Certificate{cert}, key, te.opts())
			},
		}
		for name, newAuth := range authenticators {
			t.Run(fmt.Sprint(status, " ", name), func(t *testing.T) {
				a, err := newAuth()
				require.NoError(t, err)
				before := len(te.forms)
				_, err = a.Token(context.Background())
				require.ErrorIs(t, err, ErrAuthentication)
				assert.Contains(t, err.Error(), otherHost, "the error names where the redirect pointed")
				assert.Contains(t, err.Error(), "redirect")
				assert.Len(t, te.forms, before+1, "a redirect is not retried")
			})
		}
	}
	elsewhere.Range(func(k, v any) bool {
		t.Errorf("the redirect target received a token request at %v", k)
		return true
	})
}

// An Authenticator of the user's own (AuthenticatorFunc) that fails: its error
// matches ErrAuthentication, says it comes from powerbi, keeps its identity
// for errors.Is, and is scrubbed of any token in its text, in the error and in
// the warning log line.
func TestAuthenticatorFuncErrors(t *testing.T) {
	jwtText := "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2FuYWx5c2lzIn0.c2lnbmF0dXJl"
	cause := errors.New("credential unavailable: cached assertion " + jwtText + " was rejected")
	w := newLeakWitness()
	auth := AuthenticatorFunc(func(context.Context) (AccessToken, error) { return AccessToken{}, cause })
	c, mt := mockClient(t, auth, WithLogger(w.logger))
	_, err := c.Reports.GetReports(context.Background())
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrAuthentication)
	assert.ErrorIs(t, err, cause, "the Authenticator's error stays reachable for errors.Is")
	assert.True(t, strings.HasPrefix(err.Error(), "powerbi: "), err.Error())
	assert.Contains(t, err.Error(), "credential unavailable")
	assert.NotContains(t, err.Error(), jwtText)
	assert.NotContains(t, fmt.Sprintf("%+v %#v", err, err), jwtText)
	assert.NotContains(t, w.logs.String(), jwtText)
	assert.Contains(t, w.logs.String(), "credential unavailable", "the failure is logged")
	assert.Zero(t, mt.GetTotalCallCount())
}

// An authority that cannot be reached: the error names its host (a host is
// not a secret) and hints at what to check.
func TestUnreachableAuthorityNamesTheHost(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	host := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there now
	a, err := NewClientSecretAuthenticator(tenantID, clientID, "s3cr3t", &AuthenticatorOptions{AuthorityHost: "https://" + host,
		RetryPolicy: &RetryPolicy{}})
	require.NoError(t, err)
	_, err = a.Token(context.Background())
	var ae *AuthError
	require.ErrorAs(t, err, &ae)
	assert.Contains(t, err.Error(), host)
	assert.NotContains(t, err.Error(), "[REDACTED]")
	assert.Contains(t, ae.Hint, "reach")
}
