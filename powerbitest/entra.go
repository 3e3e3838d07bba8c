package powerbitest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// app is a registered application (service principal).
type app struct {
	tenantID  string
	clientID  string
	secret    string
	cert      *x509.Certificate
	federated []federated // workload identity: accepted issuers and subjects
}

// user is a master user.
type user struct {
	tenantID string
	username string
	password string
}

// accessToken is an access token the fake issued.
type accessToken struct {
	subject   string // client ID of a service principal, or a username
	tenantID  string
	expiresOn time.Time
}

// AddServicePrincipal registers a service principal that signs in with a
// client secret. The tenant is created if new.
func (s *Server) AddServicePrincipal(tenantID, clientID, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tenants[tenantID] = true
	a := s.appLocked(tenantID, clientID)
	a.secret = secret
}

// AddServicePrincipalCertificate registers a service principal that signs in
// with a certificate: the fake verifies its client assertions with cert.
func (s *Server) AddServicePrincipalCertificate(tenantID, clientID string, cert *x509.Certificate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tenants[tenantID] = true
	s.appLocked(tenantID, clientID).cert = cert
}

// AddUser registers a master user who signs in with a password, through the
// public client app clientID (registered if new).
func (s *Server) AddUser(tenantID, clientID, username, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tenants[tenantID] = true
	s.appLocked(tenantID, clientID)
	s.users[strings.ToLower(username)] = &user{tenantID: tenantID, username: username, password: password}
}

func (s *Server) appLocked(tenantID, clientID string) *app {
	a, ok := s.apps[clientID]
	if !ok {
		a = &app{tenantID: tenantID, clientID: clientID}
		s.apps[clientID] = a
	}
	return a
}

// entraError writes the JSON Entra ID sends with a refusal.
func (s *Server) entraError(w http.ResponseWriter, status int, oauthErr string, code int, desc string) {
	traceID, corrID := NewGUID(), NewGUID()
	now := s.Now().Format("2006-01-02 15:04:05Z")
	writeJSON(w, status, map[string]any{
		"error":             oauthErr,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", code, desc, traceID, corrID, now),
		"error_codes":       []int{code},
		"timestamp":         now,
		"trace_id":          traceID,
		"correlation_id":    corrID,
		"error_uri":         fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", code),
	})
}

// token is the Entra ID v2.0 token endpoint: client credentials (secret or
// certificate assertion) and the password grant.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	tenantID := r.PathValue("tenant")
	if err := r.ParseForm(); err != nil {
		s.entraError(w, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	f := r.PostForm
	s.mu.Lock()
	knownTenant := s.tenants[tenantID]
	a := s.apps[f.Get("client_id")]
	scope := s.scope
	s.mu.Unlock()
	switch {
	case !knownTenant:
		s.entraError(w, 400, "invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenantID))
		return
	case a == nil || a.tenantID != tenantID:
		s.entraError(w, 400, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", f.Get("client_id"), tenantID))
		return
	case resourceScope(f.Get("scope")) != scope:
		s.entraError(w, 400, "invalid_scope", 500011, fmt.Sprintf("The resource principal named %s was not found in the tenant.", strings.TrimSuffix(f.Get("scope"), "/.default")))
		return
	}
	var subject string
	switch f.Get("grant_type") {
	case "client_credentials":
		if !s.checkClientCredential(w, r, a) {
			return
		}
		subject = a.clientID
	case "password":
		s.mu.Lock()
		u := s.users[strings.ToLower(f.Get("username"))]
		s.mu.Unlock()
		if u == nil || u.tenantID != tenantID || subtle.ConstantTimeCompare([]byte(u.password), []byte(f.Get("password"))) != 1 {
			s.entraError(w, 400, "invalid_grant", 50126, "Error validating credentials due to invalid username or password.")
			return
		}
		subject = u.username
	default:
		s.entraError(w, 400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
		return
	}
	tok := "fake-at-" + randomHex(24)
	s.mu.Lock()
	expires := s.nowLocked().Add(s.expiresIn)
	s.tokens[tok] = &accessToken{subject: subject, tenantID: tenantID, expiresOn: expires}
	life := int(s.expiresIn / time.Second)
	s.mu.Unlock()
	writeJSON(w, 200, map[string]any{"token_type": "Bearer", "expires_in": life, "ext_expires_in": life, "access_token": tok})
}

// resourceScope is the scope of a token request without the OpenID Connect
// scopes MSAL adds to every request (openid, offline_access, profile), which
// Entra ID ignores for the client credentials grant.
func resourceScope(scope string) string {
	var rest []string
	for _, s := range strings.Fields(scope) {
		switch s {
		case "openid", "offline_access", "profile":
		default:
			rest = append(rest, s)
		}
	}
	return strings.Join(rest, " ")
}

// checkClientCredential verifies a client secret or a certificate assertion.
func (s *Server) checkClientCredential(w http.ResponseWriter, r *http.Request, a *app) bool {
	f := r.PostForm
	if assertion := f.Get("client_assertion"); assertion != "" {
		if f.Get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" && a.cert == nil && len(a.federated) > 0 {
			if err := s.verifyFederated(assertion, a); err != nil {
				s.entraError(w, 400, "invalid_client", 70021, err.Error())
				return false
			}
			return true
		}
		if f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" || a.cert == nil {
			s.entraError(w, 401, "invalid_client", 700027, "Client assertion failed signature validation.")
			return false
		}
		if err := s.verifyAssertion(assertion, a, "https://"+r.Host+r.URL.Path); err != nil {
			s.entraError(w, 401, "invalid_client", 700027, "Client assertion failed signature validation. "+err.Error())
			return false
		}
		return true
	}
	secret := f.Get("client_secret")
	if secret == "" {
		s.entraError(w, 401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return false
	}
	if a.secret == "" || subtle.ConstantTimeCompare([]byte(a.secret), []byte(secret)) != 1 {
		s.entraError(w, 401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+a.clientID+"'.")
		return false
	}
	return true
}

func (s *Server) verifyAssertion(assertion string, a *app, audience string) error {
	sum := sha256.Sum256(a.cert.Raw)
	thumb := base64.RawURLEncoding.EncodeToString(sum[:])
	pub, ok := a.cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("the registered certificate has no RSA key")
	}
	_, err := jwt.Parse(assertion, func(t *jwt.Token) (any, error) {
		if t.Header["x5t#S256"] != thumb {
			return nil, fmt.Errorf("the assertion names another certificate")
		}
		return pub, nil
	}, jwt.WithValidMethods([]string{"PS256", "RS256"}), jwt.WithAudience(audience), jwt.WithIssuer(a.clientID),
		jwt.WithSubject(a.clientID), jwt.WithExpirationRequired(), jwt.WithTimeFunc(s.Now), jwt.WithLeeway(5*time.Minute))
	return err
}

// caller resolves the request's bearer token, or answers 401/403 and returns nil.
func (s *Server) caller(w http.ResponseWriter, r *http.Request) *accessToken {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	tok := s.tokens[raw]
	now := s.nowLocked()
	s.mu.Unlock()
	switch {
	case !ok || tok == nil:
		w.Header().Set("X-PowerBI-Error-Info", "InvalidToken")
		w.WriteHeader(http.StatusUnauthorized)
		return nil
	case !now.Before(tok.expiresOn):
		w.Header().Set("X-PowerBI-Error-Info", "TokenExpired")
		writeJSON(w, http.StatusForbidden, map[string]any{"error": map[string]any{"code": "TokenExpired", "message": "Access token has expired, resubmit with a new access token"}})
		return nil
	}
	return tok
}

// NewCertificate makes a self-signed RSA certificate valid for a day, its key,
// and both as PEM (what powerbi.ParseCertificates reads), for tests of the
// certificate flow: register cert with AddServicePrincipalCertificate.
func NewCertificate() (*x509.Certificate, *rsa.PrivateKey, []byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: "powerbitest"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, nil, err
	}
	pemData := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})...)
	return cert, key, pemData, nil
}
