package powerbi

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// RetryPolicy says how often and how long apart a failed request is retried.
// What is retried depends on the operation: a call that is safe to repeat
// (GET, PUT, PATCH, DELETE, GenerateToken and the POSTs that only read) after
// connection errors, bodies cut short and the statuses 408, 429, 500, 502,
// 503 and 504; a POST that creates or starts something (an import, a refresh,
// a clone) only after a 429, or when it never reached the service.
type RetryPolicy struct {
	MaxRetries    int           // retries after the first attempt; 0 means none
	WaitMin       time.Duration // backoff floor
	WaitMax       time.Duration // backoff cap (jittered exponential between the two)
	MaxRetryAfter time.Duration // a Retry-After longer than this is not waited for: the call fails at once
}

// DefaultRetryPolicy returns {MaxRetries: 4, WaitMin: 500ms, WaitMax: 30s, MaxRetryAfter: 60s}.
//
// go-retryablehttp's own defaults do not fit Power BI: they sleep for as long
// as a 429 or 503's Retry-After says (Power BI sends values near an hour), ignore
// retry-after-ms, and log every request through the standard logger.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxRetries: 4, WaitMin: 500 * time.Millisecond, WaitMax: 30 * time.Second, MaxRetryAfter: 60 * time.Second}
}

func (p RetryPolicy) validate() error {
	switch {
	case p.MaxRetries < 0:
		return invalid("RetryPolicy.MaxRetries", "must not be negative")
	case p.MaxRetries > 100:
		return invalid("RetryPolicy.MaxRetries", "at most 100 retries are allowed, got %d", p.MaxRetries)
	case p.WaitMin < 0 || p.WaitMax < 0 || p.MaxRetryAfter < 0:
		return invalid("RetryPolicy", "durations must not be negative")
	case p.WaitMax < p.WaitMin:
		return invalid("RetryPolicy", "WaitMax (%s) is less than WaitMin (%s)", p.WaitMax, p.WaitMin)
	}
	return nil
}

// newRetryClient wires go-retryablehttp with the policy. The HTTP client's
// transport must not expose CloseIdleConnections: retryablehttp calls it after
// every failed call, which would empty the connection pool for all callers.
func newRetryClient(hc *http.Client, p RetryPolicy) *retryablehttp.Client {
	return &retryablehttp.Client{
		HTTPClient:   hc,
		Logger:       nil, // the SDK logs through slog, without query strings
		RetryWaitMin: p.WaitMin,
		RetryWaitMax: p.WaitMax,
		RetryMax:     p.MaxRetries,
		CheckRetry:   p.checkRetry,
		Backoff:      p.backoff,
		ErrorHandler: lastResponse,
	}
}

// lastResponse hands the last response back when the retries run out, so the
// caller can describe it; with an error (a refused redirect, say) the response
// is closed and only the error returned, as net/http expects of a transport.
func lastResponse(resp *http.Response, err error, _ int) (*http.Response, error) {
	if err != nil && resp != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp, err
}

// retryableStatus reports whether a status is worth another attempt.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// checkRetry is the retry rule of token requests, which are all safe to send
// again: connection errors and the statuses of retryableStatus.
func (p RetryPolicy) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		var nr noRetryError
		if errors.As(err, &nr) {
			return false, nil
		}
		// Redirect loops, bad schemes and TLS certificate errors are not retried.
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	return retryableStatus(resp.StatusCode) && p.waitFits(ctx, resp), nil
}

// waitFits reports whether the wait before another attempt is worth it:
// what the server asked for (resp may be nil) is no longer than
// MaxRetryAfter, else the call fails now with RetryAfter in its error; and
// the context lasts past it.
func (p RetryPolicy) waitFits(ctx context.Context, resp *http.Response) bool {
	var wait time.Duration
	if resp != nil {
		wait = retryAfter(resp.Header, time.Now())
	}
	if wait > p.MaxRetryAfter {
		return false
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < max(wait, p.WaitMin) {
		return false
	}
	return true
}

// backoff waits what the server asked for (plus up to 10% jitter, only
// upward), or else a jittered exponential between WaitMin and WaitMax.
func (p RetryPolicy) backoff(waitMin, waitMax time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if ra := retryAfter(resp.Header, time.Now()); ra > 0 {
			// The floor holds here too: "retry-after-ms: 1" must not become a hot loop.
			ra = max(ra, waitMin)
			return ra + jitter(ra/10)
		}
	}
	ceil := waitMax
	if attempt < 62 {
		if exp := waitMin << attempt; exp > 0 && exp < waitMax {
			ceil = exp
		}
	}
	if ceil < waitMin {
		ceil = waitMin
	}
	return waitMin + jitter(ceil-waitMin)
}

func jitter(upTo time.Duration) time.Duration {
	if upTo <= 0 {
		return 0
	}
	return rand.N(upTo + 1)
}

// maxHeaderWait caps a parsed wait so the arithmetic never overflows; any
// real MaxRetryAfter is far below it.
const maxHeaderWait = 30 * 24 * time.Hour

// retryAfter reads how long the server asked to wait: retry-after-ms,
// x-ms-retry-after-ms (milliseconds), or Retry-After (seconds, or an HTTP date
// in IMF, RFC 850 or asctime form). Zero, negative, past and unparseable values
// give 0, which means "use the computed backoff".
func retryAfter(h http.Header, now time.Time) time.Duration {
	for _, name := range []string{"Retry-After-Ms", "X-Ms-Retry-After-Ms"} {
		if v := h.Get(name); v != "" {
			if d := parseNumber(v, time.Millisecond); d > 0 {
				return d
			}
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if d := parseNumber(v, time.Second); d > 0 {
		return d
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, maxHeaderWait)
		}
	}
	return 0
}

func parseNumber(v string, unit time.Duration) time.Duration {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f <= 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	d := f * float64(unit)
	if d > float64(maxHeaderWait) {
		return maxHeaderWait
	}
	return time.Duration(d)
}
