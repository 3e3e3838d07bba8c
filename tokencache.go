package powerbi

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// refreshAhead: a cached token is fresh until this long before it expires.
	refreshAhead = 5 * time.Minute
	// retryRefreshAfter: after a failed refresh, while the old token is still
	// valid, the next refresh waits at least this long.
	retryRefreshAfter = 30 * time.Second
	// refreshTimeout bounds one refresh, which runs detached from its callers.
	refreshTimeout = 2 * time.Minute
	// staleRenewal: a 401 that does not refuse the token itself renews it at
	// most this often.
	staleRenewal = 5 * time.Minute
	// defaultMinLifetime is what GenerateToken calls want left on the access
	// token: an embed token never outlives the access token that created it.
	defaultMinLifetime = 30 * time.Minute
)

// tokenCache sits in front of an Authenticator: it refreshes ahead of expiry
// while serving the still-valid token, lets one refresh run at a time however
// many goroutines ask, and keeps serving a still-valid token when a refresh
// fails.
type tokenCache struct {
	auth           Authenticator
	logger         *slog.Logger
	now            func() time.Time
	refreshTimeout time.Duration

	// cur is the cached token, nil when there is none. It is read without a
	// lock (64 callers contending on a mutex cost more than the rest of a
	// cache hit) and replaced, never modified, under mu.
	cur       atomic.Pointer[tokenSnap]
	mu        sync.Mutex
	flight    *flight[*tokenSnap] // the refresh in progress, if any
	lastStale time.Time           // when renewStale last dropped a token
}

// tokenSnap is an immutable state of the cache.
type tokenSnap struct {
	tok         AccessToken
	bearer      []string // the Authorization header value, built once per token; never modified
	fetchedAt   time.Time
	nextAttempt time.Time // no refresh before this while tok is usable (after a failure)
}

func newTokenSnap(tok AccessToken, fetchedAt time.Time) *tokenSnap {
	return &tokenSnap{tok: tok, bearer: []string{"Bearer " + tok.Token}, fetchedAt: fetchedAt}
}

// fresh reports whether the token needs no refresh yet for a caller that
// wants minLife left: it is fresh until refreshAhead before it expires (half
// its life for a token that lives less than twice that), and minLife is never
// more than half its lifetime, which a refresh could not do better than.
func (s *tokenSnap) fresh(now time.Time, minLife time.Duration) bool {
	life := s.tok.ExpiresOn.Sub(s.fetchedAt)
	want := max(min(refreshAhead, life/2), min(minLife, life/2))
	return s.tok.ExpiresOn.Sub(now) > want
}

// usable reports whether the token can still be sent: it will not expire on
// the way (see expiryMargin).
func (s *tokenSnap) usable(now time.Time) bool {
	return s.tok.ExpiresOn.Sub(now) > expiryMargin(s.tok.ExpiresOn.Sub(s.fetchedAt))
}

// expiryMargin is how long before its expiry a token of the given lifetime
// stops being served: 30 seconds, or a tenth of a shorter life.
func expiryMargin(life time.Duration) time.Duration {
	return min(30*time.Second, life/10)
}

func newTokenCache(auth Authenticator, logger *slog.Logger) *tokenCache {
	return &tokenCache{auth: auth, logger: logger, now: time.Now, refreshTimeout: refreshTimeout}
}

// token returns a valid access token, preferably with at least minLife left.
func (c *tokenCache) token(ctx context.Context, minLife time.Duration) (AccessToken, error) {
	s, err := c.get(ctx, minLife)
	if err != nil {
		return AccessToken{}, err
	}
	return s.tok, nil
}

// get returns a valid token with its header value. Inside the refresh-ahead
// window the cached token is served at once and one refresh runs behind the
// callers. A caller that wants minLife left (GenerateToken) waits for that
// refresh, since the embed token it creates lives no longer than the access
// token; should it fail, the cached token is served while usable. After a
// failed refresh, a usable token is served without a new attempt until
// nextAttempt.
func (c *tokenCache) get(ctx context.Context, minLife time.Duration) (*tokenSnap, error) {
	if s := c.cur.Load(); s != nil && s.fresh(c.now(), minLife) {
		return s, nil
	}
	c.mu.Lock()
	now := c.now()
	s := c.cur.Load()
	usable := s != nil && s.usable(now)
	if s != nil && s.fresh(now, minLife) || usable && now.Before(s.nextAttempt) {
		c.mu.Unlock()
		return s, nil
	}
	f := c.flight
	if f == nil {
		f = startFlight(ctx, "the Authenticator", c.refreshTimeout, c.fetch, c.land)
		c.flight = f
	}
	c.mu.Unlock()
	if usable && !s.fresh(now, 0) {
		return s, nil // inside the refresh-ahead window: the refresh runs behind
	}

	v, err := f.wait(ctx)
	if err == nil || ctx.Err() != nil {
		return v, err
	}
	if s := c.cur.Load(); s != nil && s.usable(c.now()) {
		return s, nil
	}
	return nil, err
}

// fetch asks the Authenticator for a token (in a flight, see startFlight).
func (c *tokenCache) fetch(ctx context.Context) (*tokenSnap, error) {
	tok, err := c.auth.Token(ctx)
	var ae *AuthError
	switch {
	case errors.As(err, &ae):
		return nil, err // the built-in authenticators' errors are already clean
	case err != nil:
		return nil, authenticatorFailed(err, "the Authenticator failed: ", err.Error())
	case tok.Token == "":
		return nil, authenticatorFailed(nil, "the Authenticator returned an empty access token", "")
	}
	now := c.now()
	if !tok.ExpiresOn.IsZero() && !tok.ExpiresOn.After(now) {
		return nil, authenticatorFailed(ErrTokenExpired, "the Authenticator returned an access token that expired at ", tok.ExpiresOn.UTC().Format(time.RFC3339))
	}
	return newTokenSnap(tok, now), nil
}

// land records a finished refresh. A failure keeps the cached token (valid or
// not: get decides) and puts off the next attempt; a token of unknown expiry
// is handed to the waiting callers but never cached, so the Authenticator is
// asked again next time.
func (c *tokenCache) land(s *tokenSnap, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flight = nil
	now := c.now()
	cur := c.cur.Load()
	switch {
	case err != nil:
		if cur != nil {
			next := *cur
			next.nextAttempt = now.Add(retryRefreshAfter)
			c.cur.Store(&next)
		}
		if c.logger != nil {
			// The error texts are built to carry no secret.
			c.logger.Warn("powerbi: access token refresh failed", "error", err.Error(), "keeping_valid_token", cur != nil && cur.usable(now))
		}
	case !s.tok.ExpiresOn.IsZero():
		c.cur.Store(s)
		if c.logger != nil {
			c.logger.Debug("powerbi: access token refreshed", "expires_on", s.tok.ExpiresOn)
		}
	}
}

// authenticatorError is an Authenticator's failure as the Client reports it:
// errors.Is matches ErrAuthentication and, through Unwrap, the Authenticator's
// own error; the text says where it comes from and is scrubbed of anything
// shaped like a token, which a credential's message may quote.
type authenticatorError struct {
	err  error
	text string
}

func authenticatorFailed(err error, what, detail string) *authenticatorError {
	return &authenticatorError{err: err, text: "powerbi: " + what + oneLine(strings.TrimPrefix(detail, "powerbi: "), 300)}
}

func (e *authenticatorError) Error() string        { return e.text }
func (e *authenticatorError) Unwrap() error        { return e.err }
func (e *authenticatorError) Is(target error) bool { return target == ErrAuthentication }

// invalidate drops token if it is still the cached one, after the API refused
// it, so the next call fetches a new one at once.
func (c *tokenCache) invalidate(token string) {
	c.mu.Lock()
	c.dropLocked(token)
	c.mu.Unlock()
}

// renewStale drops token like invalidate, but at most once per staleRenewal,
// and reports whether it did.
func (c *tokenCache) renewStale(token string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if !c.lastStale.IsZero() && now.Sub(c.lastStale) < staleRenewal {
		return false
	}
	c.lastStale = now
	c.dropLocked(token)
	return true
}

func (c *tokenCache) dropLocked(token string) {
	if s := c.cur.Load(); s != nil && s.tok.Token == token {
		c.cur.Store(nil)
	}
}
