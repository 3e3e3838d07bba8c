package powerbi_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopowerbi/powerbi"
	"github.com/gopowerbi/powerbi/powerbitest"
)

var fastRefreshPolls = &powerbi.WaitOptions[powerbi.DatasetRefreshDetail]{Frequency: time.Millisecond}

// A refresh is followed to Completed through its execution details, with a
// status after every poll; a service principal's refresh goes out with
// NoNotification, the only option it may use.
func TestRefreshCompleted(t *testing.T) {
	e := newE2E(t)
	e.srv.SetRefreshes(powerbitest.Refreshes{Polls: 3})
	c := e.demoClient(t)
	ctx := context.Background()
	p, err := c.Datasets.BeginRefreshDatasetInGroup(ctx, e.demo.WorkspaceID, e.demo.DatasetID, powerbi.DatasetRefreshRequest{})
	require.NoError(t, err)
	require.NotEmpty(t, p.ID(), "the 202's x-ms-request-id")
	var seen []powerbi.DatasetRefreshDetailExtendedStatus
	st, err := p.Wait(ctx, &powerbi.WaitOptions[powerbi.DatasetRefreshDetail]{Frequency: time.Millisecond,
		Progress: func(d *powerbi.DatasetRefreshDetail) { seen = append(seen, d.ExtendedStatus) }})
	require.NoError(t, err)
	assert.Equal(t, powerbi.DatasetRefreshDetailStatusCompleted, st.Status)
	assert.Equal(t, []powerbi.DatasetRefreshDetailExtendedStatus{"InProgress", "InProgress", "Completed"}, seen)
	posts := 0
	for _, r := range e.srv.Requests() {
		if r.Method == "POST" && r.Path == "/v1.0/myorg/groups/"+e.demo.WorkspaceID+"/datasets/"+e.demo.DatasetID+"/refreshes" {
			posts++
			assert.JSONEq(t, `{"notifyOption":"NoNotification"}`, r.Body)
		}
	}
	assert.Equal(t, 1, posts, "one refresh started")

	// MailOnFailure is refused for a service principal, as the service does.
	_, err = c.Datasets.BeginRefreshDatasetInGroup(ctx, e.demo.WorkspaceID, e.demo.DatasetID, powerbi.DatasetRefreshRequest{NotifyOption: powerbi.NotifyOptionMailOnFailure})
	var apiErr *powerbi.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 400, apiErr.StatusCode)
	assert.Contains(t, err.Error(), "app only owner")
}

// A failed refresh ends Wait with ErrOperationFailed carrying the engine's
// message; a cancelled one with its Cancelled state.
func TestRefreshFailedAndCancelled(t *testing.T) {
	e := newE2E(t)
	const reason = "The credentials provided for the SQL source are invalid."
	e.srv.SetRefreshes(powerbitest.Refreshes{Polls: 2, Fail: map[string]string{e.demo.DatasetID: reason}})
	c := e.demoClient(t)
	ctx := context.Background()
	p, err := c.Datasets.BeginRefreshDatasetInGroup(ctx, e.demo.WorkspaceID, e.demo.DatasetID, powerbi.DatasetRefreshRequest{Type: powerbi.DatasetRefreshTypeFull})
	require.NoError(t, err)
	st, err := p.Wait(ctx, fastRefreshPolls)
	require.ErrorIs(t, err, powerbi.ErrOperationFailed)
	var opErr *powerbi.OperationError
	require.ErrorAs(t, err, &opErr)
	assert.Equal(t, "refresh", opErr.Operation)
	assert.Equal(t, "Failed", opErr.Status)
	assert.Equal(t, "ModelRefreshFailed", opErr.Code)
	assert.Equal(t, reason, opErr.Message)
	assert.Contains(t, err.Error(), reason)
	assert.Equal(t, powerbi.DatasetRefreshDetailStatusFailed, st.Status)

	e.srv.SetRefreshes(powerbitest.Refreshes{Polls: 1000})
	p, err = c.Datasets.BeginRefreshDatasetInGroup(ctx, e.demo.WorkspaceID, e.demo.RLSDatasetID, powerbi.DatasetRefreshRequest{Type: powerbi.DatasetRefreshTypeFull, CommitMode: powerbi.DatasetCommitModeTransactional})
	require.NoError(t, err)
	st, err = p.Poll(ctx)
	require.NoError(t, err)
	assert.Equal(t, powerbi.DatasetRefreshDetailExtendedStatusInProgress, st.ExtendedStatus)
	require.NoError(t, p.Cancel(ctx))
	st, err = p.Wait(ctx, fastRefreshPolls)
	require.ErrorIs(t, err, powerbi.ErrOperationFailed)
	require.ErrorAs(t, err, &opErr)
	assert.Equal(t, "Cancelled", opErr.Status)
	assert.Equal(t, powerbi.DatasetRefreshDetailExtendedStatusCancelled, st.ExtendedStatus)
}

// When the 202 carries no request ID, the poller follows the history's newest
// entry, waiting on through its "Unknown" (in progress) status; a poller
// rebuilt from the ID it then learnt waits for the same refresh.
func TestRefreshWithoutRequestIDAndResumed(t *testing.T) {
	e := newE2E(t)
	e.srv.SetRefreshes(powerbitest.Refreshes{Polls: 3, OmitRequestID: true})
	c := e.demoClient(t)
	ctx := context.Background()
	p, err := c.Datasets.BeginRefreshDatasetInGroup(ctx, e.demo.WorkspaceID, e.demo.DatasetID, powerbi.DatasetRefreshRequest{})
	require.NoError(t, err)
	assert.Empty(t, p.ID())
	st, err := p.Poll(ctx)
	require.NoError(t, err)
	assert.Equal(t, powerbi.DatasetRefreshDetailStatusUnknown, st.Status, "in progress, as the history says")
	assert.False(t, p.Done(), "Unknown is not an end")
	st, err = p.Wait(ctx, fastRefreshPolls)
	require.NoError(t, err)
	assert.Equal(t, powerbi.DatasetRefreshDetailStatusCompleted, st.Status)

	e.srv.SetRefreshes(powerbitest.Refreshes{Polls: 3})
	p, err = c.Datasets.BeginRefreshDatasetInGroup(ctx, e.demo.WorkspaceID, e.demo.DatasetID, powerbi.DatasetRefreshRequest{})
	require.NoError(t, err)
	resumed, err := c.Datasets.ResumeRefreshDatasetInGroup(e.demo.WorkspaceID, e.demo.DatasetID, p.ID())
	require.NoError(t, err)
	st, err = resumed.Wait(ctx, fastRefreshPolls)
	require.NoError(t, err)
	assert.Equal(t, powerbi.DatasetRefreshDetailStatusCompleted, st.Status)
	_, err = c.Datasets.ResumeRefreshDatasetInGroup(e.demo.WorkspaceID, e.demo.DatasetID, "")
	assert.ErrorIs(t, err, powerbi.ErrInvalidArgument)
}
