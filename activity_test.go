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

// 30 days of activity events, read as one window: the SDK asks one UTC day
// at a time and follows each day's continuation tokens exactly as the fake
// handed them out (it refuses any other).
func TestActivityEventsOver30Days(t *testing.T) {
	now := time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC)
	e := newE2E(t, powerbitest.WithStartTime(now))
	e.srv.SetActivityPageSize(7)
	start := now.Add(-30 * 24 * time.Hour).Truncate(24 * time.Hour).Add(24 * time.Hour)
	var events []map[string]any
	for i := 0; i < 30*24; i++ { // one event an hour
		ts := start.Add(time.Duration(i) * time.Hour)
		if ts.After(now) {
			break
		}
		activity := "ViewReport"
		if i%5 == 0 {
			activity = "ExportReport"
		}
		events = append(events, map[string]any{"Id": fmt.Sprint(i), "CreationTime": ts.Format(time.RFC3339), "Activity": activity})
	}
	require.NoError(t, e.srv.AddActivityEvents(events...))
	c := e.demoClient(t)

	var got []string
	for ev, err := range c.Admin.ActivityEvents(context.Background(), start, now.Add(time.Minute), nil) {
		require.NoError(t, err)
		got = append(got, ev["Id"].(string))
	}
	require.Len(t, got, len(events), "every event, once")
	for i, id := range got {
		require.Equal(t, fmt.Sprint(i), id, "in order")
	}
	assert.Greater(t, e.srv.CountRequests("/admin/activityevents"), 30*24/7, "pages followed by continuation token")

	n := 0
	for ev, err := range c.Admin.ActivityEvents(context.Background(), start, start.Add(72*time.Hour), &powerbi.ActivityEventsOptions{Filter: "Activity eq 'ExportReport'"}) {
		require.NoError(t, err)
		assert.Equal(t, "ExportReport", ev["Activity"])
		n++
	}
	assert.Equal(t, 72/5+1, n)

	for _, err := range c.Admin.ActivityEvents(context.Background(), now, now.Add(-time.Hour), nil) {
		assert.ErrorIs(t, err, powerbi.ErrInvalidArgument)
	}
}
