package powerbi

import (
	"context"
	"net/http"
	"net/url"
)

// GenerateTokenInGroup generates an embed token for a dataset (Q&A, or report creation).
//
//	POST /v1.0/myorg/groups/{groupId}/datasets/{datasetId}/GenerateToken
//
// https://learn.microsoft.com/rest/api/power-bi/embed-token/datasets-generate-token-in-group
func (s *DatasetsService) GenerateTokenInGroup(ctx context.Context, groupID, datasetID string, req GenerateTokenRequest) (*EmbedToken, error) {
	if err := checkGUID("groupID", groupID); err != nil {
		return nil, err
	}
	if err := checkDatasetID("datasetID", datasetID); err != nil {
		return nil, err
	}
	if err := req.validate(false); err != nil {
		return nil, err
	}
	return generateToken(ctx, s.client, "Datasets_GenerateTokenInGroup", "groups/"+groupID+"/datasets/"+url.PathEscape(datasetID)+"/GenerateToken", req)
}

// RefreshDatasetResult is what the service says when it accepts a refresh.
// For an enhanced refresh (a request with options besides NotifyOption) it
// names the refresh: RequestID is the refresh ID that
// GetRefreshExecutionDetails and CancelRefresh take, Location the URL of its
// details. For a plain refresh both are empty.
type RefreshDatasetResult struct {
	RequestID string // the x-ms-request-id header
	Location  string // the Location header
}

// RefreshDataset starts a refresh of a dataset in your My workspace. req may
// be nil for a plain refresh. It is sent once: a refresh is retried only after
// a 429, or when it never reached the service.
//
//	POST /v1.0/myorg/datasets/{datasetId}/refreshes
//
// https://learn.microsoft.com/rest/api/power-bi/datasets/refresh-dataset
func (s *DatasetsService) RefreshDataset(ctx context.Context, datasetID string, req *DatasetRefreshRequest) (*RefreshDatasetResult, error) {
	if err := checkDatasetID("datasetID", datasetID); err != nil {
		return nil, err
	}
	return refreshDataset(ctx, s.client, "datasets/"+url.PathEscape(datasetID)+"/refreshes", req)
}

// RefreshDatasetInGroup starts a refresh of a dataset in a workspace. req may
// be nil for a plain refresh. It is sent once: a refresh is retried only after
// a 429, or when it never reached the service.
//
//	POST /v1.0/myorg/groups/{groupId}/datasets/{datasetId}/refreshes
//
// https://learn.microsoft.com/rest/api/power-bi/datasets/refresh-dataset-in-group
func (s *DatasetsService) RefreshDatasetInGroup(ctx context.Context, groupID, datasetID string, req *DatasetRefreshRequest) (*RefreshDatasetResult, error) {
	if err := checkGUIDs("groupID", groupID); err != nil {
		return nil, err
	}
	if err := checkDatasetID("datasetID", datasetID); err != nil {
		return nil, err
	}
	return refreshDataset(ctx, s.client, "groups/"+groupID+"/datasets/"+url.PathEscape(datasetID)+"/refreshes", req)
}

func refreshDataset(ctx context.Context, c *Client, path string, req *DatasetRefreshRequest) (*RefreshDatasetResult, error) {
	h, err := c.send(ctx, &Request{Operation: inGroupOp("Datasets_RefreshDataset", path), Method: http.MethodPost, Path: path, Body: optional(req)}, nil)
	if err != nil {
		return nil, err
	}
	return &RefreshDatasetResult{RequestID: h.Get("X-Ms-Request-Id"), Location: h.Get("Location")}, nil
}
