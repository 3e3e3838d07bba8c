package powerbi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingAuth hands out tok-1, tok-2, ... each valid for life, and counts calls.
type countingAuth struct {
	calls atomic.Int64
	life  time.Duration
	now   func() time.Time
	delay time.Duration
	fail  atomic.Bool
}

func (a *countingAuth) Token(ctx context.Context) (AccessToken, error) {
	n := a.calls.Add(1)
	if a.delay > 0 {
		select {
		case <-time.After(a.delay):
		case <-ctx.Done():
			return AccessToken{}, ctx.Err()
		}
	}
	if a.fail.Load() {
		return AccessToken{}, &AuthError{StatusCode: 503, ErrorCode: "temporarily_unavailable"}
	}
	now := time.Now
	if a.now != nil {
		now = a.now
	}
	return AccessToken{Token: fmt.Sprintf("tok-%d", n), ExpiresOn: now().Add(a.life)}, nil
}

// clock is a fake time source for the cache.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Scenario 15: a 401 (and, separately, a 403 TokenExpired) drops the used
// token, fetches one new token and replays the call once; a second refusal is
// returned, not looped on.
func TestScenario15RefusedTokenReplayedOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		header string
	}{
		{"401", 401, "", "InvalidToken"},
		{"403 TokenExpired", 403, `{"error":{"code":"TokenExpired","message":"Access token has expired, resubmit with a new access token"}}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auth := &countingAuth{life: time.Hour}
			c, mt := mockClient(t, auth)
			var seen []string
			refuse := func(req *http.Request) (*http.Response, error) {
				seen = append(seen, req.Header.Get("Authorization"))
				resp := httpmock.NewStringResponse(tc.status, tc.body)
				if tc.header != "" {
					resp.Header.Set("X-PowerBI-Error-Info", tc.header)
				}
				return resp, nil
			}
			mt.RegisterNoResponder(func(req *http.Request) (*http.Response, error) {
				if len(seen) == 0 {
					return refuse(req)
				}
				seen = append(seen, req.Header.Get("Authorization"))
				return httpmock.NewStringResponse(200, tokenJSON), nil
			})
			tok, err := genToken(c)
			require.NoError(t, err)
			assert.Equal(t, "H4sI-embed", tok.Token)
			assert.Equal(t, []string{"Bearer tok-1", "Bearer tok-2"}, seen)
			assert.EqualValues(t, 2, auth.calls.Load())

			// Always refused: one replay, then the error.
			seen = nil
			mt.RegisterNoResponder(refuse)
			_, err = genToken(c)
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tc.status, apiErr.StatusCode)
			assert.Equal(t, []string{"Bearer tok-2", "Bearer tok-3"}, seen, "the cached token, then one new one")
			assert.EqualValues(t, 3, auth.calls.Load())
			assert.NotEmpty(t, apiErr.Hint)
		})
	}
}

// The replay drops only the token it used: a token another caller already
// replaced stays cached.
func TestInvalidateOnlyTheUsedToken(t *testing.T) {
	auth := &countingAuth{life: time.Hour}
	c := newTokenCache(auth, nil)
	tok, err := c.token(context.Background(), 0)
	require.NoError(t, err)
	c.invalidate("some-older-token")
	again, err := c.token(context.Background(), 0)
	require.NoError(t, err)
	assert.Equal(t, tok, again)
	c.invalidate(tok.Token)
	fresh, err := c.token(context.Background(), 0)
	require.NoError(t, err)
	assert.Equal(t, "tok-2", fresh.Token)
}

// Scenario 16: 100 and 10,000 goroutines on an empty cache with a slow token
// endpoint cause exactly one token request; all get the same token.
func TestScenario16SingleFlight(t *testing.T) {
	for _, n := range []int{100, 10000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			auth := &countingAuth{life: time.Hour, delay: 50 * time.Millisecond}
			c := newTokenCache(auth, nil)
			var wg sync.WaitGroup
			tokens := make([]string, n)
			errs := make([]error, n)
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					tok, err := c.token(context.Background(), 0)
					tokens[i], errs[i] = tok.Token, err
				}()
			}
			close(start)
			wg.Wait()
			assert.EqualValues(t, 1, auth.calls.Load())
			for i := range n {
				require.NoError(t, errs[i])
				require.Equal(t, "tok-1", tokens[i])
			}
		})
	}
}

// Scenario 16 through the Client: 100 concurrent calls, one token request.
func TestScenario16SingleFlightThroughClient(t *testing.T) {
	auth := &countingAuth{life: time.Hour, delay: 50 * time.Millisecond}
	c, mt := mockClient(t, auth)
	mt.RegisterNoResponder(httpmock.NewStringResponder(200, `{"value":[]}`))
	failures := concurrently(100, 1, func() error {
		_, err := c.Reports.GetReports(context.Background())
		return err
	})
	assert.Zero(t, failures)
	assert.EqualValues(t, 1, auth.calls.Load())
	assert.Equal(t, 100, mt.GetTotalCallCount())
}

// Scenario 17: the goroutine that started a refresh is cancelled; the others
// still get the token.
func TestScenario17StarterCancelled(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int64
	auth := AuthenticatorFunc(func(ctx context.Context) (AccessToken, error) {
		calls.Add(1)
		select {
		case <-release:
		case <-ctx.Done():
			return AccessToken{}, ctx.Err()
		}
		return AccessToken{Token: "shared", ExpiresOn: time.Now().Add(time.Hour)}, nil
	})
	c := newTokenCache(auth, nil)
	ctx, cancel := context.WithCancel(context.Background())
	starterDone := make(chan error)
	go func() {
		_, err := c.token(ctx, 0)
		starterDone <- err
	}()
	require.Eventually(t, func() bool { return calls.Load() == 1 }, time.Second, time.Millisecond)
	others := make(chan AccessToken, 3)
	for range 3 {
		go func() {
			tok, err := c.token(context.Background(), 0)
			assert.NoError(t, err)
			others <- tok
		}()
	}
	cancel()
	assert.ErrorIs(t, <-starterDone, context.Canceled, "the cancelled caller returns at once")
	close(release)
	for range 3 {
		assert.Equal(t, "shared", (<-others).Token)
	}
	assert.EqualValues(t, 1, calls.Load())
}

// Scenario 18: a failed refresh keeps serving the still-valid token, waits
// 30 s before the next attempt, and surfaces the error after real expiry.
func TestScenario18FailedRefreshKeepsValidToken(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	auth := &countingAuth{life: time.Hour, now: clk.now}
	c := newTokenCache(auth, nil)
	c.now = clk.now
	ctx := context.Background()

	first, err := c.token(ctx, 0)
	require.NoError(t, err)
	assert.EqualValues(t, 1, auth.calls.Load())

	// The refresh runs behind the caller: wait until it has failed and landed.
	landed := func(calls int64) func() bool {
		return func() bool {
			c.mu.Lock()
			defer c.mu.Unlock()
			return auth.calls.Load() == calls && c.flight == nil
		}
	}
	clk.add(56 * time.Minute) // inside the 5-minute refresh-ahead window
	auth.fail.Store(true)
	tok, err := c.token(ctx, 0)
	require.NoError(t, err)
	assert.Equal(t, first, tok, "the old token is served while valid")
	require.Eventually(t, landed(2), 5*time.Second, time.Millisecond)

	clk.add(29 * time.Second)
	tok, err = c.token(ctx, 0)
	require.NoError(t, err)
	assert.Equal(t, first, tok)
	assert.EqualValues(t, 2, auth.calls.Load(), "no new attempt within 30 s")

	clk.add(2 * time.Second)
	_, err = c.token(ctx, 0)
	require.NoError(t, err)
	require.Eventually(t, landed(3), 5*time.Second, time.Millisecond, "a new attempt after 30 s")

	clk.add(4 * time.Minute) // past the real expiry
	_, err = c.token(ctx, 0)
	var authErr *AuthError
	require.ErrorAs(t, err, &authErr)
	assert.EqualValues(t, 4, auth.calls.Load())

	auth.fail.Store(false)
	tok, err = c.token(ctx, 0)
	require.NoError(t, err)
	assert.Equal(t, "tok-5", tok.Token)
}

// A token of unknown expiry is not cached; an expired one is never sent.
func TestUnknownAndExpiredTokens(t *testing.T) {
	var calls atomic.Int64
	unknown := AuthenticatorFunc(func(context.Context) (AccessToken, error) {
		calls.Add(1)
		return AccessToken{Token: "t"}, nil
	})
	c, mt := mockClient(t, unknown)
	mt.RegisterNoResponder(httpmock.NewStringResponder(200, `{"value":[]}`))
	for range 3 {
		_, err := c.Reports.GetReports(context.Background())
		require.NoError(t, err)
	}
	assert.EqualValues(t, 3, calls.Load(), "asked again for each request")

	expired := AuthenticatorFunc(func(context.Context) (AccessToken, error) {
		return AccessToken{Token: "old", ExpiresOn: time.Now().Add(-time.Minute)}, nil
	})
	c2, mt2 := mockClient(t, expired)
	_, err := c2.Reports.GetReports(context.Background())
	assert.ErrorIs(t, err, ErrTokenExpired)
	assert.Zero(t, mt2.GetTotalCallCount(), "an expired token is never sent")

	empty := AuthenticatorFunc(func(context.Context) (AccessToken, error) { return AccessToken{}, nil })
	c3, mt3 := mockClient(t, empty)
	_, err = c3.Reports.GetReports(context.Background())
	assert.Error(t, err)
	assert.Zero(t, mt3.GetTotalCallCount())
}

// Before a GenerateToken call the access token must have the minimum lifetime
// left; other calls accept any fresh token.
func TestMinimumLifetimeBeforeGenerateToken(t *testing.T) {
	clk := &clock{t: time.Now()}
	auth := &countingAuth{life: time.Hour, now: clk.now}
	c, mt := mockClient(t, auth)
	c.tokens.now = clk.now
	mt.RegisterResponder("GET", "=~/reports$", httpmock.NewStringResponder(200, `{"value":[]}`))
	mt.RegisterResponder("POST", "=~/GenerateToken$", httpmock.NewStringResponder(200, tokenJSON))

	_, err := c.Reports.GetReports(context.Background())
	require.NoError(t, err)
	clk.add(40 * time.Minute) // 20 minutes left: fresh, but under the 30-minute minimum
	_, err = c.Reports.GetReports(context.Background())
	require.NoError(t, err)
	assert.EqualValues(t, 1, auth.calls.Load(), "a GET takes the fresh token")
	_, err = genToken(c)
	require.NoError(t, err)
	assert.EqualValues(t, 2, auth.calls.Load(), "GenerateToken refreshed first")

	// A short-lived source: the minimum is capped at half the lifetime, so
	// GenerateToken does not refresh on every call.
	short := &countingAuth{life: 20 * time.Minute, now: clk.now}
	c2, mt2 := mockClient(t, short, WithMinAccessTokenLifetime(30*time.Minute))
	c2.tokens.now = clk.now
	mt2.RegisterNoResponder(httpmock.NewStringResponder(200, tokenJSON))
	for range 3 {
		_, err = genToken(c2)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 1, short.calls.Load())
}

// A panicking Authenticator becomes an error, not a crash.
func TestAuthenticatorPanic(t *testing.T) {
	c := newTokenCache(AuthenticatorFunc(func(context.Context) (AccessToken, error) { panic("boom") }), nil)
	_, err := c.token(context.Background(), 0)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "boom")
	assert.False(t, errors.Is(err, context.Canceled))
}

// A 401 that does not refuse the token itself (the caller is not a member of
// the workspace) leaves the shared token alone: 20 calls to a forbidden
// workspace cost at most one renewal, not 20 token requests. A token the API
// refuses as invalid or expired is still dropped every time.
func TestOnlyATokenRefusalDropsTheToken(t *testing.T) {
	notMember := `{"error":{"code":"PowerBINotAuthorizedException","pbi.error":{"code":"PowerBINotAuthorizedException","parameters":{},"details":[],"exceptionCulprit":1}}}`
	auth := &countingAuth{life: time.Hour}
	c, mt := mockClient(t, auth)
	mt.RegisterNoResponder(httpmock.NewStringResponder(401, notMember))
	for range 20 {
		_, err := c.Reports.GetReportsInGroup(context.Background(), groupID)
		require.ErrorIs(t, err, ErrUnauthorized)
	}
	assert.EqualValues(t, 2, auth.calls.Load(), "the first token, and one renewal in case its claims were stale")
	assert.Equal(t, 21, mt.GetTotalCallCount(), "20 calls and one replay")

	for _, refusal := range []struct {
		status       int
		body, header string
	}{
		{401, "", "InvalidToken"},
		{403, `{"error":{"code":"TokenExpired","message":"Access token has expired"}}`, ""},
	} {
		before := auth.calls.Load()
		mt.RegisterNoResponder(func(*http.Request) (*http.Response, error) {
			resp := httpmock.NewStringResponse(refusal.status, refusal.body)
			if refusal.header != "" {
				resp.Header.Set("X-PowerBI-Error-Info", refusal.header)
			}
			return resp, nil
		})
		for range 3 {
			_, err := c.Reports.GetReportsInGroup(context.Background(), groupID)
			require.Error(t, err)
		}
		assert.EqualValues(t, before+3, auth.calls.Load(), "%d %s: each call drops its token and replays once with a new one", refusal.status, refusal.header)
	}
}

// The replay after a refused token happens once per call, not once per
// retry attempt: 401 and 503 alternating cost one new token.
func TestReplayOncePerCall(t *testing.T) {
	auth := &countingAuth{life: time.Hour}
	c, mt := mockClient(t, auth, WithRetryPolicy(RetryPolicy{MaxRetries: 9, WaitMin: time.Millisecond, WaitMax: time.Millisecond}))
	n := 0
	mt.RegisterNoResponder(func(*http.Request) (*http.Response, error) {
		n++
		if n%2 == 1 {
			resp := httpmock.NewStringResponse(401, "")
			resp.Header.Set("X-PowerBI-Error-Info", "InvalidToken")
			return resp, nil
		}
		return httpmock.NewStringResponse(503, ""), nil
	})
	_, err := c.Reports.GetReportsInGroup(context.Background(), groupID)
	require.ErrorIs(t, err, ErrUnauthorized)
	assert.EqualValues(t, 2, auth.calls.Load(), "the first token and one replacement")
	assert.Equal(t, 3, mt.GetTotalCallCount(), "401, its replay (503), the retry (401, returned)")
}

// Inside the refresh-ahead window a still-valid token is served at once while
// one refresh runs behind: a caller with a short deadline does not wait for
// (and fail on) a slow token endpoint.
func TestValidTokenServedWhileRefreshing(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	release := make(chan struct{})
	var once sync.Once
	defer once.Do(func() { close(release) })
	var calls atomic.Int64
	auth := AuthenticatorFunc(func(ctx context.Context) (AccessToken, error) {
		n := calls.Add(1)
		if n == 2 {
			<-release // the refresh is slow
		}
		return AccessToken{Token: fmt.Sprintf("tok-%d", n), ExpiresOn: clk.now().Add(time.Hour)}, nil
	})
	c := newTokenCache(auth, nil)
	c.now = clk.now
	first, err := c.token(context.Background(), 0)
	require.NoError(t, err)

	clk.add(57 * time.Minute) // 3 minutes left: inside the 5-minute window
	for range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		tok, err := c.token(ctx, 0)
		cancel()
		require.NoError(t, err)
		assert.Equal(t, first, tok, "the valid token is served while the refresh runs")
	}
	require.Eventually(t, func() bool { return calls.Load() == 2 }, 5*time.Second, time.Millisecond, "one refresh, behind the callers")
	once.Do(func() { close(release) })
	require.Eventually(t, func() bool {
		tok, err := c.token(context.Background(), 0)
		return err == nil && tok.Token == "tok-2"
	}, 5*time.Second, time.Millisecond)
	assert.EqualValues(t, 2, calls.Load())
}

// An Authenticator that ignores its context does not wedge the Client: the
// refresh is abandoned after its timeout, and the next caller starts a new one.
func TestHungAuthenticatorIsAbandoned(t *testing.T) {
	hang := make(chan struct{})
	defer close(hang)
	var calls atomic.Int64
	auth := AuthenticatorFunc(func(context.Context) (AccessToken, error) {
		if calls.Add(1) == 1 {
			<-hang // ignores its context
		}
		return AccessToken{Token: "fresh", ExpiresOn: time.Now().Add(time.Hour)}, nil
	})
	c := newTokenCache(auth, nil)
	c.refreshTimeout = 50 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.token(ctx, 0)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NoError(t, ctx.Err(), "the caller was released by the abandoned refresh, not by its own deadline")
	assert.Contains(t, err.Error(), "did not answer within 50ms")

	tok, err := c.token(ctx, 0)
	require.NoError(t, err)
	assert.Equal(t, "fresh", tok.Token)
	assert.EqualValues(t, 2, calls.Load(), "a new refresh after the abandoned one")
}

// A token with less than 5 minutes of life is still cached: refresh-ahead
// starts at half its life, and it is served until shortly before it expires.
func TestShortLivedTokenIsCached(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	auth := &countingAuth{life: 4 * time.Minute, now: clk.now}
	c := newTokenCache(auth, nil)
	c.now = clk.now
	for range 20 {
		_, err := c.token(context.Background(), 0)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 1, auth.calls.Load(), "20 calls, one token request")

	clk.add(3 * time.Minute) // past half its life: refreshed, once
	for range 20 {
		_, err := c.token(context.Background(), 0)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		tok, err := c.token(context.Background(), 0)
		return err == nil && tok.Token == "tok-2"
	}, 5*time.Second, time.Millisecond)
	assert.EqualValues(t, 2, auth.calls.Load(), "one refresh")
}
