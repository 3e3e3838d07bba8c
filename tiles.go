package powerbi

import (
	"context"
	"net/http"
)

// TilesService calls the operations on dashboard tiles (the swagger files the
// reads under Dashboards and the token under Tiles).
// See https://learn.microsoft.com/rest/api/power-bi/dashboards
type TilesService service

// GetTiles returns the tiles of a dashboard in the caller's My workspace.
//
// https://learn.microsoft.com/rest/api/power-bi/dashboards/get-tiles
func (s *TilesService) GetTiles(ctx context.Context, dashboardID string) ([]Tile, error) {
	if err := checkGUID("dashboardID", dashboardID); err != nil {
		return nil, err
	}
	return callList[Tile](ctx, s.client, &Request{Method: http.MethodGet, Path: "dashboards/" + dashboardID + "/tiles"})
}

// GetTile returns a tile of a dashboard in the caller's My workspace.
//
// https://learn.microsoft.com/rest/api/power-bi/dashboards/get-tile
func (s *TilesService) GetTile(ctx context.Context, dashboardID, tileID string) (*Tile, error) {
	if err := checkGUIDs("dashboardID", dashboardID, "tileID", tileID); err != nil {
		return nil, err
	}
	return callJSON[Tile](ctx, s.client, &Request{Method: http.MethodGet, Path: "dashboards/" + dashboardID + "/tiles/" + tileID})
}

// GetTilesInGroup returns the tiles of a dashboard in a workspace.
//
// https://learn.microsoft.com/rest/api/power-bi/dashboards/get-tiles-in-group
func (s *TilesService) GetTilesInGroup(ctx context.Context, groupID, dashboardID string) ([]Tile, error) {
	if err := checkGUIDs("groupID", groupID, "dashboardID", dashboardID); err != nil {
		return nil, err
	}
	return callList[Tile](ctx, s.client, &Request{Method: http.MethodGet, Path: "groups/" + groupID + "/dashboards/" + dashboardID + "/tiles"})
}

// GetTileInGroup returns a tile of a dashboard in a workspace.
//
// https://learn.microsoft.com/rest/api/power-bi/dashboards/get-tile-in-group
func (s *TilesService) GetTileInGroup(ctx context.Context, groupID, dashboardID, tileID string) (*Tile, error) {
	if err := checkGUIDs("groupID", groupID, "dashboardID", dashboardID, "tileID", tileID); err != nil {
		return nil, err
	}
	return callJSON[Tile](ctx, s.client, &Request{Method: http.MethodGet, Path: "groups/" + groupID + "/dashboards/" + dashboardID + "/tiles/" + tileID})
}

// GenerateTokenInGroup generates an embed token to view a tile.
//
// https://learn.microsoft.com/rest/api/power-bi/embed-token/tiles-generate-token-in-group
func (s *TilesService) GenerateTokenInGroup(ctx context.Context, groupID, dashboardID, tileID string, req GenerateTokenRequest) (*EmbedToken, error) {
	if err := checkGUIDs("groupID", groupID, "dashboardID", dashboardID, "tileID", tileID); err != nil {
		return nil, err
	}
	if err := req.validate(false); err != nil {
		return nil, err
	}
	return generateToken(ctx, s.client, "groups/"+groupID+"/dashboards/"+dashboardID+"/tiles/"+tileID+"/GenerateToken", req)
}
