package powerbitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gopowerbi/powerbi"
)

// routes registers the token endpoint and the operations the fake has rules
// for; every other operation of the contract answers with its example.
func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.token)
	m.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.openIDConfiguration)

	const api = "/v1.0/myorg"
	m.HandleFunc("GET "+api+"/groups", s.api(s.getGroups))
	m.HandleFunc("POST "+api+"/groups", s.api(s.createGroup))
	m.HandleFunc("POST "+api+"/profiles", s.api(s.createProfile))
	m.HandleFunc("GET "+api+"/profiles", s.api(s.getProfiles))
	m.HandleFunc("DELETE "+api+"/profiles/{profile}", s.api(s.deleteProfile))
	m.HandleFunc("GET "+api+"/groups/{group}", s.inGroup(s.getGroup))

	m.HandleFunc("GET "+api+"/groups/{group}/reports", s.inGroup(s.getReports))
	m.HandleFunc("GET "+api+"/groups/{group}/reports/{report}", s.inGroup(s.getReport))
	m.HandleFunc("POST "+api+"/groups/{group}/reports/{report}/GenerateToken", s.inGroup(s.reportToken))
	m.HandleFunc("POST "+api+"/groups/{group}/reports/GenerateToken", s.inGroup(s.createToken))
	m.HandleFunc("POST "+api+"/groups/{group}/imports", s.inGroup(s.postImport))
	m.HandleFunc("GET "+api+"/groups/{group}/imports/{import}", s.inGroup(s.getImport))
	m.HandleFunc("POST "+api+"/groups/{group}/imports/createTemporaryUploadLocation", s.inGroup(s.createUploadLocation))
	m.HandleFunc("PUT /blob/uploads/{blob}", s.putBlob)
	m.HandleFunc("POST "+api+"/groups/{group}/reports/{report}/ExportTo", s.inGroup(s.exportTo))
	m.HandleFunc("GET "+api+"/groups/{group}/reports/{report}/exports/{export}", s.inGroup(s.exportStatus))
	m.HandleFunc("GET "+api+"/groups/{group}/reports/{report}/exports/{export}/file", s.inGroup(s.exportFile))

	m.HandleFunc("GET "+api+"/groups/{group}/datasets", s.inGroup(s.getDatasets))
	m.HandleFunc("GET "+api+"/groups/{group}/datasets/{dataset}", s.inGroup(s.getDataset))
	m.HandleFunc("POST "+api+"/groups/{group}/datasets/{dataset}/GenerateToken", s.inGroup(s.datasetToken))
	m.HandleFunc("POST "+api+"/groups/{group}/datasets/{dataset}/refreshes", s.inGroup(s.startRefresh))
	m.HandleFunc("GET "+api+"/groups/{group}/datasets/{dataset}/refreshes", s.inGroup(s.refreshHistory))
	m.HandleFunc("GET "+api+"/groups/{group}/datasets/{dataset}/refreshes/{refresh}", s.inGroup(s.refreshDetails))
	m.HandleFunc("DELETE "+api+"/groups/{group}/datasets/{dataset}/refreshes/{refresh}", s.inGroup(s.cancelRefresh))

	m.HandleFunc("GET "+api+"/groups/{group}/dashboards", s.inGroup(s.getDashboards))
	m.HandleFunc("GET "+api+"/groups/{group}/dashboards/{dashboard}", s.inGroup(s.getDashboard))
	m.HandleFunc("POST "+api+"/groups/{group}/dashboards/{dashboard}/GenerateToken", s.inGroup(s.dashboardToken))
	m.HandleFunc("GET "+api+"/groups/{group}/dashboards/{dashboard}/tiles", s.inGroup(s.getTiles))
	m.HandleFunc("GET "+api+"/groups/{group}/dashboards/{dashboard}/tiles/{tile}", s.inGroup(s.getTile))
	m.HandleFunc("POST "+api+"/groups/{group}/dashboards/{dashboard}/tiles/{tile}/GenerateToken", s.inGroup(s.tileToken))

	m.HandleFunc("POST "+api+"/GenerateToken", s.api(s.multiToken))
	m.HandleFunc("POST "+api+"/groups/{group}/datasets/{dataset}/executeQueries", s.inGroup(s.executeQueries))

	m.HandleFunc("POST "+api+"/admin/workspaces/getInfo", s.api(s.scanPost))
	m.HandleFunc("GET "+api+"/admin/workspaces/scanStatus/{scan}", s.api(s.scanStatus))
	m.HandleFunc("GET "+api+"/admin/workspaces/scanResult/{scan}", s.api(s.scanResult))
	m.HandleFunc("GET "+api+"/admin/activityevents", s.api(s.activityEvents))

	m.HandleFunc("POST "+api+"/pipelines/{pipeline}/deployAll", s.api(s.deploy(true)))
	m.HandleFunc("POST "+api+"/pipelines/{pipeline}/deploy", s.api(s.deploy(false)))
	m.HandleFunc("GET "+api+"/pipelines/{pipeline}/operations/{operation}", s.api(s.pipelineOperation))

	// My workspace: the fake seeds nothing there, and it cannot be embedded.
	for _, kind := range []string{"reports", "datasets", "dashboards"} {
		m.HandleFunc("GET "+api+"/"+kind, s.api(s.emptyList(kind)))
		m.HandleFunc("GET "+api+"/"+kind+"/{id}", s.api(s.notFound))
	}
	m.HandleFunc("GET "+api+"/dashboards/{id}/tiles", s.api(s.notFound))
	m.HandleFunc("GET "+api+"/dashboards/{id}/tiles/{tile}", s.api(s.notFound))

	// Any other operation of the contract answers with the contract's example.
	m.HandleFunc("/", s.api(s.answerFromContract))
}

// call is one authenticated API call.
type call struct {
	w         http.ResponseWriter
	r         *http.Request
	caller    *accessToken
	principal string     // whom membership is checked for: the profile in effect, else the caller
	profile   string     // the X-PowerBI-Profile-Id in effect, or ""
	ws        *workspace // nil outside a workspace
}

// api checks the bearer token and the profile header before h runs.
func (s *Server) api(h func(c *call)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := s.caller(w, r)
		if tok == nil {
			return
		}
		c := &call{w: w, r: r, caller: tok, principal: tok.subject}
		if id := strings.ToLower(r.Header.Get("X-PowerBI-Profile-Id")); id != "" {
			s.mu.Lock()
			p := s.profiles[id]
			s.mu.Unlock()
			// A profile that does not exist, or is not the caller's own, is refused.
			if p == nil || !strings.EqualFold(p.owner, tok.subject) {
				s.notAuthorized(w)
				return
			}
			c.principal, c.profile = p.id, p.id
		}
		if s.overRateLimit(c) {
			return
		}
		h(c)
	}
}

// inGroup checks the bearer token, that the workspace exists (404) and that
// the caller is a member of it (401 PowerBINotAuthorizedException).
func (s *Server) inGroup(h func(c *call)) http.HandlerFunc {
	return s.api(func(c *call) {
		s.mu.Lock()
		ws := s.workspaces[c.r.PathValue("group")]
		member := ws != nil && ws.isMember(c.principal)
		s.mu.Unlock()
		switch {
		case ws == nil:
			s.notFound(c)
		case !member:
			s.notAuthorized(c.w)
		default:
			c.ws = ws
			h(c)
		}
	})
}

// pbiError writes error shape 1: {"error":{"code":...,"message":...}}.
func (s *Server) pbiError(w http.ResponseWriter, status int, code, message string) {
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		w.Header().Set("X-PowerBI-Error-Info", code)
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": message}})
}

// pbiException writes error shape 2, the one with "pbi.error".
func pbiException(w http.ResponseWriter, status int, code string) {
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		w.Header().Set("X-PowerBI-Error-Info", code)
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code":      code,
		"pbi.error": map[string]any{"code": code, "parameters": map[string]any{}, "details": []any{}, "exceptionCulprit": 1},
	}})
}

func (s *Server) notFound(c *call) { pbiException(c.w, http.StatusNotFound, "PowerBIEntityNotFound") }
func (s *Server) notAuthorized(w http.ResponseWriter) {
	pbiException(w, http.StatusUnauthorized, "PowerBINotAuthorizedException")
}

func (s *Server) badRequest(c *call, format string, args ...any) {
	s.pbiError(c.w, http.StatusBadRequest, "InvalidRequest", fmt.Sprintf(format, args...))
}

// odata writes a list the way the service does.
func (s *Server) odata(c *call, entity string, value any) {
	writeJSON(c.w, http.StatusOK, map[string]any{
		"@odata.context": "https://" + c.r.Host + "/v1.0/myorg/$metadata#" + entity,
		"value":          value,
	})
}

func (s *Server) emptyList(kind string) func(c *call) {
	return func(c *call) { s.odata(c, kind, []any{}) }
}

// groupJSON is a workspace as the service sends it: the booleans are always
// present, unlike in powerbi.Group where they are omitempty.
type groupJSON struct {
	ID                    string `json:"id"`
	Name                  string `json:"name"`
	IsReadOnly            bool   `json:"isReadOnly"`
	IsOnDedicatedCapacity bool   `json:"isOnDedicatedCapacity"`
	CapacityID            string `json:"capacityId,omitempty"`
}

func (w *workspace) group() groupJSON {
	return groupJSON{ID: w.ID, Name: w.Name, IsOnDedicatedCapacity: w.OnDedicatedCapacity, CapacityID: w.capacityID}
}

// getGroups lists the caller's workspaces with $filter, $top and $skip.
func (s *Server) getGroups(c *call) {
	q := c.r.URL.Query()
	var f filter
	if expr := q.Get("$filter"); expr != "" {
		var err error
		if f, err = parseFilter(expr); err != nil {
			s.badRequest(c, "Invalid OData $filter: %v", err)
			return
		}
	}
	top, skip := -1, 0
	for name, dst := range map[string]*int{"$top": &top, "$skip": &skip} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				s.badRequest(c, "Invalid OData %s value: %q", name, v)
				return
			}
			*dst = n
		}
	}
	s.mu.Lock()
	var groups []groupJSON
	for _, id := range s.order {
		ws := s.workspaces[id]
		if ws.isMember(c.principal) && (f == nil || f(ws.group())) {
			groups = append(groups, ws.group())
		}
	}
	s.mu.Unlock()
	groups = groups[min(skip, len(groups)):]
	if top >= 0 {
		groups = groups[:min(top, len(groups))]
	}
	s.odata(c, "groups", orEmpty(groups))
}

func orEmpty[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

func (s *Server) getGroup(c *call) {
	s.mu.Lock()
	g := c.ws.group()
	s.mu.Unlock()
	writeJSON(c.w, http.StatusOK, g)
}

// itemsIn returns the values of m that belong to workspace wsID, in creation order.
func itemsIn[P, V any](s *Server, m map[string]P, wsID string, inWS func(P) string, value func(P) V) []V {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []V{}
	for _, id := range s.items {
		if p, ok := m[id]; ok && inWS(p) == wsID {
			out = append(out, value(p))
		}
	}
	return out
}

// The booleans the service always sends, which the SDK's models omit when false.
var (
	datasetBools   = []string{"addRowsAPIEnabled", "isRefreshable", "isEffectiveIdentityRequired", "isEffectiveIdentityRolesRequired", "isOnPremGatewayRequired"}
	dashboardBools = []string{"isReadOnly"}
)

// asService renders v as the service does: the listed booleans are present even when false.
func asService(v any, bools []string) map[string]any {
	b, _ := json.Marshal(v)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for _, k := range bools {
		if _, ok := m[k]; !ok {
			m[k] = false
		}
	}
	return m
}

func (s *Server) getReports(c *call) {
	s.odata(c, "reports", itemsIn(s, s.reports, c.ws.ID, func(r *report) string { return r.workspaceID }, func(r *report) powerbi.Report { return r.Report }))
}

func (s *Server) getDatasets(c *call) {
	s.odata(c, "datasets", itemsIn(s, s.datasets, c.ws.ID, func(d *dataset) string { return d.workspaceID }, func(d *dataset) map[string]any { return asService(d.Dataset, datasetBools) }))
}

func (s *Server) getDashboards(c *call) {
	s.odata(c, "dashboards", itemsIn(s, s.dashboards, c.ws.ID, func(d *dashboard) string { return d.workspaceID }, func(d *dashboard) map[string]any { return asService(d.Dashboard, dashboardBools) }))
}

// lookup finds an item of the call's workspace by the path value name; an item
// of another workspace is not found, like on the service.
func lookup[P any](s *Server, c *call, m map[string]P, name string, inWS func(P) string) (P, bool) {
	s.mu.Lock()
	p, ok := m[strings.ToLower(c.r.PathValue(name))]
	ok = ok && inWS(p) == c.ws.ID
	s.mu.Unlock()
	if !ok {
		s.notFound(c)
	}
	return p, ok
}

func (s *Server) report(c *call) (*report, bool) {
	return lookup(s, c, s.reports, "report", func(r *report) string { return r.workspaceID })
}

func (s *Server) dataset(c *call) (*dataset, bool) {
	return lookup(s, c, s.datasets, "dataset", func(d *dataset) string { return d.workspaceID })
}

func (s *Server) dashboard(c *call) (*dashboard, bool) {
	return lookup(s, c, s.dashboards, "dashboard", func(d *dashboard) string { return d.workspaceID })
}

func (s *Server) tile(c *call) (*dashboard, powerbi.Tile, bool) {
	d, ok := s.dashboard(c)
	if !ok {
		return nil, powerbi.Tile{}, false
	}
	s.mu.Lock()
	i := slices.IndexFunc(d.tiles, func(t powerbi.Tile) bool { return strings.EqualFold(t.ID, c.r.PathValue("tile")) })
	var t powerbi.Tile
	if i >= 0 {
		t = d.tiles[i]
	}
	s.mu.Unlock()
	if i < 0 {
		s.notFound(c)
		return nil, t, false
	}
	return d, t, true
}

func (s *Server) getReport(c *call) {
	if r, ok := s.report(c); ok {
		writeJSON(c.w, http.StatusOK, r.Report)
	}
}

func (s *Server) getDataset(c *call) {
	if d, ok := s.dataset(c); ok {
		writeJSON(c.w, http.StatusOK, asService(d.Dataset, datasetBools))
	}
}

func (s *Server) getDashboard(c *call) {
	if d, ok := s.dashboard(c); ok {
		writeJSON(c.w, http.StatusOK, asService(d.Dashboard, dashboardBools))
	}
}

func (s *Server) getTiles(c *call) {
	if d, ok := s.dashboard(c); ok {
		s.mu.Lock()
		tiles := slices.Clone(d.tiles)
		s.mu.Unlock()
		s.odata(c, "tiles", orEmpty(tiles))
	}
}

func (s *Server) getTile(c *call) {
	if _, t, ok := s.tile(c); ok {
		writeJSON(c.w, http.StatusOK, t)
	}
}

// EmbedTokenInfo describes an embed token the fake issued, for assertions.
type EmbedTokenInfo struct {
	Token       string
	TokenID     string
	Expiration  time.Time
	IssuedAt    time.Time // by the fake clock
	Subject     string    // the client ID or username whose access token created it
	ProfileID   string    // the service principal profile it was created as, or ""
	Kind        string    // "report", "create", "dataset", "dashboard", "tile" or "multi" (V2)
	WorkspaceID string    // "" for V2
	ReportIDs   []string
	DatasetIDs  []string
	DashboardID string
	TileID      string
	AccessLevel powerbi.TokenAccessLevel
	Identities  []powerbi.EffectiveIdentity // identity blobs redacted
}

// EmbedTokens returns the embed tokens issued so far, oldest first.
func (s *Server) EmbedTokens() []EmbedTokenInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.embeds)
}

// LookupEmbedToken finds an embed token the fake issued that has not expired
// by the fake's clock. A page under test can be checked this way: the token it
// was handed must be known and unexpired.
func (s *Server) LookupEmbedToken(token string) (EmbedTokenInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	for _, e := range s.embeds {
		if e.Token == token && now.Before(e.Expiration) {
			return e, true
		}
	}
	return EmbedTokenInfo{}, false
}

// decodeBody decodes a JSON request body, answering 400 when it is not.
func (s *Server) decodeBody(c *call, v any) bool {
	if err := json.NewDecoder(c.r.Body).Decode(v); err != nil {
		s.badRequest(c, "The request body is not valid JSON: %v", err)
		return false
	}
	return true
}

// v1 decodes and checks a V1 request's common fields.
func (s *Server) v1(c *call, create bool) (powerbi.GenerateTokenRequest, bool) {
	var req powerbi.GenerateTokenRequest
	if !s.decodeBody(c, &req) {
		return req, false
	}
	switch {
	case req.LifetimeInMinutes < 0:
		s.badRequest(c, "lifetimeInMinutes must not be negative")
	case !create && req.AccessLevel == powerbi.TokenAccessLevelCreate:
		s.badRequest(c, "Access level Create is only valid for report creation")
	case create && req.AccessLevel != "" && req.AccessLevel != powerbi.TokenAccessLevelCreate:
		s.badRequest(c, "Access level must be Create for report creation")
	case len(req.Identities) > 1:
		s.badRequest(c, "Creating embed token with multiple identities is not supported")
	default:
		if req.AccessLevel == "" {
			req.AccessLevel = powerbi.TokenAccessLevelView
			if create {
				req.AccessLevel = powerbi.TokenAccessLevelCreate
			}
		}
		return req, true
	}
	return req, false
}

func (s *Server) reportToken(c *call) {
	req, ok := s.v1(c, false)
	if !ok {
		return
	}
	r, ok := s.report(c)
	if !ok {
		return
	}
	info := EmbedTokenInfo{Kind: "report", WorkspaceID: c.ws.ID, ReportIDs: []string{r.ID}, AccessLevel: req.AccessLevel, Identities: req.Identities}
	var datasets []string
	if r.ReportType != powerbi.ReportTypePaginated {
		datasets = []string{r.DatasetID}
		info.DatasetIDs = datasets
	}
	s.issue(c, info, datasets, req.LifetimeInMinutes, []*workspace{c.ws})
}

func (s *Server) createToken(c *call) {
	req, ok := s.v1(c, true)
	if !ok {
		return
	}
	s.mu.Lock()
	d := s.datasets[strings.ToLower(req.DatasetID)]
	s.mu.Unlock()
	if d == nil || d.workspaceID != c.ws.ID {
		s.notFound(c)
		return
	}
	info := EmbedTokenInfo{Kind: "create", WorkspaceID: c.ws.ID, DatasetIDs: []string{d.ID}, AccessLevel: req.AccessLevel, Identities: req.Identities}
	s.issue(c, info, info.DatasetIDs, req.LifetimeInMinutes, []*workspace{c.ws})
}

func (s *Server) datasetToken(c *call) {
	req, ok := s.v1(c, false)
	if !ok {
		return
	}
	d, ok := s.dataset(c)
	if !ok {
		return
	}
	info := EmbedTokenInfo{Kind: "dataset", WorkspaceID: c.ws.ID, DatasetIDs: []string{d.ID}, AccessLevel: req.AccessLevel, Identities: req.Identities}
	s.issue(c, info, info.DatasetIDs, req.LifetimeInMinutes, []*workspace{c.ws})
}

func (s *Server) dashboardToken(c *call) {
	req, ok := s.v1(c, false)
	if !ok {
		return
	}
	d, ok := s.dashboard(c)
	if !ok {
		return
	}
	s.mu.Lock()
	var datasets []string
	for _, t := range d.tiles {
		if t.DatasetID != "" && !slices.Contains(datasets, t.DatasetID) {
			datasets = append(datasets, t.DatasetID)
		}
	}
	s.mu.Unlock()
	info := EmbedTokenInfo{Kind: "dashboard", WorkspaceID: c.ws.ID, DashboardID: d.ID, DatasetIDs: datasets, AccessLevel: req.AccessLevel, Identities: req.Identities}
	s.issue(c, info, datasets, req.LifetimeInMinutes, []*workspace{c.ws})
}

func (s *Server) tileToken(c *call) {
	req, ok := s.v1(c, false)
	if !ok {
		return
	}
	d, t, ok := s.tile(c)
	if !ok {
		return
	}
	var datasets []string
	if t.DatasetID != "" {
		datasets = []string{t.DatasetID}
	}
	info := EmbedTokenInfo{Kind: "tile", WorkspaceID: c.ws.ID, DashboardID: d.ID, TileID: t.ID, DatasetIDs: datasets, AccessLevel: req.AccessLevel, Identities: req.Identities}
	s.issue(c, info, datasets, req.LifetimeInMinutes, []*workspace{c.ws})
}

// maxV2Items is the V2 limit on reports, datasets and target workspaces.
const maxV2Items = 50

// multiToken is the V2 GenerateToken: several reports and datasets, possibly
// across workspaces, each of which the caller must be a member of.
func (s *Server) multiToken(c *call) {
	var req powerbi.GenerateTokenRequestV2
	if !s.decodeBody(c, &req) {
		return
	}
	switch {
	case len(req.Reports) == 0 && len(req.Datasets) == 0:
		s.badRequest(c, "At least one report or dataset is required")
		return
	case len(req.Reports) > maxV2Items || len(req.Datasets) > maxV2Items || len(req.TargetWorkspaces) > maxV2Items:
		s.badRequest(c, "A request can include at most %d reports, %d datasets and %d target workspaces", maxV2Items, maxV2Items, maxV2Items)
		return
	case req.LifetimeInMinutes < 0:
		s.badRequest(c, "lifetimeInMinutes must not be negative")
		return
	}
	s.mu.Lock()
	var (
		workspaces []*workspace
		missing    bool
		reportIDs  []string
		datasetIDs []string
		needed     = map[string]string{} // dataset ID -> a report that needs it
	)
	use := func(wsID string) bool {
		ws := s.workspaces[strings.ToLower(wsID)]
		if ws == nil || !ws.isMember(c.principal) {
			return false
		}
		if !slices.Contains(workspaces, ws) {
			workspaces = append(workspaces, ws)
		}
		return true
	}
	for _, rr := range req.Reports {
		r := s.reports[strings.ToLower(rr.ID)]
		if r == nil || !use(r.workspaceID) {
			missing = true
			break
		}
		reportIDs = append(reportIDs, r.ID)
		if r.ReportType != powerbi.ReportTypePaginated {
			needed[r.DatasetID] = r.ID
		}
	}
	for _, dd := range req.Datasets {
		d := s.datasets[strings.ToLower(dd.ID)]
		if d == nil || !use(d.workspaceID) {
			missing = true
			break
		}
		datasetIDs = append(datasetIDs, d.ID)
	}
	for _, tw := range req.TargetWorkspaces {
		if !use(tw.ID) {
			missing = true
		}
	}
	s.mu.Unlock()
	if missing {
		s.notFound(c)
		return
	}
	for dsID, reportID := range needed {
		if !slices.Contains(datasetIDs, dsID) {
			s.badRequest(c, "Creating embed token for report %s requires its dataset %s to be included in the request's datasets", reportID, dsID)
			return
		}
	}
	level := powerbi.TokenAccessLevelView
	if slices.ContainsFunc(req.Reports, func(r powerbi.GenerateTokenRequestV2Report) bool { return r.AllowEdit }) {
		level = powerbi.TokenAccessLevelEdit
	}
	info := EmbedTokenInfo{Kind: "multi", ReportIDs: reportIDs, DatasetIDs: datasetIDs, AccessLevel: level, Identities: req.Identities}
	s.issue(c, info, datasetIDs, req.LifetimeInMinutes, workspaces)
}

// issue applies the row-level-security rules and the shared-capacity quota,
// then issues an embed token that expires no later than the caller's access
// token.
func (s *Server) issue(c *call, info EmbedTokenInfo, datasets []string, lifetime int, workspaces []*workspace) {
	if msg := s.checkIdentities(datasets, info.Identities); msg != "" {
		s.badRequest(c, "%s", msg)
		return
	}
	s.mu.Lock()
	shared := slices.ContainsFunc(workspaces, func(w *workspace) bool { return !w.OnDedicatedCapacity })
	if shared && s.sharedCap > 0 {
		if s.sharedUsed >= s.sharedCap {
			s.mu.Unlock()
			pbiException(c.w, http.StatusForbidden, "TokenGenerationQuotaExceeded")
			return
		}
		s.sharedUsed++
	}
	now := s.nowLocked()
	exp := c.caller.expiresOn
	if lifetime > 0 {
		exp = minTime(exp, now.Add(time.Duration(lifetime)*time.Minute))
	}
	info.Token = "H4sIAAAAAAAEAFakeEmbedToken." + randomHex(32)
	info.TokenID = NewGUID()
	info.Expiration = exp.UTC().Truncate(time.Second)
	info.IssuedAt = now
	info.Subject = c.caller.subject
	info.ProfileID = c.profile
	info.Identities = withoutBlobs(info.Identities)
	s.embeds = append(s.embeds, info)
	s.mu.Unlock()
	writeJSON(c.w, http.StatusOK, map[string]any{
		"token":      info.Token,
		"tokenId":    info.TokenID,
		"expiration": info.Expiration.Format(time.RFC3339),
	})
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// checkIdentities applies the dataset flags isEffectiveIdentityRequired and
// isEffectiveIdentityRolesRequired, with the service's 400 messages. It
// returns "" when the identities fit the datasets.
func (s *Server) checkIdentities(datasets []string, ids []powerbi.EffectiveIdentity) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if id.Username == "" && id.IdentityBlob == nil {
			return "Creating embed token with effective identity requires a username"
		}
		if len(id.Datasets) == 0 && len(id.Reports) == 0 {
			return "Creating embed token with effective identity requires datasets to be specified"
		}
	}
	for _, dsID := range datasets {
		d := s.datasets[dsID]
		if d == nil {
			continue
		}
		var id *powerbi.EffectiveIdentity
		for i := range ids {
			if slices.ContainsFunc(ids[i].Datasets, func(ds string) bool { return strings.EqualFold(ds, dsID) }) {
				if id != nil {
					return "Creating embed token with multiple identities is not supported"
				}
				id = &ids[i]
			}
		}
		switch {
		case id == nil && d.IsEffectiveIdentityRequired:
			return fmt.Sprintf("Creating embed token for accessing dataset %s requires effective identity to be provided", dsID)
		case id != nil && !d.IsEffectiveIdentityRequired:
			return fmt.Sprintf("Creating embed token for accessing dataset %s shouldn't have effective identity", dsID)
		case id != nil && d.IsEffectiveIdentityRolesRequired && len(id.Roles) == 0:
			return fmt.Sprintf("Creating embed token for dataset %s requires roles to be included in provided effective identity", dsID)
		}
		if id == nil {
			continue
		}
		for _, role := range id.Roles {
			if !slices.ContainsFunc(d.roles, func(r string) bool { return strings.EqualFold(r, role) }) {
				return fmt.Sprintf("Creating embed token for dataset %s failed: the dataset has no role %q", dsID, role)
			}
		}
	}
	return ""
}

// withoutBlobs copies identities with their identity blobs redacted: an
// identity blob is an access token for Azure SQL.
func withoutBlobs(ids []powerbi.EffectiveIdentity) []powerbi.EffectiveIdentity {
	out := slices.Clone(ids)
	for i := range out {
		if out[i].IdentityBlob != nil {
			out[i].IdentityBlob = &powerbi.IdentityBlob{Value: "[REDACTED]"}
		}
	}
	return out
}
