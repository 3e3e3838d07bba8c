package powerbi

import (
	"context"
	"net/http"
)

// ReportsService calls the Reports operations.
// See https://learn.microsoft.com/rest/api/power-bi/reports
type ReportsService service

// GetReports returns the reports in the caller's My workspace.
//
// https://learn.microsoft.com/rest/api/power-bi/reports/get-reports
func (s *ReportsService) GetReports(ctx context.Context) ([]Report, error) {
	return callList[Report](ctx, s.client, &Request{Method: http.MethodGet, Path: "reports"})
}

// GetReport returns a report from the caller's My workspace.
//
// https://learn.microsoft.com/rest/api/power-bi/reports/get-report
func (s *ReportsService) GetReport(ctx context.Context, reportID string) (*Report, error) {
	if err := checkGUID("reportID", reportID); err != nil {
		return nil, err
	}
	return callJSON[Report](ctx, s.client, &Request{Method: http.MethodGet, Path: "reports/" + reportID})
}

// GetReportsInGroup returns the reports in a workspace.
//
// https://learn.microsoft.com/rest/api/power-bi/reports/get-reports-in-group
func (s *ReportsService) GetReportsInGroup(ctx context.Context, groupID string) ([]Report, error) {
	if err := checkGUID("groupID", groupID); err != nil {
		return nil, err
	}
	return callList[Report](ctx, s.client, &Request{Method: http.MethodGet, Path: "groups/" + groupID + "/reports"})
}

// GetReportInGroup returns a report from a workspace, with its embedUrl and datasetId.
//
// https://learn.microsoft.com/rest/api/power-bi/reports/get-report-in-group
func (s *ReportsService) GetReportInGroup(ctx context.Context, groupID, reportID string) (*Report, error) {
	if err := checkGUIDs("groupID", groupID, "reportID", reportID); err != nil {
		return nil, err
	}
	return callJSON[Report](ctx, s.client, &Request{Method: http.MethodGet, Path: "groups/" + groupID + "/reports/" + reportID})
}

// GenerateTokenInGroup generates an embed token to view or edit a report.
//
// https://learn.microsoft.com/rest/api/power-bi/embed-token/reports-generate-token-in-group
func (s *ReportsService) GenerateTokenInGroup(ctx context.Context, groupID, reportID string, req GenerateTokenRequest) (*EmbedToken, error) {
	if err := checkGUIDs("groupID", groupID, "reportID", reportID); err != nil {
		return nil, err
	}
	if err := req.validate(false); err != nil {
		return nil, err
	}
	return generateToken(ctx, s.client, "groups/"+groupID+"/reports/"+reportID+"/GenerateToken", req)
}

// GenerateTokenForCreateInGroup generates an embed token to create a report on
// the dataset req.DatasetID. req.AccessLevel may be left empty; it is sent as Create.
//
// https://learn.microsoft.com/rest/api/power-bi/embed-token/reports-generate-token-for-create-in-group
func (s *ReportsService) GenerateTokenForCreateInGroup(ctx context.Context, groupID string, req GenerateTokenRequest) (*EmbedToken, error) {
	if err := checkGUID("groupID", groupID); err != nil {
		return nil, err
	}
	if err := req.validate(true); err != nil {
		return nil, err
	}
	req.AccessLevel = TokenAccessLevelCreate
	return generateToken(ctx, s.client, "groups/"+groupID+"/reports/GenerateToken", req)
}
