package powerbi

import "context"

// EmbedTokenService calls the multi-resource GenerateToken operation.
// See https://learn.microsoft.com/rest/api/power-bi/embed-token
type EmbedTokenService service

// GenerateToken generates one embed token for up to 50 reports, 50 datasets and
// 50 target workspaces, possibly across workspaces. It cannot embed dashboards
// or tiles.
//
// https://learn.microsoft.com/rest/api/power-bi/embed-token/generate-token
func (s *EmbedTokenService) GenerateToken(ctx context.Context, req GenerateTokenRequestV2) (*EmbedToken, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	return s.client.generateToken(ctx, "GenerateToken", req)
}
