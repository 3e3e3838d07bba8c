package powerbitest

import (
	"slices"
	"strings"

	"github.com/gopowerbi/powerbi"
)

// Workspace seeds a workspace ("group"). Members are service principal client
// IDs or master user names; only members may call its operations.
type Workspace struct {
	ID                  string // generated when empty
	Name                string
	Members             []string
	OnDedicatedCapacity bool // false: shared capacity, subject to SetSharedCapacityQuota
}

type workspace struct {
	Workspace
	capacityID string
}

type report struct {
	powerbi.Report
	workspaceID string
}

type dataset struct {
	powerbi.Dataset
	workspaceID string
	roles       []string // the row-level-security roles the dataset declares
}

// profile is a service principal profile: a principal of its own, owned by
// the service principal that created it.
type profile struct {
	id, displayName, owner string
}

type dashboard struct {
	powerbi.Dashboard
	workspaceID string
	tiles       []powerbi.Tile
}

// AddWorkspace seeds a workspace and returns it with its ID.
func (s *Server) AddWorkspace(ws Workspace) Workspace {
	defaultIDAndName(&ws.ID, &ws.Name, "Workspace")
	ws.ID = strings.ToLower(ws.ID)
	ws.Members = slices.Clone(ws.Members)
	w := &workspace{Workspace: ws}
	if ws.OnDedicatedCapacity {
		w.capacityID = NewGUID()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.workspaces[ws.ID]; !ok {
		s.order = append(s.order, ws.ID)
	}
	s.workspaces[ws.ID] = w
	return ws
}

// AddMember adds a principal (a client ID, a username, or a profile ID from
// AddProfile) to a workspace.
func (s *Server) AddMember(workspaceID, principal string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w := s.workspaces[strings.ToLower(workspaceID)]; w != nil && !w.isMember(principal) {
		w.Members = append(w.Members, principal)
	}
}

// RemoveMember takes a principal out of a workspace.
func (s *Server) RemoveMember(workspaceID, principal string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w := s.workspaces[strings.ToLower(workspaceID)]; w != nil {
		w.Members = slices.DeleteFunc(w.Members, func(m string) bool { return strings.EqualFold(m, principal) })
	}
}

func (w *workspace) isMember(principal string) bool {
	return slices.ContainsFunc(w.Members, func(m string) bool { return strings.EqualFold(m, principal) })
}

// AddDataset seeds a dataset in a workspace and returns it as the API shows
// it. Set IsEffectiveIdentityRequired (and ...RolesRequired) for a dataset with
// row-level security.
func (s *Server) AddDataset(workspaceID string, d powerbi.Dataset) powerbi.Dataset {
	workspaceID = strings.ToLower(workspaceID)
	defaultIDAndName(&d.ID, &d.Name, "Dataset")
	d.IsRefreshable = true
	d.CreatedDate = powerbi.Timestamp{Time: s.Now()}
	d.WebURL = s.appHost + "/groups/" + workspaceID + "/datasets/" + d.ID
	d.CreateReportEmbedURL = s.appHost + "/reportEmbed?datasetId=" + d.ID + "&groupId=" + workspaceID
	d.QnaEmbedURL = s.appHost + "/qnaEmbed?datasetId=" + d.ID + "&groupId=" + workspaceID
	s.mu.Lock()
	s.addItemLocked(d.ID)
	s.datasets[d.ID] = &dataset{Dataset: d, workspaceID: workspaceID}
	s.mu.Unlock()
	return d
}

// AddReport seeds a report in a workspace and returns it as the API shows it,
// with an embedUrl on the cloud's app host. A report whose ReportType is
// powerbi.ReportTypePaginated is an RDL report.
func (s *Server) AddReport(workspaceID string, r powerbi.Report) powerbi.Report {
	workspaceID = strings.ToLower(workspaceID)
	defaultIDAndName(&r.ID, &r.Name, "Report")
	r.DatasetID = strings.ToLower(r.DatasetID)
	embed := "/reportEmbed"
	switch r.ReportType {
	case powerbi.ReportTypePaginated:
		embed, r.Format = "/rdlEmbed", "RDL"
	default:
		r.ReportType, r.Format = powerbi.ReportTypePowerBI, "PBIR"
	}
	r.EmbedURL = s.appHost + embed + "?reportId=" + r.ID + "&groupId=" + workspaceID
	r.WebURL = s.appHost + "/groups/" + workspaceID + "/reports/" + r.ID
	s.mu.Lock()
	s.addItemLocked(r.ID)
	s.reports[r.ID] = &report{Report: r, workspaceID: workspaceID}
	s.mu.Unlock()
	return r
}

// AddDashboard seeds a dashboard in a workspace.
func (s *Server) AddDashboard(workspaceID string, d powerbi.Dashboard) powerbi.Dashboard {
	workspaceID = strings.ToLower(workspaceID)
	defaultIDAndName(&d.ID, &d.DisplayName, "Dashboard")
	d.EmbedURL = s.appHost + "/dashboardEmbed?dashboardId=" + d.ID + "&groupId=" + workspaceID
	d.WebURL = s.appHost + "/groups/" + workspaceID + "/dashboards/" + d.ID
	s.mu.Lock()
	s.addItemLocked(d.ID)
	s.dashboards[d.ID] = &dashboard{Dashboard: d, workspaceID: workspaceID}
	s.mu.Unlock()
	return d
}

// AddTile seeds a tile on a dashboard.
func (s *Server) AddTile(workspaceID, dashboardID string, t powerbi.Tile) powerbi.Tile {
	workspaceID, dashboardID = strings.ToLower(workspaceID), strings.ToLower(dashboardID)
	if t.ID == "" {
		t.ID = NewGUID()
	}
	t.ID, t.ReportID, t.DatasetID = strings.ToLower(t.ID), strings.ToLower(t.ReportID), strings.ToLower(t.DatasetID)
	if t.RowSpan == 0 {
		t.RowSpan, t.ColSpan = 1, 1
	}
	t.EmbedURL = s.appHost + "/embed?dashboardId=" + dashboardID + "&tileId=" + t.ID + "&groupId=" + workspaceID
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.dashboards[dashboardID]; d != nil && d.workspaceID == workspaceID {
		d.tiles = append(d.tiles, t)
	}
	return t
}

// DeclareRoles declares row-level-security roles on a dataset. An identity
// may name only roles its dataset declares; role names match whatever their
// case, as on the service.
func (s *Server) DeclareRoles(datasetID string, roles ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.datasets[strings.ToLower(datasetID)]; d != nil {
		d.roles = append(d.roles, roles...)
	}
}

// AddProfile creates a service principal profile owned by the service
// principal clientID and returns its ID. A call with the header
// X-PowerBI-Profile-Id (powerbi.WithProfileID, powerbi.ContextWithProfileID)
// acts as the profile: a principal of its own, which sees only the
// workspaces it is a member of (AddMember with the profile ID).
func (s *Server) AddProfile(clientID, displayName string) string {
	id := NewGUID()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.profiles[id] = &profile{id: id, displayName: displayName, owner: clientID}
	return id
}

// Demo holds the IDs and credentials SeedDemo created.
type Demo struct {
	TenantID, ClientID, ClientSecret string
	WorkspaceID                      string
	ReportID, DatasetID              string // a Power BI report on a dataset without row-level security
	RLSReportID, RLSDatasetID        string // a report on a dataset that requires an identity with a role
	PaginatedReportID                string
	DashboardID, TileID              string
}

// SeedDemo seeds one tenant with a service principal (client secret), and a
// workspace on a dedicated capacity where it is a member, holding a report, a
// row-level-security report (its dataset declares the roles "West" and
// "East"), a paginated report, a dashboard and a tile.
func (s *Server) SeedDemo() Demo {
	d := Demo{TenantID: NewGUID(), ClientID: NewGUID(), ClientSecret: "fake-secret-" + randomHex(8)}
	s.AddServicePrincipal(d.TenantID, d.ClientID, d.ClientSecret)
	d.WorkspaceID = s.AddWorkspace(Workspace{Name: "Contoso Embedded", Members: []string{d.ClientID}, OnDedicatedCapacity: true}).ID
	d.DatasetID = s.AddDataset(d.WorkspaceID, powerbi.Dataset{Name: "Sales"}).ID
	d.ReportID = s.AddReport(d.WorkspaceID, powerbi.Report{Name: "Sales overview", DatasetID: d.DatasetID}).ID
	d.RLSDatasetID = s.AddDataset(d.WorkspaceID, powerbi.Dataset{Name: "Sales by region", IsEffectiveIdentityRequired: true, IsEffectiveIdentityRolesRequired: true}).ID
	s.DeclareRoles(d.RLSDatasetID, "West", "East")
	d.RLSReportID = s.AddReport(d.WorkspaceID, powerbi.Report{Name: "Regional sales", DatasetID: d.RLSDatasetID}).ID
	d.PaginatedReportID = s.AddReport(d.WorkspaceID, powerbi.Report{Name: "Invoice", ReportType: powerbi.ReportTypePaginated}).ID
	d.DashboardID = s.AddDashboard(d.WorkspaceID, powerbi.Dashboard{DisplayName: "KPIs"}).ID
	d.TileID = s.AddTile(d.WorkspaceID, d.DashboardID, powerbi.Tile{Title: "Revenue", ReportID: d.ReportID, DatasetID: d.DatasetID}).ID
	return d
}

// Authenticator returns the SDK's client-secret authenticator for the demo's
// service principal, pointed at the fake.
func (d Demo) Authenticator(s *Server) (powerbi.Authenticator, error) {
	return powerbi.NewClientSecretAuthenticator(d.TenantID, d.ClientID, d.ClientSecret, s.AuthenticatorOptions())
}

// addItemLocked remembers an item's creation order, which lists follow.
func (s *Server) addItemLocked(id string) {
	if !slices.Contains(s.items, id) {
		s.items = append(s.items, id)
	}
}

// defaultIDAndName gives a seeded item a random ID and a name when it has none.
func defaultIDAndName(id, name *string, kind string) {
	if *id == "" {
		*id = NewGUID()
	}
	*id = strings.ToLower(*id)
	if *name == "" {
		*name = kind + " " + (*id)[:min(8, len(*id))]
	}
}
