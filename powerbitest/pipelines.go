package powerbitest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gopowerbi/powerbi"
)

type pipeline struct {
	id, name string
	stages   int
	fail     bool // its deployments end Failed
}

type deployment struct {
	op         powerbi.PipelineOperation
	pipelineID string
	polls      int
	fail       bool
}

// AddPipeline seeds a deployment pipeline with the given number of stages
// (Development, Test, Production: 3) and returns its ID. Deployments of a
// pipeline added with fail set end Failed.
func (s *Server) AddPipeline(name string, stages int, fail bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &pipeline{id: NewGUID(), name: name, stages: stages, fail: fail}
	s.pipelines[p.id] = p
	return p.id
}

// deploy is DeployAll (all) or SelectiveDeploy: 202 with a pipeline
// operation that finishes over the status requests that follow.
func (s *Server) deploy(all bool) func(c *call) {
	return func(c *call) {
		s.mu.Lock()
		p := s.pipelines[strings.ToLower(c.r.PathValue("pipeline"))]
		s.mu.Unlock()
		if p == nil {
			s.notFound(c)
			return
		}
		var req struct {
			SourceStageOrder     int               `json:"sourceStageOrder"`
			IsBackwardDeployment bool              `json:"isBackwardDeployment"`
			Datasets             []json.RawMessage `json:"datasets"`
			Reports              []json.RawMessage `json:"reports"`
			Dashboards           []json.RawMessage `json:"dashboards"`
			Dataflows            []json.RawMessage `json:"dataflows"`
			Datamarts            []json.RawMessage `json:"datamarts"`
		}
		if err := json.NewDecoder(io.LimitReader(c.r.Body, 1<<20)).Decode(&req); err != nil {
			s.badRequest(c, "the body is not a deployment request: %v", err)
			return
		}
		target := req.SourceStageOrder + 1
		if req.IsBackwardDeployment {
			target = req.SourceStageOrder - 1
		}
		switch {
		case req.SourceStageOrder < 0 || req.SourceStageOrder >= p.stages || target < 0 || target >= p.stages:
			s.badRequest(c, "stage %d has no stage to deploy to (the pipeline has %d)", req.SourceStageOrder, p.stages)
			return
		case !all && len(req.Datasets)+len(req.Reports)+len(req.Dashboards)+len(req.Dataflows)+len(req.Datamarts) == 0:
			s.badRequest(c, "a selective deployment names at least one item")
			return
		}
		s.mu.Lock()
		now := s.nowLocked()
		d := &deployment{pipelineID: p.id, fail: p.fail, op: powerbi.PipelineOperation{ID: NewGUID(), Type: powerbi.PipelineOperationTypeDeploy,
			Status: powerbi.PipelineOperationStatusNotStarted, LastUpdatedTime: powerbi.Timestamp{Time: now},
			SourceStageOrder: req.SourceStageOrder, TargetStageOrder: target}}
		s.deployments[d.op.ID] = d
		out := d.op
		s.mu.Unlock()
		writeJSON(c.w, http.StatusAccepted, out)
	}
}

// pipelineOperation is GetPipelineOperation: Executing, then the outcome.
func (s *Server) pipelineOperation(c *call) {
	s.mu.Lock()
	d := s.deployments[strings.ToLower(c.r.PathValue("operation"))]
	if d == nil || d.pipelineID != strings.ToLower(c.r.PathValue("pipeline")) {
		s.mu.Unlock()
		s.notFound(c)
		return
	}
	now := s.nowLocked()
	if d.op.Status == powerbi.PipelineOperationStatusNotStarted || d.op.Status == powerbi.PipelineOperationStatusExecuting {
		d.polls++
		d.op.LastUpdatedTime = powerbi.Timestamp{Time: now}
		switch {
		case d.polls < 2:
			d.op.Status, d.op.ExecutionStartTime = powerbi.PipelineOperationStatusExecuting, powerbi.Timestamp{Time: now}
		case d.fail:
			d.op.Status, d.op.ExecutionEndTime = powerbi.PipelineOperationStatusFailed, powerbi.Timestamp{Time: now.Add(time.Millisecond)}
			d.op.ExecutionPlan = &powerbi.DeploymentExecutionPlan{Steps: []powerbi.DeploymentExecutionStep{{Index: 0,
				Type: powerbi.DeploymentStepTypeReportDeployment, Status: powerbi.PipelineOperationStatusFailed,
				Error: &powerbi.DeploymentError{ErrorCode: "NoPermissionsInTargetWorkspace", ErrorDetails: "the principal is not an admin of the target stage's workspace"}}}}
		default:
			d.op.Status, d.op.ExecutionEndTime = powerbi.PipelineOperationStatusSucceeded, powerbi.Timestamp{Time: now.Add(time.Millisecond)}
		}
	}
	out := d.op
	s.mu.Unlock()
	writeJSON(c.w, http.StatusOK, out)
}
