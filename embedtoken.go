package powerbi

import (
	"context"
	"net/http"
)

// GenerateToken generates one embed token for up to 50 reports, 50 datasets and
// 50 target workspaces, possibly across workspaces. It cannot embed dashboards
// or tiles.
//
//	POST /v1.0/myorg/GenerateToken
//
// https://learn.microsoft.com/rest/api/power-bi/embed-token/generate-token
func (s *EmbedTokenService) GenerateToken(ctx context.Context, req GenerateTokenRequestV2) (*EmbedToken, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	return generateToken(ctx, s.client, "EmbedToken_GenerateToken", "GenerateToken", req)
}

// generateToken POSTs a GenerateToken request, first making sure the access
// token has the minimum lifetime left: an embed token never outlives the
// access token that created it. GenerateToken creates nothing, so it is
// retried like a read.
func generateToken(ctx context.Context, c *Client, op, path string, req any) (*EmbedToken, error) {
	return callJSON[EmbedToken](ctx, c, &Request{Operation: op, Method: http.MethodPost, Path: path, Body: req, Idempotent: true, minLife: c.minLifetime})
}
