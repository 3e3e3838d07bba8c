package powerbi

import "context"

// The embed-token operations of Reports are hand-written: they check the
// request against the documented limits before anything is sent, and make
// sure the access token lives long enough first (see generateToken).

// GenerateTokenInGroup generates an embed token to view or edit a report.
//
//	POST /v1.0/myorg/groups/{groupId}/reports/{reportId}/GenerateToken
//
// https://learn.microsoft.com/rest/api/power-bi/embed-token/reports-generate-token-in-group
func (s *ReportsService) GenerateTokenInGroup(ctx context.Context, groupID, reportID string, req GenerateTokenRequest) (*EmbedToken, error) {
	if err := checkGUIDs("groupID", groupID, "reportID", reportID); err != nil {
		return nil, err
	}
	if err := req.validate(false); err != nil {
		return nil, err
	}
	return generateToken(ctx, s.client, "Reports_GenerateTokenInGroup", "groups/"+groupID+"/reports/"+reportID+"/GenerateToken", req)
}

// GenerateTokenForCreateInGroup generates an embed token to create a report on
// the dataset req.DatasetID. req.AccessLevel may be left empty; it is sent as Create.
//
//	POST /v1.0/myorg/groups/{groupId}/reports/GenerateToken
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
	return generateToken(ctx, s.client, "Reports_GenerateTokenForCreateInGroup", "groups/"+groupID+"/reports/GenerateToken", req)
}
