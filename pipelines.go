package powerbi

import (
	"context"
	"net/http"
)

// A deployment is a POST that answers 202 and an operation that runs at the
// service; these methods start it and follow it to its end.

// BeginDeployAll deploys every item of a pipeline's stage to the next one
// (or, with IsBackwardDeployment, the previous one) and returns a poller of
// the deployment, whose ID is the pipeline operation's. The deployment is
// started once: it is retried only after a 429, or when it never reached the
// service.
func (s *PipelinesService) BeginDeployAll(ctx context.Context, pipelineID string, req DeployAllRequest) (*Poller[PipelineOperation], error) {
	op, err := s.DeployAll(ctx, pipelineID, req)
	if err != nil {
		return nil, err
	}
	return s.ResumeDeployment(pipelineID, op.ID)
}

// BeginSelectiveDeploy deploys the chosen items of a pipeline's stage and
// returns a poller of the deployment (see BeginDeployAll).
func (s *PipelinesService) BeginSelectiveDeploy(ctx context.Context, pipelineID string, req SelectiveDeployRequest) (*Poller[PipelineOperation], error) {
	op, err := s.SelectiveDeploy(ctx, pipelineID, req)
	if err != nil {
		return nil, err
	}
	return s.ResumeDeployment(pipelineID, op.ID)
}

// ResumeDeployment rebuilds the poller of a deployment from its pipeline
// and operation IDs, without sending anything. Wait ends at Succeeded;
// Failed ends it with an *OperationError.
func (s *PipelinesService) ResumeDeployment(pipelineID, operationID string) (*Poller[PipelineOperation], error) {
	if err := checkGUIDs("pipelineID", pipelineID, "operationID", operationID); err != nil {
		return nil, err
	}
	poll := pollJSON[PipelineOperation](s.client, Request{Operation: "Pipelines_GetPipelineOperation", Method: http.MethodGet, Path: "pipelines/" + pipelineID + "/operations/" + operationID})
	return newPoller(s.client, "deployment", operationID, poll, func(op *PipelineOperation) (bool, *OperationError) {
		switch op.Status {
		case PipelineOperationStatusSucceeded:
			return true, nil
		case PipelineOperationStatusFailed:
			e := &OperationError{Status: string(op.Status)}
			if op.ExecutionPlan != nil {
				for _, step := range op.ExecutionPlan.Steps {
					if step.Error != nil && step.Error.ErrorCode != "" {
						e.Code, e.Message = step.Error.ErrorCode, step.Error.ErrorDetails
						break
					}
				}
			}
			return true, e
		}
		return false, nil
	}), nil
}
