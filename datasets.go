package powerbi

import (
	"context"
	"net/http"
	"net/url"
)

// DatasetsService calls the Datasets operations.
// See https://learn.microsoft.com/rest/api/power-bi/datasets
type DatasetsService service

// GetDatasets returns the datasets in the caller's My workspace.
//
// https://learn.microsoft.com/rest/api/power-bi/datasets/get-datasets
func (s *DatasetsService) GetDatasets(ctx context.Context) ([]Dataset, error) {
	return callList[Dataset](ctx, s.client, &Request{Method: http.MethodGet, Path: "datasets"})
}

// GetDataset returns a dataset from the caller's My workspace.
//
// https://learn.microsoft.com/rest/api/power-bi/datasets/get-dataset
func (s *DatasetsService) GetDataset(ctx context.Context, datasetID string) (*Dataset, error) {
	if err := checkDatasetID("datasetID", datasetID); err != nil {
		return nil, err
	}
	return callJSON[Dataset](ctx, s.client, &Request{Method: http.MethodGet, Path: "datasets/" + url.PathEscape(datasetID)})
}

// GetDatasetsInGroup returns the datasets in a workspace.
//
// https://learn.microsoft.com/rest/api/power-bi/datasets/get-datasets-in-group
func (s *DatasetsService) GetDatasetsInGroup(ctx context.Context, groupID string) ([]Dataset, error) {
	if err := checkGUID("groupID", groupID); err != nil {
		return nil, err
	}
	return callList[Dataset](ctx, s.client, &Request{Method: http.MethodGet, Path: "groups/" + groupID + "/datasets"})
}

// GetDatasetInGroup returns a dataset from a workspace, with the
// isEffectiveIdentityRequired flags that say whether embed tokens need an identity.
//
// https://learn.microsoft.com/rest/api/power-bi/datasets/get-dataset-in-group
func (s *DatasetsService) GetDatasetInGroup(ctx context.Context, groupID, datasetID string) (*Dataset, error) {
	if err := checkGUID("groupID", groupID); err != nil {
		return nil, err
	}
	if err := checkDatasetID("datasetID", datasetID); err != nil {
		return nil, err
	}
	return callJSON[Dataset](ctx, s.client, &Request{Method: http.MethodGet, Path: "groups/" + groupID + "/datasets/" + url.PathEscape(datasetID)})
}

// GenerateTokenInGroup generates an embed token for a dataset (Q&A, or report creation).
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
	return generateToken(ctx, s.client, "groups/"+groupID+"/datasets/"+url.PathEscape(datasetID)+"/GenerateToken", req)
}
