package powerbi

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// AccessToken is an Entra ID access token for the Power BI API.
type AccessToken struct {
	Token     string
	ExpiresOn time.Time // zero: unknown, and then the Client does not cache the token
}

// String hides the token when an AccessToken is printed.
func (t AccessToken) String() string {
	return "{Token:[REDACTED] ExpiresOn:" + t.ExpiresOn.Format(time.RFC3339) + "}"
}

// GoString hides the token when an AccessToken is printed with %#v.
func (t AccessToken) GoString() string { return "powerbi.AccessToken" + t.String() }

// Authenticator supplies access tokens for the Power BI API.
type Authenticator interface {
	// Token returns a valid access token for the Power BI API. Safe for concurrent use.
	Token(ctx context.Context) (AccessToken, error)
}

// AuthenticatorFunc adapts a function to Authenticator; use it to plug in any
// other token source, such as azidentity's managed or workload identity.
type AuthenticatorFunc func(ctx context.Context) (AccessToken, error)

// Token calls f(ctx).
func (f AuthenticatorFunc) Token(ctx context.Context) (AccessToken, error) { return f(ctx) }

// StaticToken returns an Authenticator that always returns token with an
// unknown expiry, for tests and short scripts. The Client sends it as it is.
func StaticToken(token string) Authenticator { return staticToken{token: token} }

type staticToken struct{ token string }

func (s staticToken) Token(context.Context) (AccessToken, error) {
	if s.token == "" {
		return AccessToken{}, invalid("StaticToken", "the token is empty")
	}
	return AccessToken{Token: s.token}, nil
}

// Format hides the token however the value is printed.
func (s staticToken) Format(f fmt.State, _ rune) { fmt.Fprint(f, "powerbi.StaticToken{[REDACTED]}") }

// AuthenticatorOptions configures the built-in Entra ID authenticators. The
// zero value (or nil) means the public cloud and a default HTTP client.
type AuthenticatorOptions struct {
	// Cloud gives the authority host and the scope; default CloudPublic. Use the
	// same Cloud for the Client (WithCloud).
	Cloud Cloud
	// AuthorityHost overrides Cloud.AuthorityHost, e.g. for a powerbitest fake. Must be https.
	AuthorityHost string
	// HTTPClient sends the token requests; default: a pooled client with timeouts.
	// 429, 5xx and connection errors are retried on top of it.
	HTTPClient *http.Client
	// RetryPolicy for the token endpoint; default DefaultRetryPolicy with 3 retries.
	RetryPolicy *RetryPolicy
	// Clock is the time on which a token's ExpiresOn is given (default
	// time.Now); for tests on a fake clock, with the Client's WithClock.
	Clock func() time.Time
}

// entraAuthenticator is the shared core of the built-in authenticators: one
// fresh token request to the Entra ID v2.0 endpoint per Token call (the
// Client's cache does the caching).
type entraAuthenticator struct {
	kind     string // "client secret", "client certificate", "password"
	tenantID string
	clientID string
	host     string // the authority's host, named in errors
	tokenURL string
	scope    string
	hc       *http.Client
	fetch    func(ctx context.Context) (*oauth2.Token, error)
	secrets  []string // redacted from anything taken from a response
	now      func() time.Time
}

// NewClientSecretAuthenticator authenticates a service principal with a client
// secret (the OAuth client credentials grant). Pass the secret's Value, not its
// Secret ID.
func NewClientSecretAuthenticator(tenantID, clientID, clientSecret string, opts *AuthenticatorOptions) (Authenticator, error) {
	if clientSecret == "" {
		return nil, invalid("clientSecret", "is empty")
	}
	a, err := newEntraAuthenticator("client secret", tenantID, clientID, opts)
	if err != nil {
		return nil, err
	}
	cfg := &clientcredentials.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		TokenURL:     a.tokenURL,
		Scopes:       []string{a.scope},
		AuthStyle:    oauth2.AuthStyleInParams,
	}
	a.fetch = cfg.Token
	a.secrets = withEncodings(clientSecret)
	return a, nil
}

// NewClientCertificateAuthenticator authenticates a service principal with a
// certificate: each token request carries a fresh JWT client assertion signed
// (PS256) with key, whose header names the certificate by its SHA-256
// thumbprint (x5t#S256). certs must contain the certificate of key; Entra ID
// accepts RSA keys only. ParseCertificates reads both from PEM.
func NewClientCertificateAuthenticator(tenantID, clientID string, certs []*x509.Certificate, key crypto.PrivateKey, opts *AuthenticatorOptions) (Authenticator, error) {
	rsaKey, ok := key.(*rsa.PrivateKey)
	if !ok || rsaKey == nil {
		return nil, invalid("key", "must be an RSA private key (*rsa.PrivateKey), got %T", key)
	}
	leaf := matchingCertificate(certs, &rsaKey.PublicKey)
	if leaf == nil {
		return nil, invalid("certs", "contain no certificate for the private key")
	}
	a, err := newEntraAuthenticator("client certificate", tenantID, clientID, opts)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(leaf.Raw)
	thumbprint := base64.RawURLEncoding.EncodeToString(sum[:])
	a.fetch = func(ctx context.Context) (*oauth2.Token, error) {
		assertion, err := clientAssertion(clientID, a.tokenURL, thumbprint, rsaKey)
		if err != nil {
			return nil, err
		}
		cfg := &clientcredentials.Config{
			ClientID:  clientID,
			TokenURL:  a.tokenURL,
			Scopes:    []string{a.scope},
			AuthStyle: oauth2.AuthStyleInParams,
			EndpointParams: url.Values{
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
				"client_assertion":      {assertion},
			},
		}
		return cfg.Token(ctx)
	}
	return a, nil
}

// NewPasswordAuthenticator authenticates a "master user" with a username and
// password (the OAuth resource owner password grant), as in Microsoft's early
// embedding samples. Discouraged: it cannot pass multi-factor authentication
// (AADSTS50076) and ties embedding to one person's account; prefer a service
// principal. clientID is a public client app registration.
func NewPasswordAuthenticator(tenantID, clientID, username, password string, opts *AuthenticatorOptions) (Authenticator, error) {
	if username == "" {
		return nil, invalid("username", "is empty")
	}
	if password == "" {
		return nil, invalid("password", "is empty")
	}
	a, err := newEntraAuthenticator("password", tenantID, clientID, opts)
	if err != nil {
		return nil, err
	}
	cfg := &oauth2.Config{
		ClientID: clientID,
		Endpoint: oauth2.Endpoint{TokenURL: a.tokenURL, AuthStyle: oauth2.AuthStyleInParams},
		Scopes:   []string{a.scope},
	}
	a.fetch = func(ctx context.Context) (*oauth2.Token, error) {
		return cfg.PasswordCredentialsToken(ctx, username, password)
	}
	a.secrets = withEncodings(password)
	return a, nil
}

func newEntraAuthenticator(kind, tenantID, clientID string, opts *AuthenticatorOptions) (*entraAuthenticator, error) {
	if opts == nil {
		opts = &AuthenticatorOptions{}
	}
	if err := checkTenant(tenantID); err != nil {
		return nil, err
	}
	if err := checkGUID("clientID", clientID); err != nil {
		return nil, err
	}
	cloud := opts.Cloud
	if cloud == (Cloud{}) {
		cloud = CloudPublic
	}
	if cloud.Scope == "" {
		return nil, invalid("Cloud.Scope", "is empty")
	}
	host := firstNonEmpty(opts.AuthorityHost, cloud.AuthorityHost)
	u, err := url.Parse(host)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.User != nil {
		return nil, invalid("AuthorityHost", "must be an https URL such as https://login.microsoftonline.com")
	}
	policy := DefaultRetryPolicy()
	policy.MaxRetries = 3
	if opts.RetryPolicy != nil {
		policy = *opts.RetryPolicy
	}
	if err := policy.validate(); err != nil {
		return nil, err
	}
	// go-retryablehttp closes the idle connections of its transport after a
	// failed call; keepPool keeps it away from a pool others may share.
	hc := &http.Client{Transport: keepPool{baseTransport(opts.HTTPClient)}, CheckRedirect: refuseRedirects}
	if opts.HTTPClient != nil {
		hc.Jar, hc.Timeout = opts.HTTPClient.Jar, opts.HTTPClient.Timeout
	}
	rc := newRetryClient(hc, policy)
	return &entraAuthenticator{
		kind:     kind,
		tenantID: tenantID,
		clientID: clientID,
		host:     u.Host,
		tokenURL: strings.TrimRight(u.String(), "/") + "/" + tenantID + "/oauth2/v2.0/token",
		scope:    cloud.Scope,
		hc:       rc.StandardClient(),
		now:      opts.Clock,
	}, nil
}

// Token requests a new access token from Entra ID.
func (a *entraAuthenticator) Token(ctx context.Context) (AccessToken, error) {
	tok, err := a.fetch(context.WithValue(ctx, oauth2.HTTPClient, a.hc))
	if err != nil {
		return AccessToken{}, a.authError(err)
	}
	exp := tok.Expiry // x/oauth2 adds expires_in to time.Now
	if a.now != nil && !exp.IsZero() {
		exp = a.now().Add(time.Until(exp))
	}
	return AccessToken{Token: tok.AccessToken, ExpiresOn: exp}, nil
}

func (a *entraAuthenticator) authError(err error) error {
	var (
		re *oauth2.RetrieveError
		e  *AuthError
	)
	switch {
	case errors.As(err, &re):
		status, ct := 0, ""
		if re.Response != nil {
			status, ct = re.Response.StatusCode, re.Response.Header.Get("Content-Type")
		}
		e = newAuthError(status, ct, re.Body, nil, a.secrets...)
	case strings.Contains(err.Error(), "missing access_token"):
		e = newAuthError(http.StatusOK, "", nil, errors.New("the response has no access_token"), a.secrets...)
	default:
		// A transport error, a context error, or a 2xx body that is not JSON.
		// A transport error quotes the token endpoint's URL; the AuthError
		// names its host instead.
		e = newAuthError(0, "", nil, cleanError("", withoutURL(err), a.secrets...), a.secrets...)
	}
	e.Host = a.host
	return e
}

// withoutURL strips the *url.Error layers net/http and the retry loop wrap
// around a transport error.
func withoutURL(err error) error {
	for {
		ue, ok := err.(*url.Error)
		if !ok {
			return err
		}
		err = ue.Err
	}
}

// refuseRedirects is the redirect policy of token requests: they carry the
// client secret, the password or a signed client assertion, which go to the
// token endpoint and nowhere else.
func refuseRedirects(req *http.Request, _ []*http.Request) error {
	return noRetryError{&redirectError{fmt.Sprintf("the token endpoint answered with a redirect to %s://%s; token requests are never redirected", req.URL.Scheme, req.URL.Host)}}
}

// keepPool hides the base transport's CloseIdleConnections from go-retryablehttp.
type keepPool struct{ rt http.RoundTripper }

func (k keepPool) RoundTrip(r *http.Request) (*http.Response, error) { return k.rt.RoundTrip(r) }

// Format describes the authenticator without any secret, however it is printed.
func (a *entraAuthenticator) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "powerbi.Authenticator{%s, tenant %s, client %s, %s}", a.kind, a.tenantID, a.clientID, a.tokenURL)
}

// checkTenant accepts a tenant GUID, a verified domain, or "organizations".
func checkTenant(tenantID string) error {
	if tenantID == "" {
		return invalid("tenantID", "is empty; want the directory (tenant) ID or a verified domain")
	}
	if len(tenantID) > 256 {
		return invalid("tenantID", "is %d characters long; at most 256 are allowed", len(tenantID))
	}
	for _, r := range tenantID {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '.') {
			return invalid("tenantID", "must be a tenant GUID or a domain name (letters, digits, '-' and '.')")
		}
	}
	return nil
}

func matchingCertificate(certs []*x509.Certificate, pub *rsa.PublicKey) *x509.Certificate {
	for _, c := range certs {
		if k, ok := c.PublicKey.(*rsa.PublicKey); ok && k.Equal(pub) {
			return c
		}
	}
	return nil
}

// clientAssertion signs the JWT Entra ID expects from a certificate credential.
func clientAssertion(clientID, audience, thumbprint string, key *rsa.PrivateKey) (string, error) {
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", err
	}
	now := time.Now()
	t := jwt.NewWithClaims(jwt.SigningMethodPS256, jwt.RegisteredClaims{
		Issuer:    clientID,
		Subject:   clientID,
		Audience:  jwt.ClaimStrings{audience},
		ID:        hex.EncodeToString(id[:]),
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(10 * time.Minute)),
	})
	t.Header["x5t#S256"] = thumbprint
	s, err := t.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("powerbi: signing the client assertion: %w", err)
	}
	return s, nil
}

// ParseCertificates reads certificates and one unencrypted private key (PKCS#8,
// PKCS#1 or SEC 1) from PEM data, as exported for an Entra ID app registration.
// Pass the results to NewClientCertificateAuthenticator.
func ParseCertificates(pemData []byte) ([]*x509.Certificate, crypto.PrivateKey, error) {
	var certs []*x509.Certificate
	var key crypto.PrivateKey
	for {
		var block *pem.Block
		block, pemData = pem.Decode(pemData)
		if block == nil {
			break
		}
		switch block.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, nil, invalid("certificate", "cannot be parsed: %v", err)
			}
			certs = append(certs, c)
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
			if key != nil {
				return nil, nil, invalid("private key", "more than one key in the PEM data")
			}
			k, err := parsePrivateKey(block)
			if err != nil {
				return nil, nil, err
			}
			key = k
		case "ENCRYPTED PRIVATE KEY":
			return nil, nil, invalid("private key", "is encrypted; decrypt it first (openssl pkcs8 -nocrypt)")
		}
	}
	if len(certs) == 0 {
		return nil, nil, invalid("certificate", "no CERTIFICATE block in the PEM data")
	}
	if key == nil {
		return nil, nil, invalid("private key", "no PRIVATE KEY block in the PEM data")
	}
	return certs, key, nil
}

func parsePrivateKey(block *pem.Block) (crypto.PrivateKey, error) {
	var k crypto.PrivateKey
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		// The parser's message never quotes key material.
		return nil, invalid("private key", "cannot be parsed: %v", err)
	}
	return k, nil
}
