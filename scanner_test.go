package powerbi_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopowerbi/powerbi"
	"github.com/gopowerbi/powerbi/powerbitest"
)

// 1,000 workspaces scanned in batches of 100, at most 16 at once, within
// the scanner's hourly budgets on the fake's clock (which stands still: every
// request falls in one hour), each batch yielded as it completes.
func TestScan1000Workspaces(t *testing.T) {
	e := newE2E(t)
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = e.srv.AddWorkspace(powerbitest.Workspace{Name: fmt.Sprint("ws-", i)}).ID
	}
	e.srv.AddReport(ids[7], powerbi.Report{Name: "In a scanned workspace"})
	c := e.demoClient(t)
	seen := map[string]bool{}
	batches := 0
	for r := range c.WorkspaceInfo.Scan(context.Background(), ids, &powerbi.ScanOptions{Frequency: time.Millisecond,
		PostWorkspaceInfoOptions: powerbi.PostWorkspaceInfoOptions{Lineage: true}}) {
		require.NoError(t, r.Err)
		require.NotEmpty(t, r.ScanID)
		assert.LessOrEqual(t, len(r.Workspaces), 100)
		batches++
		for _, w := range r.Result.Workspaces {
			assert.False(t, seen[w.ID], "once")
			seen[w.ID] = true
			if w.ID == ids[7] {
				require.Len(t, w.Reports, 1)
				assert.Equal(t, "In a scanned workspace", w.Reports[0].Name)
			}
		}
	}
	assert.Equal(t, 10, batches)
	assert.Len(t, seen, 1000)
	st := e.srv.ScanStats()
	t.Logf("scanner: %+v", st)
	assert.Zero(t, st.Throttled, "no request over a limit")
	assert.Equal(t, 10, st.Posts)
	assert.LessOrEqual(t, st.Posts, 500)
	assert.LessOrEqual(t, st.ResultRequests, 500)
	assert.LessOrEqual(t, st.MaxConcurrent, 16)
	assert.Greater(t, st.MaxConcurrent, 1, "batches ran side by side")
}

// The scanner keeps to a budget smaller than the service's: with 3 posts an
// hour and 2 at once it spaces its posts, and breaking out of the loop stops
// it with nothing left running (goleak).
func TestScanBudgetAndEarlyStop(t *testing.T) {
	e := newE2E(t)
	ids := make([]string, 250)
	for i := range ids {
		ids[i] = e.srv.AddWorkspace(powerbitest.Workspace{Name: fmt.Sprint("ws-", i)}).ID
	}
	c := e.demoClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for r := range c.WorkspaceInfo.Scan(ctx, ids, &powerbi.ScanOptions{Frequency: time.Millisecond, Concurrent: 2, RequestsPerHour: 3}) {
		require.NoError(t, r.Err)
		break
	}
	assert.LessOrEqual(t, e.srv.ScanStats().Posts, 2, "the third post waits twenty minutes for its budget, so the stop comes first")

	for r := range c.WorkspaceInfo.Scan(ctx, []string{"not-a-guid"}, nil) {
		assert.ErrorIs(t, r.Err, powerbi.ErrInvalidArgument)
	}
	for r := range c.WorkspaceInfo.Scan(ctx, ids, &powerbi.ScanOptions{Concurrent: 17}) {
		assert.ErrorIs(t, r.Err, powerbi.ErrInvalidArgument)
	}
}

// The scanner's budget is the principal's, not one Scan's: a second Scan
// right after a first one has what the first left of the burst (16 posts),
// then waits for the budget to refill, past its short deadline.
func TestScanBudgetIsSharedAcrossCalls(t *testing.T) {
	e := newE2E(t)
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = e.srv.AddWorkspace(powerbitest.Workspace{Name: fmt.Sprint("ws-", i)}).ID
	}
	c := e.demoClient(t)
	opts := &powerbi.ScanOptions{Frequency: time.Millisecond}
	for r := range c.WorkspaceInfo.Scan(context.Background(), ids, opts) {
		require.NoError(t, r.Err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	done, failed := 0, 0
	for r := range c.WorkspaceInfo.Scan(ctx, ids, opts) {
		if r.Err != nil {
			assert.ErrorIs(t, r.Err, context.DeadlineExceeded, "%v", r.Err)
			failed++
			continue
		}
		done++
	}
	assert.Equal(t, 6, done, "16 posts in the burst, 10 of them spent by the first scan")
	assert.Equal(t, 4, failed, "the budget refused the other 4 at once: it would allow them only after the deadline")
	assert.Equal(t, 16, e.srv.ScanStats().Posts)
	assert.Zero(t, e.srv.ScanStats().Throttled)
}
