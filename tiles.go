package powerbi

import "context"

// GenerateTokenInGroup generates an embed token to view a tile.
//
//	POST /v1.0/myorg/groups/{groupId}/dashboards/{dashboardId}/tiles/{tileId}/GenerateToken
//
// https://learn.microsoft.com/rest/api/power-bi/embed-token/tiles-generate-token-in-group
func (s *TilesService) GenerateTokenInGroup(ctx context.Context, groupID, dashboardID, tileID string, req GenerateTokenRequest) (*EmbedToken, error) {
	if err := checkGUIDs("groupID", groupID, "dashboardID", dashboardID, "tileID", tileID); err != nil {
		return nil, err
	}
	if err := req.validate(false); err != nil {
		return nil, err
	}
	return generateToken(ctx, s.client, "Tiles_GenerateTokenInGroup", "groups/"+groupID+"/dashboards/"+dashboardID+"/tiles/"+tileID+"/GenerateToken", req)
}
