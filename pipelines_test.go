package powerbi_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopowerbi/powerbi"
)

// A deployment, all or selective, waited for to its end; a failed one
// carries the step's error.
func TestDeployments(t *testing.T) {
	e := newE2E(t)
	c := e.demoClient(t)
	ctx := context.Background()
	wait := &powerbi.WaitOptions[powerbi.PipelineOperation]{Frequency: time.Millisecond}
	pipeline := e.srv.AddPipeline("Sales", 3, false)

	p, err := c.Pipelines.BeginDeployAll(ctx, pipeline, powerbi.DeployAllRequest{SourceStageOrder: 0})
	require.NoError(t, err)
	op, err := p.Wait(ctx, wait)
	require.NoError(t, err)
	assert.Equal(t, powerbi.PipelineOperationStatusSucceeded, op.Status)
	assert.Equal(t, 1, op.TargetStageOrder)

	p, err = c.Pipelines.BeginSelectiveDeploy(ctx, pipeline, powerbi.SelectiveDeployRequest{SourceStageOrder: 1,
		Reports: []powerbi.DeployArtifactRequest{{SourceID: e.demo.ReportID}}})
	require.NoError(t, err)
	resumed, err := c.Pipelines.ResumeDeployment(pipeline, p.ID())
	require.NoError(t, err)
	op, err = resumed.Wait(ctx, wait)
	require.NoError(t, err)
	assert.Equal(t, 2, op.TargetStageOrder)

	_, err = c.Pipelines.BeginSelectiveDeploy(ctx, pipeline, powerbi.SelectiveDeployRequest{SourceStageOrder: 0})
	var apiErr *powerbi.APIError
	require.ErrorAs(t, err, &apiErr, "a selective deployment of nothing")
	assert.Equal(t, 400, apiErr.StatusCode)

	failing := e.srv.AddPipeline("Finance", 2, true)
	p, err = c.Pipelines.BeginDeployAll(ctx, failing, powerbi.DeployAllRequest{})
	require.NoError(t, err)
	_, err = p.Wait(ctx, wait)
	require.ErrorIs(t, err, powerbi.ErrOperationFailed)
	assert.Contains(t, err.Error(), "NoPermissionsInTargetWorkspace")
}
