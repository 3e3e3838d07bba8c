package powerbi

import "context"

// GenerateTokenInGroup generates an embed token to view a dashboard.
//
//	POST /v1.0/myorg/groups/{groupId}/dashboards/{dashboardId}/GenerateToken
//
// https://learn.microsoft.com/rest/api/power-bi/embed-token/dashboards-generate-token-in-group
func (s *DashboardsService) GenerateTokenInGroup(ctx context.Context, groupID, dashboardID string, req GenerateTokenRequest) (*EmbedToken, error) {
	if err := checkGUIDs("groupID", groupID, "dashboardID", dashboardID); err != nil {
		return nil, err
	}
	if err := req.validate(false); err != nil {
		return nil, err
	}
	return generateToken(ctx, s.client, "Dashboards_GenerateTokenInGroup", "groups/"+groupID+"/dashboards/"+dashboardID+"/GenerateToken", req)
}
