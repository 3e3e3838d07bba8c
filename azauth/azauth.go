// Package azauth signs a powerbi.Client in with any azcore.TokenCredential:
// the managed identity of an App Service, Container App, VM or Function, the
// workload identity of an AKS pod, the Azure CLI of a developer, or
// DefaultAzureCredential, which tries them in turn.
//
//	cred, err := azidentity.NewDefaultAzureCredential(nil)
//	if err != nil { ... }
//	auth, err := azauth.New(cred, nil)
//	if err != nil { ... }
//	client, err := powerbi.NewClient(auth)
//
// The Authenticator asks the credential for the Power BI scope of the cloud
// it is given (public by default) and passes the token's expiry on, so the
// Client caches the token and refreshes it ahead of time. A credential's
// failure matches powerbi.ErrAuthentication, with the credential's own
// message cut to one line and cleared of anything shaped like a token.
//
// It is a module of its own so that the core module does not depend on azcore.
package azauth

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/gopowerbi/powerbi"
)

// Options configure the Authenticator. The zero value (or nil) is the public
// cloud.
type Options struct {
	// Cloud whose Power BI scope is requested (default powerbi.CloudPublic).
	// Give the Client the same cloud with powerbi.WithCloud, and the
	// credential the matching authority (azcore's cloud.Configuration).
	Cloud powerbi.Cloud
	// TenantID, when set, asks the credential for a token from this tenant
	// (for credentials that may serve several).
	TenantID string
}

// New returns a powerbi.Authenticator that gets its tokens from cred.
func New(cred azcore.TokenCredential, opts *Options) (powerbi.Authenticator, error) {
	if cred == nil {
		return nil, &powerbi.ValidationError{Field: "cred", Reason: "is nil"}
	}
	o := Options{}
	if opts != nil {
		o = *opts
	}
	if o.Cloud == (powerbi.Cloud{}) {
		o.Cloud = powerbi.CloudPublic
	}
	if o.Cloud.Scope == "" {
		return nil, &powerbi.ValidationError{Field: "Options.Cloud.Scope", Reason: "is empty"}
	}
	return &authenticator{cred: cred, opts: policy.TokenRequestOptions{Scopes: []string{o.Cloud.Scope}, TenantID: o.TenantID}}, nil
}

type authenticator struct {
	cred azcore.TokenCredential
	opts policy.TokenRequestOptions
}

// Token asks the credential for a token; every call is a request to the
// credential, whose own cache may answer it (the Client caches too).
func (a *authenticator) Token(ctx context.Context) (powerbi.AccessToken, error) {
	tok, err := a.cred.GetToken(ctx, a.opts)
	if err != nil {
		return powerbi.AccessToken{}, credentialError(a.cred, err)
	}
	if tok.Token == "" {
		return powerbi.AccessToken{}, &Error{Credential: credentialName(a.cred), Message: "the credential returned an empty token"}
	}
	return powerbi.AccessToken{Token: tok.Token, ExpiresOn: tok.ExpiresOn}, nil
}

// Error is a credential's failure to give a token. errors.Is(err,
// powerbi.ErrAuthentication) matches it, and errors.As finds the
// credential's own error (azidentity's *AuthenticationFailedError, say)
// through Unwrap. Its text is one line and carries no token.
type Error struct {
	Credential string // the credential's type, e.g. "ManagedIdentityCredential"
	Message    string // the credential's message, on one line, scrubbed
	err        error
}

func (e *Error) Error() string {
	return fmt.Sprintf("powerbi/azauth: %s could not get a Power BI token: %s", e.Credential, e.Message)
}

// Is matches powerbi.ErrAuthentication.
func (e *Error) Is(target error) bool { return target == powerbi.ErrAuthentication }

// Unwrap returns the credential's error.
func (e *Error) Unwrap() error { return e.err }

func credentialError(cred azcore.TokenCredential, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// The caller gave up: not a sign-in failure, and nothing to explain.
		return &Error{Credential: credentialName(cred), Message: "the context ended before the credential answered: " + contextErr(err).Error(), err: err}
	}
	return &Error{Credential: credentialName(cred), Message: scrub(err.Error()), err: err}
}

func contextErr(err error) error {
	if errors.Is(err, context.Canceled) {
		return context.Canceled
	}
	return context.DeadlineExceeded
}

func credentialName(cred azcore.TokenCredential) string {
	name := fmt.Sprintf("%T", cred)
	name = name[strings.LastIndexAny(name, ".*")+1:]
	return name
}

var (
	// A JWT (an access token or an assertion), or a long opaque token.
	tokenShaped = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{5,}(\.[A-Za-z0-9_-]*){0,2}|[A-Za-z0-9_\-+=]{48,}`)
	// Fields of a token response or request that a credential may quote.
	secretField = regexp.MustCompile(`(?i)("?(access_token|refresh_token|client_secret|client_assertion|id_token)"?\s*[:=]\s*)("[^"]*"|[^\s&,}]+)`)
	spaces      = regexp.MustCompile(`\s+`)
	dashes      = regexp.MustCompile(`-{3,}`)
)

// scrub puts a credential's message on one line (azidentity's span several,
// with a response dump between rules of dashes), without secrets, and cuts
// it to a readable length.
func scrub(msg string) string {
	msg = dashes.ReplaceAllString(msg, " ")
	msg = secretField.ReplaceAllString(msg, "${1}[REDACTED]")
	msg = tokenShaped.ReplaceAllString(msg, "[REDACTED]")
	msg = strings.TrimSpace(spaces.ReplaceAllString(msg, " "))
	if r := []rune(msg); len(r) > 400 {
		msg = string(r[:400]) + "…"
	}
	return msg
}
