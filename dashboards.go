package powerbi

import (
	"context"
	"net/http"
)

// DashboardsService calls the Dashboards operations.
// See https://learn.microsoft.com/rest/api/power-bi/dashboards
type DashboardsService service

// GetDashboards returns the dashboards in the caller's My workspace.
//
// https://learn.microsoft.com/rest/api/power-bi/dashboards/get-dashboards
func (s *DashboardsService) GetDashboards(ctx context.Context) ([]Dashboard, error) {
	return callList[Dashboard](ctx, s.client, &Request{Method: http.MethodGet, Path: "dashboards"})
}

// GetDashboard returns a dashboard from the caller's My workspace.
//
// https://learn.microsoft.com/rest/api/power-bi/dashboards/get-dashboard
func (s *DashboardsService) GetDashboard(ctx context.Context, dashboardID string) (*Dashboard, error) {
	if err := checkGUID("dashboardID", dashboardID); err != nil {
		return nil, err
	}
	return callJSON[Dashboard](ctx, s.client, &Request{Method: http.MethodGet, Path: "dashboards/" + dashboardID})
}

// GetDashboardsInGroup returns the dashboards in a workspace.
//
// https://learn.microsoft.com/rest/api/power-bi/dashboards/get-dashboards-in-group
func (s *DashboardsService) GetDashboardsInGroup(ctx context.Context, groupID string) ([]Dashboard, error) {
	if err := checkGUID("groupID", groupID); err != nil {
		return nil, err
	}
	return callList[Dashboard](ctx, s.client, &Request{Method: http.MethodGet, Path: "groups/" + groupID + "/dashboards"})
}

// GetDashboardInGroup returns a dashboard from a workspace.
//
// https://learn.microsoft.com/rest/api/power-bi/dashboards/get-dashboard-in-group
func (s *DashboardsService) GetDashboardInGroup(ctx context.Context, groupID, dashboardID string) (*Dashboard, error) {
	if err := checkGUIDs("groupID", groupID, "dashboardID", dashboardID); err != nil {
		return nil, err
	}
	return callJSON[Dashboard](ctx, s.client, &Request{Method: http.MethodGet, Path: "groups/" + groupID + "/dashboards/" + dashboardID})
}

// GenerateTokenInGroup generates an embed token to view a dashboard.
//
// https://learn.microsoft.com/rest/api/power-bi/embed-token/dashboards-generate-token-in-group
func (s *DashboardsService) GenerateTokenInGroup(ctx context.Context, groupID, dashboardID string, req GenerateTokenRequest) (*EmbedToken, error) {
	if err := checkGUIDs("groupID", groupID, "dashboardID", dashboardID); err != nil {
		return nil, err
	}
	if err := req.validate(false); err != nil {
		return nil, err
	}
	return generateToken(ctx, s.client, "groups/"+groupID+"/dashboards/"+dashboardID+"/GenerateToken", req)
}
