package powerbi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// sequence answers the i-th request with the i-th handler, repeating the last.
func sequence(hs ...http.HandlerFunc) http.HandlerFunc {
	var mu sync.Mutex
	i := 0
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := hs[min(i, len(hs)-1)]
		i++
		mu.Unlock()
		h(w, r)
	}
}

func respond(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		if w.Header().Get("Content-Type") == "" && body != "" {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

const tokenJSON = `{"token":"H4sI-embed","tokenId":"49ae3742-54c0-4c29-af52-619ff93b5c80","expiration":"2030-07-29T17:58:19Z"}`

func genToken(c *Client) (*EmbedToken, error) {
	return c.Reports.GenerateTokenInGroup(context.Background(), groupID, reportID, GenerateTokenRequest{AccessLevel: TokenAccessLevelView})
}

// Scenario 1: 429 with Retry-After: 2, then 200: one retry after at least 2 s.
func TestScenario01RetryAfterHonoured(t *testing.T) {
	t.Parallel()
	var first, second time.Time
	f := newFakeAPI(t, sequence(
		func(w http.ResponseWriter, r *http.Request) {
			first = time.Now()
			respond(429, `{"message":"Retry in 2 seconds."}`, "Retry-After", "2")(w, r)
		},
		func(w http.ResponseWriter, r *http.Request) { second = time.Now(); respond(200, tokenJSON)(w, r) },
	))
	tok, err := genToken(f.client(t, nil))
	require.NoError(t, err)
	assert.Equal(t, "H4sI-embed", tok.Token)
	assert.EqualValues(t, 2, f.requests.Load())
	assert.GreaterOrEqual(t, second.Sub(first), 2*time.Second)
}

// Scenario 2: every form of Retry-After; nonsense falls back to the computed
// backoff, which never goes below the floor.
func TestScenario02RetryAfterForms(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	in := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	cases := []struct {
		name, header, value string
		want                time.Duration
	}{
		{"seconds", "Retry-After", "2", 2 * time.Second},
		{"IMF date", "Retry-After", in(90 * time.Second), 90 * time.Second},
		{"RFC 850 date", "Retry-After", now.Add(30 * time.Second).Format(time.RFC850), 30 * time.Second},
		{"asctime date", "Retry-After", now.Add(45 * time.Second).Format(time.ANSIC), 45 * time.Second},
		{"past date", "Retry-After", in(-time.Hour), 0},
		{"zero", "Retry-After", "0", 0},
		{"negative", "Retry-After", "-1", 0},
		{"fraction", "Retry-After", "1.5", 1500 * time.Millisecond},
		{"garbage", "Retry-After", "soon", 0},
		{"huge", "Retry-After", "99999999999999", maxHeaderWait},
		{"retry-after-ms", "retry-after-ms", "250", 250 * time.Millisecond},
		{"x-ms-retry-after-ms", "x-ms-retry-after-ms", "1200", 1200 * time.Millisecond},
		{"bad ms", "retry-after-ms", "NaN", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			h.Set(tc.header, tc.value)
			assert.Equal(t, tc.want, retryAfter(h, now))
		})
	}
	p := RetryPolicy{MaxRetries: 3, WaitMin: 100 * time.Millisecond, WaitMax: time.Second, MaxRetryAfter: time.Minute}
	for _, v := range []string{"0", "-1", "garbage", in(-time.Hour)} {
		resp := &http.Response{Header: http.Header{"Retry-After": {v}}}
		for attempt := 0; attempt < 5; attempt++ {
			w := p.backoff(p.WaitMin, p.WaitMax, attempt, resp)
			assert.GreaterOrEqual(t, w, p.WaitMin, "Retry-After %q, attempt %d", v, attempt)
			assert.LessOrEqual(t, w, p.WaitMax)
		}
	}
	// Jitter only upward of what the server asked for.
	resp := &http.Response{Header: http.Header{"Retry-After": {"2"}}}
	for range 20 {
		w := p.backoff(p.WaitMin, p.WaitMax, 0, resp)
		assert.GreaterOrEqual(t, w, 2*time.Second)
		assert.LessOrEqual(t, w, 2200*time.Millisecond)
	}
}

// Scenario 3: a Retry-After beyond MaxRetryAfter, or beyond the context's
// deadline, fails at once with ErrThrottled and the details.
func TestScenario03LongRetryAfterFailsFast(t *testing.T) {
	t.Parallel()
	throttle := respond(429, `{"message":"You have exceeded the amount of requests allowed in the current time frame and further requests will fail. Retry in 3600 seconds."}`,
		"Retry-After", "3600", "RequestId", "rid-429", "X-PowerBI-Error-Info", "TooManyRequests")
	f := newFakeAPI(t, throttle)
	c := f.client(t, nil, WithRetryPolicy(RetryPolicy{MaxRetries: 4, WaitMin: time.Millisecond, WaitMax: time.Second, MaxRetryAfter: 60 * time.Second}))
	start := time.Now()
	_, err := genToken(c)
	elapsed := time.Since(start)
	require.ErrorIs(t, err, ErrThrottled)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, time.Hour, apiErr.RetryAfter)
	assert.Equal(t, "TooManyRequests", apiErr.Code)
	assert.Equal(t, "rid-429", apiErr.RequestID)
	assert.Contains(t, err.Error(), "Retry in 3600 seconds")
	assert.EqualValues(t, 1, f.requests.Load())
	assert.Less(t, elapsed, 2*time.Second, "must not wait for the Retry-After")

	// A Retry-After the context's deadline would not survive.
	f2 := newFakeAPI(t, respond(503, "", "Retry-After", "5"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = f2.client(t, nil).Reports.GetReports(ctx)
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 503, apiErr.StatusCode)
	assert.Equal(t, 5*time.Second, apiErr.RetryAfter)
	assert.EqualValues(t, 1, f2.requests.Load())
	assert.NoError(t, ctx.Err(), "returned before the deadline")
}

// Scenario 4: GenerateToken answered 503, 503, 200: every attempt carries the
// same body and a token fetched for that attempt.
func TestScenario04GenerateTokenRetriedWithSameBody(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var bodies, auths []string
	record := func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies, auths = append(bodies, string(b)), append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
	}
	f := newFakeAPI(t, sequence(
		func(w http.ResponseWriter, r *http.Request) {
			record(w, r)
			respond(503, `{"Message":"An error has occurred."}`)(w, r)
		},
		func(w http.ResponseWriter, r *http.Request) {
			record(w, r)
			respond(503, `{"Message":"An error has occurred."}`)(w, r)
		},
		func(w http.ResponseWriter, r *http.Request) { record(w, r); respond(200, tokenJSON)(w, r) },
	))
	// Unknown expiry: the cache asks the Authenticator for every attempt.
	var n atomic.Int64
	auth := AuthenticatorFunc(func(context.Context) (AccessToken, error) {
		return AccessToken{Token: fmt.Sprintf("tok-%d", n.Add(1))}, nil
	})
	req := GenerateTokenRequest{AccessLevel: TokenAccessLevelView, Identities: []EffectiveIdentity{{Username: "john@contoso.com", Roles: []string{"sales"}, Datasets: []string{"cfafbeb1-8037-4d0c-896e-a46fb27ff229"}}}}
	tok, err := f.client(t, auth).Reports.GenerateTokenInGroup(context.Background(), groupID, reportID, req)
	require.NoError(t, err)
	assert.Equal(t, "H4sI-embed", tok.Token)
	require.Len(t, bodies, 3)
	assert.JSONEq(t, `{"accessLevel":"View","identities":[{"username":"john@contoso.com","roles":["sales"],"datasets":["cfafbeb1-8037-4d0c-896e-a46fb27ff229"]}]}`, bodies[0])
	assert.Equal(t, bodies[0], bodies[1])
	assert.Equal(t, bodies[0], bodies[2])
	assert.Equal(t, []string{"Bearer tok-1", "Bearer tok-2", "Bearer tok-3"}, auths)
}

// Scenario 5: retries run out: the error describes the last response, and the
// connection was reused throughout (bodies drained and closed).
func TestScenario05RetriesExhausted(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		respond(503, fmt.Sprintf(`{"error":{"code":"ServiceUnavailable","message":"attempt %d"}}`, i), "RequestId", fmt.Sprintf("rid-%d", i))(w, r)
	})
	_, err := f.client(t, nil).Reports.GetReports(context.Background())
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 503, apiErr.StatusCode)
	assert.Equal(t, "ServiceUnavailable", apiErr.Code)
	assert.Equal(t, "attempt 5", apiErr.Message)
	assert.Equal(t, "rid-5", apiErr.RequestID)
	assert.Equal(t, 5, apiErr.Attempts)
	assert.Contains(t, err.Error(), "5 attempts")
	assert.EqualValues(t, 5, f.requests.Load())
	assert.EqualValues(t, 1, f.conns.Load(), "one connection, reused: every body was drained and closed")
}

// Scenario 6: the context ends during a backoff: the call returns at once
// with both the context's error and the last response.
func TestScenario06CancelDuringBackoff(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, respond(503, `{"error":{"code":"Busy"}}`, "Retry-After", "2", "RequestId", "rid-6"))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := f.client(t, nil).Reports.GetReports(ctx)
	elapsed := time.Since(start)
	require.ErrorIs(t, err, context.Canceled)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 503, apiErr.StatusCode)
	assert.Equal(t, "rid-6", apiErr.RequestID)
	assert.Less(t, elapsed, time.Second, "returned when cancelled, not after the 2 s backoff")
	time.Sleep(50 * time.Millisecond)
	assert.EqualValues(t, 1, f.requests.Load(), "no request after cancellation")
}

// Scenario 7: statuses retrying cannot fix are sent exactly once.
func TestScenario07NonRetryableStatuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		body   string
		is     error
	}{
		{400, `{"error":{"code":"InvalidRequest","message":"bad"}}`, nil},
		{403, `{"error":{"code":"PowerBINotAuthorizedException"}}`, ErrForbidden},
		{404, `{"error":{"code":"PowerBIEntityNotFound"}}`, ErrNotFound},
		{409, `{"error":{"code":"Conflict"}}`, nil},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			f := newFakeAPI(t, respond(tc.status, tc.body))
			_, err := genToken(f.client(t, nil))
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tc.status, apiErr.StatusCode)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			assert.EqualValues(t, 1, f.requests.Load())
		})
	}
}

// truncated promises 100 bytes, sends 20 and closes the connection.
func truncated(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Length", "100")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("RequestId", "rid-cut")
	_, _ = io.WriteString(w, `{"token":"H4sI-trunc`)
}

// Scenario 9: a body cut short is never success: it is retried (GET and
// GenerateToken), and reported as ErrUnexpectedResponse when it keeps happening.
func TestScenario09TruncatedBody(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, sequence(truncated, respond(200, tokenJSON)))
	tok, err := genToken(f.client(t, nil))
	require.NoError(t, err)
	assert.Equal(t, "H4sI-embed", tok.Token)
	assert.EqualValues(t, 2, f.requests.Load())

	f2 := newFakeAPI(t, sequence(truncated, respond(200, `{"value":[]}`)))
	_, err = f2.client(t, nil).Reports.GetReports(context.Background())
	require.NoError(t, err)
	assert.EqualValues(t, 2, f2.requests.Load())

	f3 := newFakeAPI(t, truncated)
	tok, err = genToken(f3.client(t, nil))
	assert.Nil(t, tok)
	requireUnusable200(t, err, "rid-cut")
	assert.EqualValues(t, 5, f3.requests.Load())
}

// requireUnusable200 checks the error for a 2xx response that could not be used.
func requireUnusable200(t *testing.T, err error, requestID string) {
	t.Helper()
	require.ErrorIs(t, err, ErrUnexpectedResponse)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 200, apiErr.StatusCode)
	assert.Equal(t, requestID, apiErr.RequestID)
}

// Scenario 10: a "blank response" (200 with no body) is an error, never a zero EmbedToken.
func TestScenario10EmptyBody(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{"empty": "", "empty object": "{}", "null": "null", "token without expiration": `{"token":"x"}`} {
		t.Run(name, func(t *testing.T) {
			f := newFakeAPI(t, respond(200, body, "RequestId", "rid-blank"))
			tok, err := genToken(f.client(t, nil))
			assert.Nil(t, tok)
			requireUnusable200(t, err, "rid-blank")
			assert.EqualValues(t, 1, f.requests.Load())
		})
	}
	f := newFakeAPI(t, respond(200, `{"@odata.context":"x"}`))
	_, err := f.client(t, nil).Reports.GetReports(context.Background())
	assert.ErrorIs(t, err, ErrUnexpectedResponse, "a list response without value")
}

// Scenario 11: HTML instead of JSON (a proxy or login page, a 502 page): a
// clear error with a short, tag-free snippet; a UTF-8 BOM before JSON is fine.
func TestScenario11HTMLAndBOM(t *testing.T) {
	t.Parallel()
	page := "<html><head><title>Sign in</title></head><body><h1>Sign in to your account</h1>" + strings.Repeat("<p>filler</p>", 200) + "</body></html>"
	f := newFakeAPI(t, respond(200, page, "Content-Type", "text/html; charset=utf-8"))
	_, err := genToken(f.client(t, nil))
	require.ErrorIs(t, err, ErrUnexpectedResponse)
	msg := err.Error()
	assert.Contains(t, msg, "text/html")
	assert.Contains(t, msg, "Sign in to your account")
	assert.NotContains(t, msg, "<h1>")
	assert.Less(t, len(msg), 600)

	f2 := newFakeAPI(t, respond(502, "<html><body><h1>502 Bad Gateway</h1></body></html>", "Content-Type", "text/html"))
	c2 := f2.client(t, nil, WithRetryPolicy(RetryPolicy{MaxRetries: 1, WaitMin: time.Millisecond, WaitMax: time.Millisecond}))
	_, err = c2.Reports.GetReports(context.Background())
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 502, apiErr.StatusCode)
	assert.Contains(t, apiErr.Message, "502 Bad Gateway")
	assert.NotContains(t, apiErr.Message, "<")

	f3 := newFakeAPI(t, respond(200, "\uFEFF"+tokenJSON))
	tok, err := genToken(f3.client(t, nil))
	require.NoError(t, err)
	assert.Equal(t, "H4sI-embed", tok.Token)
}

// Scenario 13: a huge body stops at the cap with an error.
func TestScenario13HugeBody(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(500)
		chunk := []byte(strings.Repeat("x", 64<<10))
		for i := 0; i < 160; i++ { // 10 MB
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	c := f.client(t, nil, WithRetryPolicy(RetryPolicy{}))
	_, err := c.Reports.GetReports(context.Background())
	require.ErrorIs(t, err, ErrUnexpectedResponse)
	assert.Contains(t, err.Error(), "larger than")
	assert.EqualValues(t, 1, f.requests.Load(), "an oversized body is not retried")
}

// endlessBody is a response body that never ends: it counts what was read of it.
type endlessBody struct {
	pattern []byte
	read    int64
	closed  bool
}

func (b *endlessBody) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], b.pattern[int(b.read+int64(n))%len(b.pattern):])
	}
	b.read += int64(n)
	return n, nil
}

func (b *endlessBody) Close() error { b.closed = true; return nil }

// Scenario 13: endless JSON (a 200 whose list never closes) and an endless
// error page: the SDK reads no more than the cap (so memory stays bounded by
// it), closes the body, and fails with ErrUnexpectedResponse.
func TestScenario13EndlessBodyReadUpToTheCap(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status  int
		pattern string
		limit   int64
	}{
		{200, `{"id":"` + reportID + `","name":"r"},`, maxSuccessBody},
		{503, "<p>Service Unavailable</p>", maxErrorBody},
	} {
		body := &endlessBody{pattern: []byte(tc.pattern)}
		c, mt := mockClient(t, nil, WithRetryPolicy(RetryPolicy{MaxRetries: 3, WaitMin: time.Millisecond, WaitMax: time.Millisecond}))
		mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: tc.status, Header: http.Header{"Content-Type": {"application/json"}}, Body: body, Request: r}, nil
		})
		_, err := c.Reports.GetReports(context.Background())
		require.ErrorIs(t, err, ErrUnexpectedResponse, tc.status)
		assert.Contains(t, err.Error(), fmt.Sprintf("larger than %d bytes", tc.limit))
		assert.LessOrEqual(t, body.read, tc.limit+1, "read no more than the cap")
		assert.Greater(t, body.read, tc.limit, "read up to the cap")
		assert.True(t, body.closed)
		assert.Equal(t, 1, mt.GetTotalCallCount(), "an oversized body is not retried")
	}
}

// Scenario 14: valid JSON followed by garbage is rejected.
func TestScenario14TrailingGarbage(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, respond(200, tokenJSON+`{"token":"second"}`))
	tok, err := genToken(f.client(t, nil))
	assert.Nil(t, tok)
	assert.ErrorIs(t, err, ErrUnexpectedResponse)
}

// The load check: sequential and 64-way concurrent calls reuse connections.
// Load check: 1,000 sequential calls use one connection; 64 callers making
// 51 calls each open at most 64, and no connection is ever closed, so none is
// re-opened (each body was read to the end and the connection went back to
// the pool). Counting closes, not opens after a warm-up, keeps this exact:
// how many connections a first burst opens depends on scheduling.
func TestLoadConnectionReuse(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, respond(200, tokenJSON))
	c := f.client(t, nil)
	for range 1000 {
		_, err := genToken(c)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 1, f.conns.Load(), "sequential calls share one connection")
	assert.Zero(t, f.closed.Load(), "no connection closed")

	f2 := newFakeAPI(t, respond(200, tokenJSON))
	c2 := f2.client(t, nil)
	failures := concurrently(64, 51, func() error {
		_, err := genToken(c2)
		return err
	})
	assert.Zero(t, failures)
	assert.LessOrEqual(t, f2.conns.Load(), int64(64), "connections opened <= concurrency")
	assert.Zero(t, f2.closed.Load(), "no connection closed, so none re-opened")
	assert.EqualValues(t, 64*51, f2.requests.Load())
}

func TestContextAlreadyCancelled(t *testing.T) {
	f := newFakeAPI(t, respond(200, tokenJSON))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.client(t, nil).Reports.GenerateTokenInGroup(ctx, groupID, reportID, GenerateTokenRequest{})
	assert.True(t, errors.Is(err, context.Canceled))
	assert.EqualValues(t, 0, f.requests.Load())
}

// hangUp closes the connection without answering.
func hangUp(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

// Scenario 8: a connection closed before any response is retried, for a GET
// and for GenerateToken, and the retry succeeds.
func TestScenario08ConnectionClosedBeforeResponse(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, sequence(hangUp, respond(200, `{"value":[{"id":"`+reportID+`","name":"r"}]}`)))
	reports, err := f.client(t, nil).Reports.GetReports(context.Background())
	require.NoError(t, err)
	require.Len(t, reports, 1)
	assert.Equal(t, reportID, reports[0].ID)
	assert.EqualValues(t, 2, f.requests.Load())

	f2 := newFakeAPI(t, sequence(hangUp, hangUp, respond(200, tokenJSON)))
	tok, err := genToken(f2.client(t, nil))
	require.NoError(t, err)
	assert.Equal(t, "H4sI-embed", tok.Token)
	assert.EqualValues(t, 3, f2.requests.Load())

	// Hanging up on every attempt ends with the connection error and the count.
	f3 := newFakeAPI(t, hangUp)
	_, err = f3.client(t, nil).Reports.GetReports(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "5 attempts")
	assert.EqualValues(t, 5, f3.requests.Load())
}

// trickle sends headers, then one byte of a JSON body every 20 ms, forever
// (until the client goes away or stop closes).
func trickle(stop <-chan struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		for {
			if _, err := w.Write([]byte(" ")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-stop:
				return
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

// withBodyTimeout shortens the time a body may take to arrive after its headers.
func withBodyTimeout(d time.Duration) Option {
	return func(c *clientConfig) error { c.bodyTimeout = d; return nil }
}

// neverAnswer holds the request until the client goes away or stop closes.
func neverAnswer(stop <-chan struct{}) http.HandlerFunc {
	return func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-stop:
		case <-r.Context().Done():
		}
	}
}

// Scenario 25: a slow server, whether its headers never come or its body
// trickles, is bounded by the caller's context and, without a deadline, by
// the SDK's own timeouts; no goroutine outlives the call. Not parallel, so the
// leak check sees only this test's goroutines.
func TestScenario25SlowServer(t *testing.T) {
	shortHeaderWait := func(f *fakeAPI) Option {
		hc := f.httpClient()
		hc.Transport.(*http.Transport).ResponseHeaderTimeout = 150 * time.Millisecond
		return WithHTTPClient(hc)
	}
	oneRetry := WithRetryPolicy(RetryPolicy{MaxRetries: 1, WaitMin: time.Millisecond, WaitMax: time.Millisecond})
	for _, tc := range []struct {
		name     string
		handler  func(stop <-chan struct{}) http.HandlerFunc
		deadline time.Duration // 0: no deadline, the SDK's timeouts must end the call
		opts     func(*fakeAPI) []Option
		want     string
	}{
		{"headers never come, caller's deadline", neverAnswer, 200 * time.Millisecond, nil, "context deadline exceeded"},
		{"headers never come, header timeout", neverAnswer, 0,
			func(f *fakeAPI) []Option { return []Option{shortHeaderWait(f), oneRetry} }, "timeout awaiting response headers (2 attempts)"},
		{"body trickles, caller's deadline", trickle, 200 * time.Millisecond, nil, "context deadline exceeded"},
		{"body trickles, body timeout", trickle, 0,
			func(*fakeAPI) []Option { return []Option{withBodyTimeout(150 * time.Millisecond), oneRetry} }, "the body did not arrive in full within 150ms (2 attempts)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			stop := make(chan struct{})
			f := newFakeAPI(t, tc.handler(stop))
			var opts []Option
			if tc.opts != nil {
				opts = tc.opts(f)
			}
			c := f.client(t, nil, opts...)
			ctx := context.Background()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			start := time.Now()
			_, err := c.Reports.GetReports(ctx)
			elapsed := time.Since(start)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			if tc.deadline > 0 {
				assert.ErrorIs(t, err, context.DeadlineExceeded)
			}
			// Generous bounds: this checks that the call ends, not how fast.
			assert.Less(t, elapsed, 3*time.Second)
			close(stop)
			f.srv.Close()
			c.base.(*http.Transport).CloseIdleConnections()
		})
	}
}
