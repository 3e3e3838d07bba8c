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
	flight *refresh // the refresh in progress, if any
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

type refresh struct {
	done chan struct{}
	snap *tokenSnap
	err  error
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
		f = &refresh{done: make(chan struct{})}
		c.flight = f
		go c.refresh(context.WithoutCancel(ctx), f)
	}
	c.mu.Unlock()

	select {
	case <-f.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if f.err == nil {
		return f.snap, nil
	}
	if s := c.cur.Load(); s != nil && s.tok.ExpiresOn.After(c.now()) {
		return s, nil
	}
	return nil, f.err
}

// refresh asks the Authenticator on a context no single caller can cancel, so
// one caller giving up does not fail the others waiting on the same refresh.
func (c *tokenCache) refresh(ctx context.Context, f *refresh) {
	ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	tok, err := c.fetch(ctx)

	c.mu.Lock()
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
	case tok.ExpiresOn.IsZero():
		// Unknown expiry: never cached, so the Authenticator is asked again next time.
		f.snap = newTokenSnap(tok, now)
	default:
		f.snap = newTokenSnap(tok, now)
		c.cur.Store(f.snap)
		if c.logger != nil {
			c.logger.Debug("powerbi: access token refreshed", "expires_on", tok.ExpiresOn)
		}
	}
	f.err = err
	c.flight = nil
	c.mu.Unlock()
	close(f.done)
}

func (c *tokenCache) fetch(ctx context.Context) (tok AccessToken, err error) {
	defer func() {
		if r := recover(); r != nil {
			// A panicking Authenticator must not take the process down from
			// this goroutine; the value is not printed, it could hold a secret.
			err = fmt.Errorf("powerbi: the Authenticator panicked (%T)", r)
		}
	}()
	tok, err = c.auth.Token(ctx)
	if err != nil {
		return AccessToken{}, err
	}
	if tok.Token == "" {
		return AccessToken{}, errors.New("powerbi: the Authenticator returned an empty access token")
	}
	if !tok.ExpiresOn.IsZero() && !tok.ExpiresOn.After(c.now()) {
		return AccessToken{}, fmt.Errorf("%w: the Authenticator returned an access token that expired at %s", ErrTokenExpired, tok.ExpiresOn.UTC().Format(time.RFC3339))
	}
	return tok, nil
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
