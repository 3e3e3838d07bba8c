package powerbi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// EmbedType is the kind of item powerbi-client embeds.
type EmbedType string

// Embed types, as powerbi-client names them.
const (
	EmbedTypeReport    EmbedType = "report"
	EmbedTypeDashboard EmbedType = "dashboard"
	EmbedTypeTile      EmbedType = "tile"
	EmbedTypeQnA       EmbedType = "qna"
)

// TokenType is powerbi-client's models.TokenType.
type TokenType int

// Token types: an embed config made by this SDK always carries an embed token.
const (
	TokenTypeAad   TokenType = 0
	TokenTypeEmbed TokenType = 1
)

// Permissions is powerbi-client's models.Permissions, a bit set.
type Permissions int

// Permissions of an embedded report.
const (
	PermissionsRead      Permissions = 0
	PermissionsReadWrite Permissions = 1
	PermissionsCopy      Permissions = 2 // "Save as"
	PermissionsCreate    Permissions = 4
	PermissionsAll       Permissions = 7
)

// EmbedConfig is the configuration powerbi-client's powerbi.embed takes.
// Marshal it to JSON and hand it to the page; the page should call
// setAccessToken with a fresh config's AccessToken a few minutes before
// Expiration. Its String and GoString hide the token; its JSON does not, as
// the page needs it.
type EmbedConfig struct {
	Type        EmbedType   `json:"type"`
	ID          string      `json:"id"`
	EmbedURL    string      `json:"embedUrl"`    // as the REST API returned it, unchanged
	AccessToken string      `json:"accessToken"` // the embed token
	TokenType   TokenType   `json:"tokenType"`   // TokenTypeEmbed
	TokenID     string      `json:"tokenId"`
	Expiration  time.Time   `json:"expiration"`
	DashboardID string      `json:"dashboardId,omitempty"` // tiles
	DatasetIDs  []string    `json:"datasetIds,omitempty"`  // Q&A
	Permissions Permissions `json:"permissions,omitempty"` // reports; 0 is read-only
	ViewMode    int         `json:"viewMode,omitempty"`    // reports: 1 opens in edit mode
}

// String hides the token when the config is printed with %v or %+v.
func (c EmbedConfig) String() string {
	return fmt.Sprintf("{Type:%s ID:%s EmbedURL:%s AccessToken:[REDACTED] TokenType:%d TokenID:%s Expiration:%s}",
		c.Type, c.ID, c.EmbedURL, c.TokenType, c.TokenID, c.Expiration.Format(time.RFC3339))
}

// GoString hides the token when the config is printed with %#v.
func (c EmbedConfig) GoString() string { return "powerbi.EmbedConfig" + c.String() }

// EmbedOptions are the choices of an embed configuration. The zero value (or
// nil) is a read-only view with no row-level security.
type EmbedOptions struct {
	// Identities are the row-level-security identities. An identity without
	// Datasets applies to the item's dataset. Required when the dataset says
	// isEffectiveIdentityRequired; refused when it does not.
	Identities []EffectiveIdentity
	// LifetimeInMinutes shortens the token (0: as long as the service allows,
	// which is never past the access token's expiry).
	LifetimeInMinutes int
	// AllowEdit lets the page edit the report (reports only).
	AllowEdit bool
	// AllowSaveAs lets the page save a copy of the report in its workspace (reports only).
	AllowSaveAs bool
}

// check returns the options, or their zero value for nil, after checking
// what can be checked before anything is sent. editable is true for the
// items AllowEdit and AllowSaveAs apply to (Power BI reports).
func (o *EmbedOptions) check(editable bool) (*EmbedOptions, error) {
	if o == nil {
		return &EmbedOptions{}, nil
	}
	if !editable && (o.AllowEdit || o.AllowSaveAs) {
		return nil, invalid("EmbedOptions", "AllowEdit and AllowSaveAs apply to Power BI reports only")
	}
	if err := checkLifetime(o.LifetimeInMinutes); err != nil {
		return nil, err
	}
	return o, checkIdentities(o.Identities)
}

// ReportEmbedConfig looks up a report and generates its embed token: V2
// (report and dataset, the call Microsoft recommends) for Power BI reports,
// V1 for paginated (RDL) reports. When the report's dataset requires an
// identity and opts gives none, or gives one the dataset does not take, it
// fails with a *ValidationError before calling GenerateToken.
//
// https://learn.microsoft.com/rest/api/power-bi/embed-token/generate-token
func (c *Client) ReportEmbedConfig(ctx context.Context, groupID, reportID string, opts *EmbedOptions) (*EmbedConfig, error) {
	o, err := opts.check(true)
	if err != nil {
		return nil, err
	}
	report, err := c.Reports.GetReportInGroup(ctx, groupID, reportID)
	if err != nil {
		return nil, err
	}
	conf := &EmbedConfig{Type: EmbedTypeReport, ID: report.ID, EmbedURL: report.EmbedURL}
	if o.AllowEdit {
		conf.Permissions |= PermissionsReadWrite
	}
	if o.AllowSaveAs {
		conf.Permissions |= PermissionsCopy
	}
	var tok *EmbedToken
	if report.ReportType == ReportTypePaginated || report.DatasetID == "" {
		if o.AllowEdit || o.AllowSaveAs {
			return nil, invalid("EmbedOptions", "paginated reports cannot be edited or saved from an embed")
		}
		tok, err = c.Reports.GenerateTokenInGroup(ctx, groupID, report.ID, GenerateTokenRequest{
			AccessLevel: TokenAccessLevelView, Identities: o.Identities, LifetimeInMinutes: o.LifetimeInMinutes})
	} else {
		var ids []EffectiveIdentity
		if ids, err = c.identitiesFor(ctx, groupID, report.DatasetID, o.Identities); err != nil {
			return nil, err
		}
		req := GenerateTokenRequestV2{
			Reports:           []GenerateTokenRequestV2Report{{ID: report.ID, AllowEdit: o.AllowEdit}},
			Datasets:          []GenerateTokenRequestV2Dataset{{ID: report.DatasetID}},
			Identities:        ids,
			LifetimeInMinutes: o.LifetimeInMinutes,
		}
		if o.AllowSaveAs {
			req.TargetWorkspaces = []GenerateTokenRequestV2TargetWorkspace{{ID: groupID}}
		}
		tok, err = c.EmbedToken.GenerateToken(ctx, req)
	}
	if err != nil {
		return nil, err
	}
	return conf.with(tok), nil
}

// DashboardEmbedConfig looks up a dashboard and generates its (V1) embed token.
//
// https://learn.microsoft.com/rest/api/power-bi/embed-token/dashboards-generate-token-in-group
func (c *Client) DashboardEmbedConfig(ctx context.Context, groupID, dashboardID string, opts *EmbedOptions) (*EmbedConfig, error) {
	o, err := opts.check(false)
	if err != nil {
		return nil, err
	}
	d, err := c.Dashboards.GetDashboardInGroup(ctx, groupID, dashboardID)
	if err != nil {
		return nil, err
	}
	tok, err := c.Dashboards.GenerateTokenInGroup(ctx, groupID, d.ID, o.v1(o.Identities))
	if err != nil {
		return nil, err
	}
	return (&EmbedConfig{Type: EmbedTypeDashboard, ID: d.ID, EmbedURL: d.EmbedURL}).with(tok), nil
}

// TileEmbedConfig looks up a tile and generates its (V1) embed token. The
// config carries the DashboardID powerbi-client needs for tiles.
//
// https://learn.microsoft.com/rest/api/power-bi/embed-token/tiles-generate-token-in-group
func (c *Client) TileEmbedConfig(ctx context.Context, groupID, dashboardID, tileID string, opts *EmbedOptions) (*EmbedConfig, error) {
	o, err := opts.check(false)
	if err != nil {
		return nil, err
	}
	t, err := c.Tiles.GetTileInGroup(ctx, groupID, dashboardID, tileID)
	if err != nil {
		return nil, err
	}
	ids := o.Identities
	if t.DatasetID != "" {
		if ids, err = c.identitiesFor(ctx, groupID, t.DatasetID, ids); err != nil {
			return nil, err
		}
	}
	tok, err := c.Tiles.GenerateTokenInGroup(ctx, groupID, dashboardID, t.ID, o.v1(ids))
	if err != nil {
		return nil, err
	}
	return (&EmbedConfig{Type: EmbedTypeTile, ID: t.ID, EmbedURL: t.EmbedURL, DashboardID: dashboardID}).with(tok), nil
}

// QnAEmbedConfig looks up a dataset and generates a (V1) embed token for Q&A on it.
//
// https://learn.microsoft.com/rest/api/power-bi/embed-token/datasets-generate-token-in-group
func (c *Client) QnAEmbedConfig(ctx context.Context, groupID, datasetID string, opts *EmbedOptions) (*EmbedConfig, error) {
	o, err := opts.check(false)
	if err != nil {
		return nil, err
	}
	d, err := c.Datasets.GetDatasetInGroup(ctx, groupID, datasetID)
	if err != nil {
		return nil, err
	}
	ids, err := checkDatasetIdentities(d, o.Identities)
	if err != nil {
		return nil, err
	}
	tok, err := c.Datasets.GenerateTokenInGroup(ctx, groupID, d.ID, o.v1(ids))
	if err != nil {
		return nil, err
	}
	return (&EmbedConfig{Type: EmbedTypeQnA, ID: d.ID, EmbedURL: d.QnaEmbedURL, DatasetIDs: []string{d.ID}}).with(tok), nil
}

func (o *EmbedOptions) v1(ids []EffectiveIdentity) GenerateTokenRequest {
	return GenerateTokenRequest{AccessLevel: TokenAccessLevelView, Identities: ids, LifetimeInMinutes: o.LifetimeInMinutes}
}

func (conf *EmbedConfig) with(tok *EmbedToken) *EmbedConfig {
	conf.AccessToken, conf.TokenType, conf.TokenID, conf.Expiration = tok.Token, TokenTypeEmbed, tok.TokenID, tok.Expiration
	if conf.Permissions&PermissionsReadWrite != 0 {
		conf.ViewMode = 1
	}
	return conf
}

// identitiesFor reads the dataset's RLS flags and checks ids against them.
// A dataset the caller cannot read in this workspace (one in another
// workspace, say) is not checked: GenerateToken will say what is wrong.
func (c *Client) identitiesFor(ctx context.Context, groupID, datasetID string, ids []EffectiveIdentity) ([]EffectiveIdentity, error) {
	d, err := c.Datasets.GetDatasetInGroup(ctx, groupID, datasetID)
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrUnauthorized), errors.Is(err, ErrForbidden):
		return withDataset(ids, datasetID), nil
	case err != nil:
		return nil, err
	}
	return checkDatasetIdentities(d, ids)
}

// checkDatasetIdentities applies isEffectiveIdentityRequired and
// isEffectiveIdentityRolesRequired before anything is generated.
func checkDatasetIdentities(d *Dataset, ids []EffectiveIdentity) ([]EffectiveIdentity, error) {
	ids = withDataset(ids, d.ID)
	var mine *EffectiveIdentity
	for i := range ids {
		if slices.Contains(ids[i].Datasets, d.ID) {
			mine = &ids[i]
		}
	}
	switch {
	case mine == nil && d.IsEffectiveIdentityRequired:
		return nil, invalid("EmbedOptions.Identities", "dataset %s uses row-level security (isEffectiveIdentityRequired): pass an identity with the user's name and roles", d.ID)
	case mine != nil && !d.IsEffectiveIdentityRequired:
		return nil, invalid("EmbedOptions.Identities", "dataset %s has no row-level security (isEffectiveIdentityRequired is false): pass no identity", d.ID)
	case mine != nil && d.IsEffectiveIdentityRolesRequired && len(mine.Roles) == 0:
		return nil, invalid("EmbedOptions.Identities", "dataset %s requires roles (isEffectiveIdentityRolesRequired): put the RLS role names in the identity", d.ID)
	}
	return ids, nil
}

// withDataset returns ids with datasetID filled in where an identity names no
// dataset (and no paginated report). ids is not modified.
func withDataset(ids []EffectiveIdentity, datasetID string) []EffectiveIdentity {
	if len(ids) == 0 {
		return nil
	}
	out := slices.Clone(ids)
	for i := range out {
		if len(out[i].Datasets) == 0 && len(out[i].Reports) == 0 {
			out[i].Datasets = []string{datasetID}
		}
	}
	return out
}
