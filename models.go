package powerbi

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Field and JSON names follow the swagger definitions of the Power BI REST API
// (v5.1). The service returns a subset of each model's fields depending on the
// call and the caller's permissions; absent fields keep their zero value.

// ReportType is the type of a report.
type ReportType string

// Report types.
const (
	ReportTypePowerBI   ReportType = "PowerBIReport"
	ReportTypePaginated ReportType = "PaginatedReport" // RDL
)

// Report is a Power BI report.
type Report struct {
	ID               string         `json:"id"`
	Name             string         `json:"name,omitempty"`
	DatasetID        string         `json:"datasetId,omitempty"`
	AppID            string         `json:"appId,omitempty"`
	Description      string         `json:"description,omitempty"`
	ReportType       ReportType     `json:"reportType,omitempty"`
	OriginalReportID string         `json:"originalReportId,omitempty"`
	IsOwnedByMe      bool           `json:"isOwnedByMe,omitempty"`
	Format           string         `json:"format,omitempty"` // PBIR, PBIRLegacy or RDL
	WebURL           string         `json:"webUrl,omitempty"`
	EmbedURL         string         `json:"embedUrl,omitempty"`
	Users            []ReportUser   `json:"users,omitempty"`
	Subscriptions    []Subscription `json:"subscriptions,omitempty"`
}

// Dashboard is a Power BI dashboard.
type Dashboard struct {
	ID            string          `json:"id"`
	DisplayName   string          `json:"displayName,omitempty"`
	IsReadOnly    bool            `json:"isReadOnly,omitempty"`
	AppID         string          `json:"appId,omitempty"`
	WebURL        string          `json:"webUrl,omitempty"`
	EmbedURL      string          `json:"embedUrl,omitempty"`
	Users         []DashboardUser `json:"users,omitempty"`
	Subscriptions []Subscription  `json:"subscriptions,omitempty"`
}

// Tile is a tile of a dashboard.
type Tile struct {
	ID        string `json:"id"`
	Title     string `json:"title,omitempty"`
	ReportID  string `json:"reportId,omitempty"`
	DatasetID string `json:"datasetId,omitempty"`
	RowSpan   int    `json:"rowSpan,omitempty"`
	ColSpan   int    `json:"colSpan,omitempty"`
	EmbedURL  string `json:"embedUrl,omitempty"`
	EmbedData string `json:"embedData,omitempty"`
}

// Dataset is a Power BI dataset (semantic model).
type Dataset struct {
	ID                               string                        `json:"id"`
	Name                             string                        `json:"name,omitempty"`
	ConfiguredBy                     string                        `json:"configuredBy,omitempty"`
	CreatedDate                      Timestamp                     `json:"createdDate,omitzero"`
	ContentProviderType              string                        `json:"ContentProviderType,omitempty"`
	Description                      string                        `json:"description,omitempty"`
	UpstreamDataflows                []DependentDataflow           `json:"upstreamDataflows,omitempty"`
	CreateReportEmbedURL             string                        `json:"createReportEmbedURL,omitempty"`
	QnaEmbedURL                      string                        `json:"qnaEmbedURL,omitempty"`
	WebURL                           string                        `json:"webUrl,omitempty"`
	IsEffectiveIdentityRequired      bool                          `json:"isEffectiveIdentityRequired,omitempty"`
	IsEffectiveIdentityRolesRequired bool                          `json:"isEffectiveIdentityRolesRequired,omitempty"`
	IsOnPremGatewayRequired          bool                          `json:"isOnPremGatewayRequired,omitempty"`
	Encryption                       *Encryption                   `json:"Encryption,omitempty"`
	Users                            []DatasetUser                 `json:"users,omitempty"`
	AddRowsAPIEnabled                bool                          `json:"addRowsAPIEnabled,omitempty"`
	IsRefreshable                    bool                          `json:"isRefreshable,omitempty"`
	IsInPlaceSharingEnabled          bool                          `json:"isInPlaceSharingEnabled,omitempty"`
	TargetStorageMode                string                        `json:"targetStorageMode,omitempty"`
	QueryScaleOutSettings            *DatasetQueryScaleOutSettings `json:"queryScaleOutSettings,omitempty"`
}

// DependentDataflow is a dataflow a dataset depends on.
type DependentDataflow struct {
	TargetDataflowID string `json:"targetDataflowId,omitempty"`
	GroupID          string `json:"groupId,omitempty"`
}

// Encryption is a dataset's encryption status.
type Encryption struct {
	EncryptionStatus string `json:"EncryptionStatus,omitempty"` // Unknown, NotSupported, InSyncWithWorkspace, NotInSyncWithWorkspace
}

// DatasetQueryScaleOutSettings are a dataset's query scale-out settings.
type DatasetQueryScaleOutSettings struct {
	AutoSyncReadOnlyReplicas *bool `json:"autoSyncReadOnlyReplicas,omitempty"`
	MaxReadOnlyReplicas      *int  `json:"maxReadOnlyReplicas,omitempty"` // 0-64, -1 for automatic
}

// Group is a Power BI workspace.
type Group struct {
	ID                          string         `json:"id"`
	Name                        string         `json:"name,omitempty"`
	IsReadOnly                  bool           `json:"isReadOnly,omitempty"`
	IsOnDedicatedCapacity       bool           `json:"isOnDedicatedCapacity,omitempty"`
	CapacityID                  string         `json:"capacityId,omitempty"`
	DataflowStorageID           string         `json:"dataflowStorageId,omitempty"`
	DefaultDatasetStorageFormat string         `json:"defaultDatasetStorageFormat,omitempty"` // Small or Large
	LogAnalyticsWorkspace       *AzureResource `json:"logAnalyticsWorkspace,omitempty"`
}

// AzureResource identifies an Azure resource, such as a Log Analytics workspace.
type AzureResource struct {
	ID             string `json:"id,omitempty"`
	SubscriptionID string `json:"subscriptionId"`
	ResourceGroup  string `json:"resourceGroup"`
	ResourceName   string `json:"resourceName"`
}

// PrincipalType is the kind of a principal.
type PrincipalType string

// Principal types.
const (
	PrincipalTypeNone  PrincipalType = "None"
	PrincipalTypeUser  PrincipalType = "User"
	PrincipalTypeGroup PrincipalType = "Group"
	PrincipalTypeApp   PrincipalType = "App"
)

// User is a principal with access to an item.
type User struct {
	EmailAddress  string                   `json:"emailAddress,omitempty"`
	DisplayName   string                   `json:"displayName,omitempty"`
	Identifier    string                   `json:"identifier"`
	GraphID       string                   `json:"graphId,omitempty"`
	UserType      string                   `json:"userType,omitempty"`
	PrincipalType PrincipalType            `json:"principalType"`
	Profile       *ServicePrincipalProfile `json:"profile,omitempty"`
}

// ServicePrincipalProfile is a service principal profile.
type ServicePrincipalProfile struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName,omitempty"`
}

// ReportUser is a principal's access to a report.
type ReportUser struct {
	User
	ReportUserAccessRight string `json:"reportUserAccessRight"` // None, Read, ReadWrite, ReadReshare, ReadCopy, Owner
}

// DashboardUser is a principal's access to a dashboard.
type DashboardUser struct {
	User
	DashboardUserAccessRight string `json:"dashboardUserAccessRight"`
}

// DatasetUser is a principal's access to a dataset.
type DatasetUser struct {
	User
	DatasetUserAccessRight string `json:"datasetUserAccessRight"`
}

// Subscription is an email subscription to a report or dashboard.
type Subscription struct {
	ID                     string             `json:"id"`
	Title                  string             `json:"title,omitempty"`
	ArtifactID             string             `json:"artifactId,omitempty"`
	ArtifactDisplayName    string             `json:"artifactDisplayName,omitempty"`
	SubArtifactDisplayName string             `json:"subArtifactDisplayName,omitempty"`
	ArtifactType           string             `json:"artifactType,omitempty"`
	IsEnabled              bool               `json:"isEnabled,omitempty"`
	Frequency              string             `json:"frequency,omitempty"`
	StartDate              Timestamp          `json:"startDate,omitzero"`
	EndDate                Timestamp          `json:"endDate,omitzero"`
	LinkToContent          bool               `json:"linkToContent,omitempty"`
	PreviewImage           bool               `json:"previewImage,omitempty"`
	AttachmentFormat       string             `json:"attachmentFormat,omitempty"`
	Users                  []SubscriptionUser `json:"users,omitempty"`
}

// SubscriptionUser is a subscriber.
type SubscriptionUser struct {
	User
}

// Timestamp is a date-time the service sends in more than one format: RFC 3339
// ("2021-12-07T00:00:00Z"), RFC 3339 without a zone (read as UTC), or
// "10/13/2021 12:00:00 AM" (read as UTC). It marshals as RFC 3339.
type Timestamp struct{ time.Time }

var timestampLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "1/2/2006 3:04:05 PM"}

// UnmarshalJSON accepts the formats listed on Timestamp, and null or "" as zero.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("powerbi: timestamp: %w", err)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	for _, layout := range timestampLayouts {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v
			return nil
		}
	}
	return fmt.Errorf("powerbi: timestamp %q is in no known format", oneLine(s, 40))
}

// MarshalJSON writes RFC 3339.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.Time.Format(time.RFC3339Nano))
}

// TokenAccessLevel is the access an embed token grants.
type TokenAccessLevel string

// Token access levels.
const (
	TokenAccessLevelView   TokenAccessLevel = "View"
	TokenAccessLevelEdit   TokenAccessLevel = "Edit"
	TokenAccessLevelCreate TokenAccessLevel = "Create"
)

// GenerateTokenRequest is the body of the V1 GenerateToken calls (report,
// dashboard, tile, dataset, report creation).
type GenerateTokenRequest struct {
	AccessLevel       TokenAccessLevel    `json:"accessLevel,omitempty"`
	DatasetID         string              `json:"datasetId,omitempty"` // for report creation only
	AllowSaveAs       bool                `json:"allowSaveAs,omitempty"`
	Identities        []EffectiveIdentity `json:"identities,omitempty"`
	LifetimeInMinutes int                 `json:"lifetimeInMinutes,omitempty"` // 0: not set; it can only shorten a token
}

// EffectiveIdentity is a row-level-security identity for an embed token.
type EffectiveIdentity struct {
	Username         string        `json:"username,omitempty"`
	Roles            []string      `json:"roles,omitempty"`
	Datasets         []string      `json:"datasets,omitempty"`
	Reports          []string      `json:"reports,omitempty"` // paginated reports only
	CustomData       string        `json:"customData,omitempty"`
	AuditableContext string        `json:"auditableContext,omitempty"`
	IdentityBlob     *IdentityBlob `json:"identityBlob,omitempty"`
}

// IdentityBlob carries an access token for Azure SQL DirectQuery data sources.
type IdentityBlob struct {
	Value string `json:"value"`
}

// XmlaPermissions are the XMLA permissions an embed token grants on a dataset.
type XmlaPermissions string

// XMLA permissions.
const (
	XmlaPermissionsOff      XmlaPermissions = "Off"
	XmlaPermissionsReadOnly XmlaPermissions = "ReadOnly"
)

// GenerateTokenRequestV2 is the body of the multi-resource GenerateToken call.
type GenerateTokenRequestV2 struct {
	Datasets             []GenerateTokenRequestV2Dataset         `json:"datasets,omitempty"`
	Reports              []GenerateTokenRequestV2Report          `json:"reports,omitempty"`
	TargetWorkspaces     []GenerateTokenRequestV2TargetWorkspace `json:"targetWorkspaces,omitempty"`
	Identities           []EffectiveIdentity                     `json:"identities,omitempty"`
	DatasourceIdentities []DatasourceIdentity                    `json:"datasourceIdentities,omitempty"`
	LifetimeInMinutes    int                                     `json:"lifetimeInMinutes,omitempty"`
}

// GenerateTokenRequestV2Dataset is a dataset an embed token gives access to.
type GenerateTokenRequestV2Dataset struct {
	ID              string          `json:"id"`
	XmlaPermissions XmlaPermissions `json:"xmlaPermissions,omitempty"`
}

// GenerateTokenRequestV2Report is a report an embed token gives access to.
type GenerateTokenRequestV2Report struct {
	ID        string `json:"id"`
	AllowEdit bool   `json:"allowEdit,omitempty"`
}

// GenerateTokenRequestV2TargetWorkspace is a workspace the token may save reports to.
type GenerateTokenRequestV2TargetWorkspace struct {
	ID string `json:"id"`
}

// DatasourceIdentity maps an identity blob to data sources (single sign-on).
type DatasourceIdentity struct {
	IdentityBlob string               `json:"identityBlob"`
	Datasources  []DatasourceSelector `json:"datasources"`
}

// DatasourceSelector selects a data source by type and connection details.
type DatasourceSelector struct {
	DatasourceType    string                      `json:"datasourceType"`
	ConnectionDetails DatasourceConnectionDetails `json:"connectionDetails"`
}

// DatasourceConnectionDetails are a data source's connection details.
type DatasourceConnectionDetails struct {
	Server       string `json:"server,omitempty"`
	Database     string `json:"database,omitempty"`
	URL          string `json:"url,omitempty"`
	Path         string `json:"path,omitempty"`
	Kind         string `json:"kind,omitempty"`
	Account      string `json:"account,omitempty"`
	Domain       string `json:"domain,omitempty"`
	EmailAddress string `json:"emailAddress,omitempty"`
	LoginServer  string `json:"loginServer,omitempty"`
	ClassInfo    string `json:"classInfo,omitempty"`
}

// EmbedToken is a Power BI embed token. It never outlives the Entra access token
// used to create it.
type EmbedToken struct {
	Token      string    `json:"token"`
	TokenID    string    `json:"tokenId"`
	Expiration time.Time `json:"expiration"`
}

// GoString hides the token when the struct is printed with %#v.
func (t EmbedToken) GoString() string {
	return fmt.Sprintf("powerbi.EmbedToken{Token:%q, TokenID:%q, Expiration:%s}", "[REDACTED]", t.TokenID, t.Expiration.Format(time.RFC3339))
}

// String hides the token when the struct is printed with %v or %+v.
func (t EmbedToken) String() string {
	return fmt.Sprintf("{Token:[REDACTED] TokenID:%s Expiration:%s}", t.TokenID, t.Expiration.Format(time.RFC3339))
}

// complete reports whether a decoded response has the fields the service always
// sends, so an empty object is not passed on as a zero value.
func (t *EmbedToken) complete() bool { return t.Token != "" && !t.Expiration.IsZero() }
func (r *Report) complete() bool     { return r.ID != "" }
func (d *Dashboard) complete() bool  { return d.ID != "" }
func (t *Tile) complete() bool       { return t.ID != "" }
func (d *Dataset) complete() bool    { return d.ID != "" }
func (g *Group) complete() bool      { return g.ID != "" }
