package powerbi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	// defaultMinLifetime is what GenerateToken calls want left on the access
	// token: an embed token never outlives the access token that created it.
	defaultMinLifetime = 30 * time.Minute
)

// tokenCache sits in front of an Authenticator: it refreshes ahead of expiry,
// lets one refresh run at a time however many goroutines ask, and keeps
// serving a still-valid token when a refresh fails.
type tokenCache struct {
	auth   Authenticator
	logger *slog.Logger
	now    func() time.Time

	// cur is the cached token, nil when there is none. It is read without a
	// lock (64 callers contending on a mutex cost more than the rest of a
	// cache hit) and replaced, never modified, under mu.
	cur    atomic.Pointer[tokenSnap]
	mu     sync.Mutex
	flight *flight[*tokenSnap] // the refresh in progress, if any
}

// tokenSnap is an immutable state of the cache.
type tokenSnap struct {
	tok         AccessToken
	bearer      []string // the Authorization header value, built once per token; never modified
	fetchedAt   time.Time
	nextAttempt time.Time // no refresh before this while tok is valid (after a failure)
}

func newTokenSnap(tok AccessToken, fetchedAt time.Time) *tokenSnap {
	return &tokenSnap{tok: tok, bearer: []string{"Bearer " + tok.Token}, fetchedAt: fetchedAt}
}

// usable reports whether the cached token can be served at now to a caller
// that wants minLife left.
func (s *tokenSnap) usable(now time.Time, minLife time.Duration) bool {
	left := s.tok.ExpiresOn.Sub(now)
	want := max(refreshAhead, min(minLife, s.tok.ExpiresOn.Sub(s.fetchedAt)/2))
	return left > want || (left > 0 && now.Before(s.nextAttempt))
}

func newTokenCache(auth Authenticator, logger *slog.Logger) *tokenCache {
	return &tokenCache{auth: auth, logger: logger, now: time.Now}
}

// token returns a valid access token, preferably with at least minLife left.
func (c *tokenCache) token(ctx context.Context, minLife time.Duration) (AccessToken, error) {
	s, err := c.get(ctx, minLife)
	if err != nil {
		return AccessToken{}, err
	}
	return s.tok, nil
}

// get returns a valid token with its header value, preferably with at least
// minLife left. minLife is best effort: it never asks for more than half the
// token's lifetime (a refresh could not do better), and a failing refresh
// falls back to the cached token while that is still valid.
func (c *tokenCache) get(ctx context.Context, minLife time.Duration) (*tokenSnap, error) {
	if s := c.cur.Load(); s != nil && s.usable(c.now(), minLife) {
		return s, nil
	}
	c.mu.Lock()
	if s := c.cur.Load(); s != nil && s.usable(c.now(), minLife) {
		c.mu.Unlock()
		return s, nil
	}
	f := c.flight
	if f == nil {
		f = startFlight(ctx, "the Authenticator", c.fetch, c.land)
		c.flight = f
	}
	c.mu.Unlock()

	s, err := f.wait(ctx)
	if err == nil || ctx.Err() != nil {
		return s, err
	}
	if s := c.cur.Load(); s != nil && s.tok.ExpiresOn.After(c.now()) {
		return s, nil
	}
	return nil, err
}

// fetch asks the Authenticator for a token (in a flight, see startFlight).
func (c *tokenCache) fetch(ctx context.Context) (*tokenSnap, error) {
	tok, err := c.auth.Token(ctx)
	if err != nil {
		return nil, err
	}
	if tok.Token == "" {
		return nil, errors.New("powerbi: the Authenticator returned an empty access token")
	}
	now := c.now()
	if !tok.ExpiresOn.IsZero() && !tok.ExpiresOn.After(now) {
		return nil, fmt.Errorf("%w: the Authenticator returned an access token that expired at %s", ErrTokenExpired, tok.ExpiresOn.UTC().Format(time.RFC3339))
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
			c.logger.Warn("powerbi: access token refresh failed", "error", err.Error(), "keeping_valid_token", cur != nil && cur.tok.ExpiresOn.After(now))
		}
	case !s.tok.ExpiresOn.IsZero():
		c.cur.Store(s)
		if c.logger != nil {
			c.logger.Debug("powerbi: access token refreshed", "expires_on", s.tok.ExpiresOn)
		}
	}
}

// invalidate drops token if it is still the cached one, after the API refused
// it, so the next call fetches a new one at once.
func (c *tokenCache) invalidate(token string) {
	c.mu.Lock()
	if s := c.cur.Load(); s != nil && s.tok.Token == token {
		c.cur.Store(nil)
	}
	c.mu.Unlock()
}
