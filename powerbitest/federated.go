package powerbitest

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// federatedAudience is the audience Entra ID requires of a federated token
// (Kubernetes' service account token, GitHub's OIDC token, ...).
const federatedAudience = "api://AzureADTokenExchange"

// federated is a federated identity credential of an app: Entra ID accepts,
// as the app's client assertion, a token that issuer signed for subject.
type federated struct {
	issuer, subject string
}

// AddWorkloadIdentity registers a service principal that signs in with a
// federated token (workload identity): the fake accepts, as its client
// assertion, a token from FederatedToken for the same issuer and subject.
// On AKS the issuer is the cluster's OIDC issuer URL and the subject
// "system:serviceaccount:<namespace>:<name>".
func (s *Server) AddWorkloadIdentity(tenantID, clientID, issuer, subject string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tenants[tenantID] = true
	a := s.appLocked(tenantID, clientID)
	a.federated = append(a.federated, federated{issuer: issuer, subject: subject})
}

// FederatedToken returns a token that issuer signed for subject, as the
// token file of a Kubernetes pod with workload identity holds: write it to
// the file AZURE_FEDERATED_TOKEN_FILE names. It is valid for an hour on the
// fake's clock.
func (s *Server) FederatedToken(issuer, subject string) (string, error) {
	key, err := s.issuerKey()
	if err != nil {
		return "", err
	}
	now := s.Now()
	return jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.RegisteredClaims{
		Issuer: issuer, Subject: subject, Audience: jwt.ClaimStrings{federatedAudience},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
		ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
	}).SignedString(key)
}

// issuerKey is the key of the fake's external token issuer, made once.
func (s *Server) issuerKey() (*rsa.PrivateKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.federatedKey == nil {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		s.federatedKey = key
	}
	return s.federatedKey, nil
}

// verifyFederated checks a federated token: signed by the fake's issuer, for
// the token exchange audience, not expired, and from an issuer and subject
// registered for the app.
func (s *Server) verifyFederated(assertion string, a *app) error {
	key, err := s.issuerKey()
	if err != nil {
		return err
	}
	var claims jwt.RegisteredClaims
	_, err = jwt.ParseWithClaims(assertion, &claims, func(*jwt.Token) (any, error) { return &key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(federatedAudience), jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.Now))
	if err != nil {
		return err
	}
	for _, f := range a.federated {
		if f.issuer == claims.Issuer && f.subject == claims.Subject {
			return nil
		}
	}
	return fmt.Errorf("no matching federated identity record found for presented assertion issuer '%s' and subject '%s'", claims.Issuer, claims.Subject)
}

// openIDConfiguration is the tenant's OpenID Connect metadata, which MSAL
// (and so azidentity) reads before its first token request.
func (s *Server) openIDConfiguration(w http.ResponseWriter, r *http.Request) {
	tenantID := r.PathValue("tenant")
	s.mu.Lock()
	known := s.tenants[tenantID]
	s.mu.Unlock()
	if !known {
		s.entraError(w, 400, "invalid_tenant", 90002, fmt.Sprintf("Tenant '%s' not found.", tenantID))
		return
	}
	base := "https://" + r.Host + "/" + tenantID
	writeJSON(w, 200, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"issuer":                                base + "/v2.0",
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"tenant_region_scope":                   "WW",
	})
}
