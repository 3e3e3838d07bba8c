package powerbi_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopowerbi/powerbi"
	"github.com/gopowerbi/powerbi/powerbitest"
)

const listReports = "Reports_GetReportsInGroup"

// hammer makes calls calls from workers goroutines and returns how many failed.
func hammer(workers, calls int, call func() error) int64 {
	var failed atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range calls {
				if call() != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return failed.Load()
}

// A budget never lets a burst go over its rate: 64 callers against a fake
// that refuses more than 100 calls in any 2 seconds, with the same budget on
// the Client, get no 429 at all.
func TestBudgetNeverExceedsItsRate(t *testing.T) {
	e := newE2E(t, powerbitest.WithRealClock())
	e.srv.SetRateLimit(listReports, 100, 2*time.Second)
	c := e.demoClient(t, powerbi.WithRateLimits(powerbi.RateLimit{Class: listReports, Requests: 100, Per: 2 * time.Second}))
	start := time.Now()
	failed := hammer(64, 3, func() error {
		_, err := c.Reports.GetReportsInGroup(context.Background(), e.demo.WorkspaceID)
		return err
	})
	took := time.Since(start)
	assert.Zero(t, failed)
	assert.Zero(t, e.srv.RateLimited(listReports), "not one call over the fake's limit")
	assert.GreaterOrEqual(t, took, 2*time.Second, "192 calls at 50 a second take their time")
	t.Logf("192 calls under a budget of 100 per 2 s: %s, no 429", took.Round(time.Millisecond))
}

// One 429 holds every caller of its class: after the service throttled one
// call, the 63 callers that come during its Retry-After send nothing until
// it has passed (exactly one request of the class, the throttled one, is
// seen in the window), then all of them succeed.
func TestOne429HoldsTheWholeClass(t *testing.T) {
	e := newE2E(t, powerbitest.WithRealClock())
	logs := &lockedLog{}
	c := e.demoClient(t, powerbi.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	ctx := context.Background()
	e.srv.SetRateLimit(listReports, 1, 2*time.Second)
	_, err := c.Reports.GetReportsInGroup(ctx, e.demo.WorkspaceID) // the window's one call
	require.NoError(t, err)
	count := func() int { return e.srv.CountRequests("/groups/" + e.demo.WorkspaceID + "/reports") }
	base := count()

	done := make(chan error, 64)
	go func() {
		_, err := c.Reports.GetReportsInGroup(ctx, e.demo.WorkspaceID) // throttled, then retried by the SDK
		done <- err
	}()
	require.Eventually(t, func() bool { return e.srv.RateLimited(listReports) == 1 }, 5*time.Second, time.Millisecond)
	throttledAt := time.Now()
	e.srv.SetRateLimit(listReports, 0, 0) // the service would take calls again once the window ends
	time.Sleep(200 * time.Millisecond)    // the SDK has read the 429 by now
	seen := count()
	for range 63 {
		go func() {
			_, err := c.Reports.GetReportsInGroup(ctx, e.demo.WorkspaceID)
			done <- err
		}()
	}
	time.Sleep(time.Second)
	assert.Equal(t, base+1, seen, "the throttled call")
	assert.Equal(t, base+1, count(), "exactly one more request to the class (the throttled one) before the Retry-After has passed")
	for range 64 {
		require.NoError(t, <-done)
	}
	assert.GreaterOrEqual(t, time.Since(throttledAt), 1500*time.Millisecond, "they waited for the window")
	assert.Equal(t, seen+64, count(), "each call once more, after the window")
	assert.Equal(t, 1, e.srv.RateLimited(listReports), "one 429, not one per caller")
	assert.Equal(t, 1, strings.Count(logs.String(), "every call of the class waits"), "the wait is logged once: %s", logs.String())
}

// lockedLog is a log destination for concurrent callers.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A call that cannot wait for its budget within its context fails at once,
// unsent, with ErrThrottled and how long it would have waited; so does one
// whose class a 429 holds for longer than its context lasts.
func TestCallThatCannotWaitFailsAtOnce(t *testing.T) {
	e := newE2E(t, powerbitest.WithRealClock())
	c := e.demoClient(t, powerbi.WithRateLimits(powerbi.RateLimit{Class: listReports, Requests: 1, Per: time.Minute}))
	_, err := c.Reports.GetReportsInGroup(context.Background(), e.demo.WorkspaceID)
	require.NoError(t, err)
	before := len(e.srv.Requests())
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.Reports.GetReportsInGroup(ctx, e.demo.WorkspaceID)
	require.ErrorIs(t, err, powerbi.ErrThrottled)
	var be *powerbi.BudgetError
	require.ErrorAs(t, err, &be)
	assert.Equal(t, listReports, be.Class)
	assert.Greater(t, be.RetryAfter, 50*time.Second)
	assert.Less(t, time.Since(start), 100*time.Millisecond, "at once")
	assert.Len(t, e.srv.Requests(), before, "not sent")
	assert.Contains(t, err.Error(), "1 calls per 1m0s")

	// A 429 with a Retry-After longer than the context can wait: the call that
	// got it fails as it always has, and the next one fails unsent.
	c2 := e.demoClient(t)
	e.srv.InjectFault(powerbitest.Fault{PathContains: "/reports", Status: 429, RetryAfter: "30"})
	_, err = c2.Reports.GetReportsInGroup(context.Background(), e.demo.WorkspaceID)
	var apiErr *powerbi.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 30*time.Second, apiErr.RetryAfter)
	before = len(e.srv.Requests())
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	_, err = c2.Reports.GetReportsInGroup(ctx2, e.demo.WorkspaceID)
	require.ErrorAs(t, err, &be)
	assert.Contains(t, err.Error(), "throttled")
	assert.Len(t, e.srv.Requests(), before, "not sent")
	_, err = c2.Reports.GetReportsInGroup(context.Background(), e.demo.WorkspaceID)
	require.ErrorAs(t, err, &be, "no deadline, but a window past MaxRetryAfter (5 s) is not waited for")
	assert.Contains(t, err.Error(), "MaxRetryAfter")
	assert.Len(t, e.srv.Requests(), before, "not sent")
	_, err = c2.Dashboards.GetDashboardsInGroup(ctx2, e.demo.WorkspaceID)
	assert.NoError(t, err, "another class is not held")
}

// The documented limits come from the contract; WithRateLimits replaces a
// class's, removes one with Requests 0, and refuses what makes no sense.
func TestRateLimitOptions(t *testing.T) {
	limits := map[string][]powerbi.RateLimit{}
	for _, l := range powerbi.DocumentedRateLimits() {
		limits[l.Class] = append(limits[l.Class], l)
	}
	assert.Equal(t, []powerbi.RateLimit{{Class: "Admin_GetActivityEvents", Requests: 200, Per: time.Hour}}, limits["Admin_GetActivityEvents"])
	assert.Equal(t, []powerbi.RateLimit{{Class: "ExecuteQueries", Requests: 120, Per: time.Minute}}, limits["ExecuteQueries"])
	assert.ElementsMatch(t, []powerbi.RateLimit{{Class: "Groups_GetGroupsAsAdmin", Requests: 50, Per: time.Hour}, {Class: "Groups_GetGroupsAsAdmin", Requests: 15, Per: time.Minute}}, limits["Groups_GetGroupsAsAdmin"])
	assert.Len(t, limits, 60)

	for _, bad := range []powerbi.RateLimit{{Requests: 1, Per: time.Second}, {Class: "x", Requests: -1}, {Class: "x", Requests: 1}} {
		_, err := powerbi.NewClient(powerbi.StaticToken("t"), powerbi.WithRateLimits(bad))
		assert.ErrorIs(t, err, powerbi.ErrInvalidArgument, "%+v", bad)
	}

	// ExecuteQueries and ExecuteQueriesInGroup share one budget, as the service counts them.
	e := newE2E(t, powerbitest.WithRealClock())
	e.srv.AddTable(e.demo.DatasetID, "T", map[string]any{"A": 1})
	c := e.demoClient(t, powerbi.WithRateLimits(powerbi.RateLimit{Class: "ExecuteQueries", Requests: 1, Per: time.Hour}))
	type row struct{ A int }
	_, err := powerbi.QueryInGroup[row](context.Background(), c.Datasets, e.demo.WorkspaceID, e.demo.DatasetID, "EVALUATE 'T'", nil)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = powerbi.QueryInGroup[row](ctx, c.Datasets, e.demo.WorkspaceID, e.demo.DatasetID, "EVALUATE 'T'", nil)
	assert.ErrorIs(t, err, powerbi.ErrThrottled)
}
