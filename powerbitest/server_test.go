package powerbitest_test

// Tests of the fake on its own, over raw HTTP: its rules, error shapes and
// headers must match the service (docs/service.md) and the contract, or tests
// written against it would pass where the real service fails.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopowerbi/powerbi"
	"github.com/gopowerbi/powerbi/internal/spec"
	"github.com/gopowerbi/powerbi/powerbitest"
)

const scope = "https://analysis.windows.net/powerbi/api/.default"

// fixture is a fake seeded with the demo, and a raw HTTP client for it.
type fixture struct {
	srv  *powerbitest.Server
	demo powerbitest.Demo
	hc   *http.Client
}

func newFixture(t *testing.T, opts ...powerbitest.Option) *fixture {
	t.Helper()
	srv := powerbitest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, demo: srv.SeedDemo(), hc: srv.HTTPClient()}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "body: %s", r.body)
	return m
}

func (f *fixture) send(t *testing.T, method, path, bearer string, body any) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, f.srv.URL()+path, rd)
	require.NoError(t, err)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := f.hc.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{resp.StatusCode, resp.Header, b}
}

func (f *fixture) tokenRequest(t *testing.T, tenant string, form url.Values) response {
	t.Helper()
	resp, err := f.hc.PostForm(f.srv.URL()+"/"+tenant+"/oauth2/v2.0/token", form)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{resp.StatusCode, resp.Header, b}
}

func secretForm(clientID, secret string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}, "scope": {scope}}
}

// accessToken signs the demo's service principal in and returns its token.
func (f *fixture) accessToken(t *testing.T) string {
	t.Helper()
	r := f.tokenRequest(t, f.demo.TenantID, secretForm(f.demo.ClientID, f.demo.ClientSecret))
	require.Equal(t, 200, r.status, "%s", r.body)
	return r.json(t)["access_token"].(string)
}

func (f *fixture) ws() string { return "/v1.0/myorg/groups/" + f.demo.WorkspaceID }

func TestTokenEndpointIssuesTokens(t *testing.T) {
	f := newFixture(t, powerbitest.WithTokenLifetime(10*time.Minute))
	r := f.tokenRequest(t, f.demo.TenantID, secretForm(f.demo.ClientID, f.demo.ClientSecret))
	require.Equal(t, 200, r.status, "%s", r.body)
	m := r.json(t)
	assert.Equal(t, "Bearer", m["token_type"])
	assert.EqualValues(t, 600, m["expires_in"], "WithTokenLifetime sets expires_in")
	assert.NotEmpty(t, m["access_token"])
}

// Each refusal carries Entra's JSON: error, error_description starting with
// the AADSTS code, error_codes, timestamp, trace_id and correlation_id.
func TestTokenEndpointRefusals(t *testing.T) {
	f := newFixture(t)
	cert, _ := newCert(t)
	otherCert, otherKey := newCert(t)
	certClient := powerbitest.NewGUID()
	f.srv.AddServicePrincipalCertificate(f.demo.TenantID, certClient, cert)
	f.srv.AddUser(f.demo.TenantID, f.demo.ClientID, "ann@contoso.com", "right-password")
	audience := f.srv.URL() + "/" + f.demo.TenantID + "/oauth2/v2.0/token"

	badScope := secretForm(f.demo.ClientID, f.demo.ClientSecret)
	badScope.Set("scope", "https://analysis.usgovcloudapi.net/powerbi/api/.default")
	noSecret := secretForm(f.demo.ClientID, "")
	noSecret.Del("client_secret")

	tests := []struct {
		name   string
		tenant string
		form   url.Values
		status int
		oauth  string
		code   int
	}{
		{"wrong secret", f.demo.TenantID, secretForm(f.demo.ClientID, "wrong"), 401, "invalid_client", 7000215},
		{"no secret", f.demo.TenantID, noSecret, 401, "invalid_client", 7000218},
		{"unknown client", f.demo.TenantID, secretForm(powerbitest.NewGUID(), "x"), 400, "unauthorized_client", 700016},
		{"unknown tenant", powerbitest.NewGUID(), secretForm(f.demo.ClientID, f.demo.ClientSecret), 400, "invalid_request", 90002},
		{"scope of another cloud", f.demo.TenantID, badScope, 400, "invalid_scope", 500011},
		{"wrong password", f.demo.TenantID, url.Values{"grant_type": {"password"}, "client_id": {f.demo.ClientID}, "scope": {scope},
			"username": {"ann@contoso.com"}, "password": {"wrong"}}, 400, "invalid_grant", 50126},
		{"unknown user", f.demo.TenantID, url.Values{"grant_type": {"password"}, "client_id": {f.demo.ClientID}, "scope": {scope},
			"username": {"bob@contoso.com"}, "password": {"right-password"}}, 400, "invalid_grant", 50126},
		{"assertion signed with another certificate", f.demo.TenantID, assertionForm(t, certClient, audience, otherCert, otherKey), 401, "invalid_client", 700027},
		{"assertion for another audience", f.demo.TenantID, assertionForm(t, certClient, "https://login.microsoftonline.com/x/oauth2/v2.0/token", cert, nil), 401, "invalid_client", 700027},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.tokenRequest(t, tt.tenant, tt.form)
			require.Equal(t, tt.status, r.status, "%s", r.body)
			m := r.json(t)
			assert.Equal(t, tt.oauth, m["error"])
			assert.Equal(t, []any{float64(tt.code)}, m["error_codes"])
			assert.True(t, strings.HasPrefix(m["error_description"].(string), fmt.Sprintf("AADSTS%d: ", tt.code)), m["error_description"])
			for _, k := range []string{"trace_id", "correlation_id", "timestamp"} {
				assert.NotEmpty(t, m[k], k)
			}
		})
	}
}

func TestTokenEndpointAcceptsCertificateAndPassword(t *testing.T) {
	f := newFixture(t)
	cert, key := newCert(t)
	certClient := powerbitest.NewGUID()
	f.srv.AddServicePrincipalCertificate(f.demo.TenantID, certClient, cert)
	f.srv.AddUser(f.demo.TenantID, f.demo.ClientID, "ann@contoso.com", "right-password")
	audience := f.srv.URL() + "/" + f.demo.TenantID + "/oauth2/v2.0/token"

	r := f.tokenRequest(t, f.demo.TenantID, assertionForm(t, certClient, audience, cert, key))
	assert.Equal(t, 200, r.status, "%s", r.body)
	r = f.tokenRequest(t, f.demo.TenantID, url.Values{"grant_type": {"password"}, "client_id": {f.demo.ClientID}, "scope": {scope},
		"username": {"ANN@contoso.com"}, "password": {"right-password"}})
	assert.Equal(t, 200, r.status, "user names are case-insensitive: %s", r.body)
}

// newCert makes a self-signed RSA certificate.
func newCert(t *testing.T) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	cert, key, _, err := powerbitest.NewCertificate()
	require.NoError(t, err)
	return cert, key
}

// assertionForm builds a client-credentials form with a JWT assertion naming
// cert (x5t#S256) and signed with key (a fresh key when nil: a bad signature).
func assertionForm(t *testing.T, clientID, audience string, cert *x509.Certificate, key *rsa.PrivateKey) url.Values {
	t.Helper()
	if key == nil {
		var err error
		key, err = rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodPS256, jwt.RegisteredClaims{Issuer: clientID, Subject: clientID,
		Audience: jwt.ClaimStrings{audience}, ExpiresAt: jwt.NewNumericDate(time.Now().Add(5 * time.Minute)), ID: powerbitest.NewGUID()})
	tok.Header["x5t#S256"] = thumbprint(cert)
	signed, err := tok.SignedString(key)
	require.NoError(t, err)
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "scope": {scope},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {signed}}
}

func TestBearerTokenRules(t *testing.T) {
	f := newFixture(t, powerbitest.WithTokenLifetime(time.Hour))
	path := f.ws() + "/reports"

	for name, bearer := range map[string]string{"none": "", "not issued by the fake": "eyJhbGciOi.forged"} {
		r := f.send(t, "GET", path, bearer, nil)
		assert.Equal(t, 401, r.status, name)
		assert.Equal(t, "InvalidToken", r.header.Get("X-PowerBI-Error-Info"), name)
		assert.Empty(t, r.body, "%s: shape 5, the code only in the header", name)
		assert.NotEmpty(t, r.header.Get("RequestId"), name)
	}

	tok := f.accessToken(t)
	assert.Equal(t, 200, f.send(t, "GET", path, tok, nil).status)
	f.srv.Advance(time.Hour)
	r := f.send(t, "GET", path, tok, nil)
	assert.Equal(t, 403, r.status, "an expired token is refused with 403, as the service does")
	assert.Equal(t, "TokenExpired", r.header.Get("X-PowerBI-Error-Info"))
	assert.Equal(t, "TokenExpired", r.json(t)["error"].(map[string]any)["code"])
}

func TestEveryResponseHasARequestID(t *testing.T) {
	f := newFixture(t)
	tok := f.accessToken(t)
	seen := map[string]bool{}
	for _, path := range []string{"/v1.0/myorg/groups", f.ws() + "/reports", f.ws() + "/reports/" + powerbitest.NewGUID(), "/v1.0/myorg/nothing"} {
		id := f.send(t, "GET", path, tok, nil).header.Get("RequestId")
		assert.NotEmpty(t, id, path)
		assert.False(t, seen[id], "RequestId %s repeated", id)
		seen[id] = true
	}
}

func TestMembershipAndNotFound(t *testing.T) {
	f := newFixture(t)
	tok := f.accessToken(t)
	other := f.srv.AddWorkspace(powerbitest.Workspace{Name: "Finance"})
	otherReport := f.srv.AddReport(other.ID, powerbi.Report{Name: "Budget"})

	r := f.send(t, "GET", "/v1.0/myorg/groups/"+other.ID+"/reports", tok, nil)
	assert.Equal(t, 401, r.status)
	assert.Equal(t, "PowerBINotAuthorizedException", r.header.Get("X-PowerBI-Error-Info"))
	pbi := r.json(t)["error"].(map[string]any)["pbi.error"].(map[string]any)
	assert.Equal(t, "PowerBINotAuthorizedException", pbi["code"], "error shape 2")

	f.srv.AddMember(other.ID, f.demo.ClientID)
	assert.Equal(t, 200, f.send(t, "GET", "/v1.0/myorg/groups/"+other.ID+"/reports", tok, nil).status)
	f.srv.RemoveMember(other.ID, f.demo.ClientID)
	assert.Equal(t, 401, f.send(t, "GET", "/v1.0/myorg/groups/"+other.ID+"/reports", tok, nil).status)

	for _, path := range []string{
		f.ws() + "/reports/" + powerbitest.NewGUID(),
		f.ws() + "/reports/" + otherReport.ID, // an ID from another workspace
		"/v1.0/myorg/groups/" + powerbitest.NewGUID() + "/reports",
		f.ws() + "/dashboards/" + f.demo.DashboardID + "/tiles/" + powerbitest.NewGUID(),
		"/v1.0/myorg/reports/" + f.demo.ReportID, // My workspace holds nothing
	} {
		r := f.send(t, "GET", path, tok, nil)
		assert.Equal(t, 404, r.status, path)
		assert.Equal(t, "PowerBIEntityNotFound", r.json(t)["error"].(map[string]any)["code"], path)
	}
}

// The fake's JSON uses the contract's names only (each definition's
// properties, through allOf) and at least the names the contract's own
// examples show.
func TestResponsesUseSwaggerNames(t *testing.T) {
	f := newFixture(t)
	tok := f.accessToken(t)
	sw, err := spec.Load()
	require.NoError(t, err)

	check := func(def string, obj map[string]any, example string) {
		t.Helper()
		for k := range obj {
			assert.Contains(t, sw.PropertyNames(def), k, "%s: %q is not in the contract", def, k)
		}
		for _, k := range exampleKeys(t, sw, example) {
			if k == "datasetId" && obj["reportType"] == "PaginatedReport" {
				continue // an RDL report has no dataset
			}
			assert.Contains(t, obj, k, "%s: the contract's example %s has %q", def, example, k)
		}
	}
	lists := []struct{ path, list, item, example string }{
		{"/v1.0/myorg/groups", "Groups", "Group", "Groups_GetGroups"},
		{f.ws() + "/reports", "Reports", "Report", "Reports_GetReportsInGroup"},
		{f.ws() + "/datasets", "Datasets", "Dataset", "Datasets_GetDatasetsInGroup"},
		{f.ws() + "/dashboards", "Dashboards", "Dashboard", "Dashboards_GetDashboardsInGroup"},
		{f.ws() + "/dashboards/" + f.demo.DashboardID + "/tiles", "Tiles", "Tile", "Dashboards_GetTilesInGroup"},
	}
	for _, l := range lists {
		r := f.send(t, "GET", l.path, tok, nil)
		require.Equal(t, 200, r.status, l.path)
		m := r.json(t)
		for k := range m {
			assert.Contains(t, sw.PropertyNames(l.list), k, l.path)
		}
		assert.Contains(t, m["@odata.context"], "$metadata#", l.path)
		items := m["value"].([]any)
		require.NotEmpty(t, items, l.path)
		for _, it := range items {
			check(l.item, it.(map[string]any), l.example)
		}
	}
	r := f.send(t, "POST", f.ws()+"/reports/"+f.demo.ReportID+"/GenerateToken", tok, map[string]any{"accessLevel": "View"})
	require.Equal(t, 200, r.status, "%s", r.body)
	check("EmbedToken", r.json(t), "Reports_GenerateTokenInGroup")
	_, err = time.Parse(time.RFC3339, r.json(t)["expiration"].(string))
	assert.NoError(t, err, "expiration is RFC 3339 like the example's 2018-07-29T17:58:19Z")
}

// exampleKeys returns the keys of the first example response's item (or
// body) of an operation.
func exampleKeys(t *testing.T, sw *spec.Swagger, opID string) []string {
	t.Helper()
	op := sw.Operation(opID)
	require.NotNil(t, op, opID)
	var obj map[string]any
	require.NoError(t, json.Unmarshal(op.Examples[op.ExampleKeys[0]].Body("200"), &obj))
	if v, ok := obj["value"].([]any); ok {
		obj = v[0].(map[string]any)
	}
	var keys []string
	for k := range obj {
		// optional in the schema, and shown only where they apply
		if !slices.Contains([]string{"capacityId", "defaultDatasetStorageFormat", "dataflowStorageId", "rowSpan", "colSpan",
			"configuredBy", "targetStorageMode", "upstreamDataflows",
			"Encryption", "queryScaleOutSettings", "isInPlaceSharingEnabled", "description", "ContentProviderType"}, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

func TestGroupsFilterTopSkip(t *testing.T) {
	f := newFixture(t)
	tok := f.accessToken(t)
	for _, name := range []string{"sample group", "marketing group", "contoso", "Marketing EU"} {
		f.srv.AddWorkspace(powerbitest.Workspace{Name: name, Members: []string{f.demo.ClientID}})
	}
	f.srv.AddWorkspace(powerbitest.Workspace{Name: "marketing secret", Members: []string{"someone-else"}})

	names := func(query string) []string {
		t.Helper()
		r := f.send(t, "GET", "/v1.0/myorg/groups?"+query, tok, nil)
		require.Equal(t, 200, r.status, "%s: %s", query, r.body)
		var out []string
		for _, g := range r.json(t)["value"].([]any) {
			out = append(out, g.(map[string]any)["name"].(string))
		}
		return out
	}
	// the swagger's own example, escaped as the swagger shows it
	assert.Equal(t, []string{"marketing group", "contoso", "Marketing EU"}, names("$filter=contains(name,'marketing')%20or%20name%20eq%20'contoso'"))
	assert.Equal(t, []string{"Contoso Embedded", "contoso"}, names("$filter="+url.QueryEscape("startswith(name,'CONTOSO')")))
	assert.Equal(t, []string{"Contoso Embedded"}, names("$filter="+url.QueryEscape("isOnDedicatedCapacity eq true and not (name eq 'x')")))
	assert.Equal(t, []string{"sample group", "marketing group", "contoso", "Marketing EU"}, names("$filter="+url.QueryEscape("name ne 'Contoso Embedded'")))
	assert.Equal(t, []string{"sample group", "marketing group"}, names("$top=2&$skip=1"))
	assert.Equal(t, []string{"Marketing EU"}, names("$skip=4"))
	assert.Empty(t, names("$skip=9"))

	for _, bad := range []string{"$filter=" + url.QueryEscape("capacity gt 1"), "$filter=" + url.QueryEscape("contains(name,'x'"), "$top=-1", "$skip=x"} {
		r := f.send(t, "GET", "/v1.0/myorg/groups?"+bad, tok, nil)
		assert.Equal(t, 400, r.status, bad)
		assert.Equal(t, "InvalidRequest", r.json(t)["error"].(map[string]any)["code"], bad)
	}
}

func TestSeededItemsLookLikeTheService(t *testing.T) {
	f := newFixture(t)
	tok := f.accessToken(t)
	r := f.send(t, "GET", f.ws()+"/reports/"+f.demo.ReportID, tok, nil)
	require.Equal(t, 200, r.status)
	m := r.json(t)
	assert.Equal(t, "https://app.powerbi.com/reportEmbed?reportId="+f.demo.ReportID+"&groupId="+f.demo.WorkspaceID, m["embedUrl"])
	assert.Equal(t, f.demo.DatasetID, m["datasetId"])
	assert.Equal(t, "PowerBIReport", m["reportType"])

	r = f.send(t, "GET", f.ws()+"/reports/"+f.demo.PaginatedReportID, tok, nil)
	m = r.json(t)
	assert.Equal(t, "PaginatedReport", m["reportType"])
	assert.Equal(t, "RDL", m["format"])
	assert.True(t, strings.HasPrefix(m["embedUrl"].(string), "https://app.powerbi.com/rdlEmbed?"))

	r = f.send(t, "GET", f.ws()+"/datasets/"+f.demo.RLSDatasetID, tok, nil)
	m = r.json(t)
	assert.Equal(t, true, m["isEffectiveIdentityRequired"])
	assert.Equal(t, true, m["isEffectiveIdentityRolesRequired"])

	gov := powerbitest.NewServer(powerbitest.WithCloud(powerbi.CloudUSGovHigh))
	defer gov.Close()
	rep := gov.AddReport(powerbitest.NewGUID(), powerbi.Report{})
	assert.True(t, strings.HasPrefix(rep.EmbedURL, "https://app.high.powerbigov.us/reportEmbed?"), rep.EmbedURL)
}

func TestRowLevelSecurityRules(t *testing.T) {
	f := newFixture(t)
	tok := f.accessToken(t)
	d := f.demo
	id := func(ds string, roles ...string) map[string]any {
		return map[string]any{"username": "ann@contoso.com", "roles": roles, "datasets": []string{ds}}
	}
	reportPath := func(reportID string) string { return f.ws() + "/reports/" + reportID + "/GenerateToken" }
	tests := []struct {
		name    string
		path    string
		body    map[string]any
		message string // "" for success
	}{
		{"no RLS, no identity", reportPath(d.ReportID), map[string]any{}, ""},
		{"no RLS, identity", reportPath(d.ReportID), map[string]any{"identities": []any{id(d.DatasetID, "r")}},
			"Creating embed token for accessing dataset " + d.DatasetID + " shouldn't have effective identity"},
		{"RLS, no identity", reportPath(d.RLSReportID), map[string]any{},
			"Creating embed token for accessing dataset " + d.RLSDatasetID + " requires effective identity to be provided"},
		{"RLS, identity without roles", reportPath(d.RLSReportID), map[string]any{"identities": []any{id(d.RLSDatasetID)}},
			"Creating embed token for dataset " + d.RLSDatasetID + " requires roles to be included in provided effective identity"},
		{"RLS, identity with a role", reportPath(d.RLSReportID), map[string]any{"identities": []any{id(d.RLSDatasetID, "West")}}, ""},
		{"two identities", reportPath(d.RLSReportID), map[string]any{"identities": []any{id(d.RLSDatasetID, "West"), id(d.RLSDatasetID, "East")}},
			"Creating embed token with multiple identities is not supported"},
		{"V2, RLS dataset without identity", "/v1.0/myorg/GenerateToken", map[string]any{
			"reports": []any{map[string]any{"id": d.RLSReportID}}, "datasets": []any{map[string]any{"id": d.RLSDatasetID}}},
			"Creating embed token for accessing dataset " + d.RLSDatasetID + " requires effective identity to be provided"},
		{"V2, two datasets, identity for the RLS one", "/v1.0/myorg/GenerateToken", map[string]any{
			"reports":    []any{map[string]any{"id": d.RLSReportID}, map[string]any{"id": d.ReportID}},
			"datasets":   []any{map[string]any{"id": d.RLSDatasetID}, map[string]any{"id": d.DatasetID}},
			"identities": []any{id(d.RLSDatasetID, "West")}}, ""},
		{"tile on a dataset without RLS", f.ws() + "/dashboards/" + d.DashboardID + "/tiles/" + d.TileID + "/GenerateToken", map[string]any{}, ""},
		{"paginated report needs no dataset identity", reportPath(d.PaginatedReportID), map[string]any{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.send(t, "POST", tt.path, tok, tt.body)
			if tt.message == "" {
				require.Equal(t, 200, r.status, "%s", r.body)
				_, ok := f.srv.LookupEmbedToken(r.json(t)["token"].(string))
				assert.True(t, ok, "the issued token is recorded")
				return
			}
			require.Equal(t, 400, r.status, "%s", r.body)
			e := r.json(t)["error"].(map[string]any)
			assert.Equal(t, "InvalidRequest", e["code"])
			assert.Equal(t, tt.message, e["message"])
		})
	}
}

func TestV2Rules(t *testing.T) {
	f := newFixture(t)
	tok := f.accessToken(t)
	d := f.demo
	post := func(body map[string]any) response { return f.send(t, "POST", "/v1.0/myorg/GenerateToken", tok, body) }

	r := post(map[string]any{"reports": []any{map[string]any{"id": d.ReportID}}})
	assert.Equal(t, 400, r.status, "a report's dataset must be in the request")
	assert.Contains(t, r.json(t)["error"].(map[string]any)["message"], d.DatasetID)

	many := make([]any, 51)
	for i := range many {
		many[i] = map[string]any{"id": d.DatasetID}
	}
	assert.Equal(t, 400, post(map[string]any{"datasets": many}).status, "more than 50 datasets")
	assert.Equal(t, 400, post(map[string]any{}).status, "nothing to embed")

	other := f.srv.AddWorkspace(powerbitest.Workspace{Name: "Finance", OnDedicatedCapacity: true})
	ds := f.srv.AddDataset(other.ID, powerbi.Dataset{})
	rep := f.srv.AddReport(other.ID, powerbi.Report{DatasetID: ds.ID})
	cross := map[string]any{
		"reports":  []any{map[string]any{"id": d.ReportID}, map[string]any{"id": rep.ID, "allowEdit": true}},
		"datasets": []any{map[string]any{"id": d.DatasetID}, map[string]any{"id": ds.ID}},
	}
	assert.Equal(t, 404, post(cross).status, "the caller must be a member of every workspace")
	f.srv.AddMember(other.ID, d.ClientID)
	r = post(cross)
	require.Equal(t, 200, r.status, "%s", r.body)
	info, ok := f.srv.LookupEmbedToken(r.json(t)["token"].(string))
	require.True(t, ok)
	assert.Equal(t, "multi", info.Kind)
	assert.Equal(t, []string{d.ReportID, rep.ID}, info.ReportIDs)
	assert.Equal(t, powerbi.TokenAccessLevelEdit, info.AccessLevel)
	assert.Equal(t, d.ClientID, info.Subject)
}

// An embed token never outlives the access token that created it;
// lifetimeInMinutes can only shorten it.
func TestEmbedTokenExpiration(t *testing.T) {
	start := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	f := newFixture(t, powerbitest.WithStartTime(start), powerbitest.WithTokenLifetime(time.Hour))
	tok := f.accessToken(t) // expires at 13:00
	path := f.ws() + "/reports/" + f.demo.ReportID + "/GenerateToken"
	expiration := func(body map[string]any) time.Time {
		t.Helper()
		r := f.send(t, "POST", path, tok, body)
		require.Equal(t, 200, r.status, "%s", r.body)
		exp, err := time.Parse(time.RFC3339, r.json(t)["expiration"].(string))
		require.NoError(t, err)
		return exp
	}
	assert.Equal(t, start.Add(time.Hour), expiration(map[string]any{}), "no lifetime: the access token's expiry")
	assert.Equal(t, start.Add(10*time.Minute), expiration(map[string]any{"lifetimeInMinutes": 10}))
	assert.Equal(t, start.Add(time.Hour), expiration(map[string]any{"lifetimeInMinutes": 600}), "a lifetime cannot lengthen it")
	f.srv.Advance(54 * time.Minute)
	assert.Equal(t, start.Add(time.Hour), expiration(map[string]any{"lifetimeInMinutes": 60}), "6 minutes left: a 6-minute embed token")
}

func TestSharedCapacityQuota(t *testing.T) {
	f := newFixture(t)
	tok := f.accessToken(t)
	shared := f.srv.AddWorkspace(powerbitest.Workspace{Name: "Pro", Members: []string{f.demo.ClientID}})
	rep := f.srv.AddReport(shared.ID, powerbi.Report{DatasetID: f.srv.AddDataset(shared.ID, powerbi.Dataset{}).ID})
	f.srv.SetSharedCapacityQuota(2)
	path := "/v1.0/myorg/groups/" + shared.ID + "/reports/" + rep.ID + "/GenerateToken"
	for i := range 2 {
		assert.Equal(t, 200, f.send(t, "POST", path, tok, map[string]any{}).status, "token %d", i+1)
	}
	r := f.send(t, "POST", path, tok, map[string]any{})
	assert.Equal(t, 403, r.status)
	assert.NotEmpty(t, r.header.Get("X-PowerBI-Error-Info"))
	assert.Equal(t, 200, f.send(t, "POST", f.ws()+"/reports/"+f.demo.ReportID+"/GenerateToken", tok, map[string]any{}).status,
		"a dedicated capacity has no quota")
}

func TestFaultInjection(t *testing.T) {
	f := newFixture(t)
	tok := f.accessToken(t)
	path := f.ws() + "/reports"

	f.srv.InjectFault(powerbitest.Fault{PathContains: "/reports", Times: 2, Status: 429, RetryAfter: "7", Body: `{"message":"slow down"}`})
	for i := range 2 {
		r := f.send(t, "GET", path, tok, nil)
		assert.Equal(t, 429, r.status, "request %d", i+1)
		assert.Equal(t, "7", r.header.Get("Retry-After"))
		assert.JSONEq(t, `{"message":"slow down"}`, string(r.body))
		assert.NotEmpty(t, r.header.Get("RequestId"))
	}
	assert.Equal(t, 200, f.send(t, "GET", path, tok, nil).status, "Times is spent")

	f.srv.InjectFault(powerbitest.Fault{Method: "POST", PathContains: "/reports", Status: 503})
	assert.Equal(t, 200, f.send(t, "GET", path, tok, nil).status, "the method must match")
	assert.Equal(t, 503, f.send(t, "POST", path+"/"+f.demo.ReportID+"/GenerateToken", tok, map[string]any{}).status)

	f.srv.InjectFault(powerbitest.Fault{PathContains: "/reports", Delay: 200 * time.Millisecond})
	start := time.Now()
	assert.Equal(t, 200, f.send(t, "GET", path, tok, nil).status, "a delay alone answers normally")
	assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)

	f.srv.InjectFault(powerbitest.Fault{PathContains: "/reports", CutBody: true})
	req, _ := http.NewRequest("GET", f.srv.URL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := f.hc.Do(req)
	require.NoError(t, err)
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Error(t, err, "the body is cut short")
}

func TestRequestRecordingHidesSecrets(t *testing.T) {
	f := newFixture(t)
	tok := f.accessToken(t)
	f.send(t, "GET", f.ws()+"/reports", tok, nil)
	reqs := f.srv.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "POST", reqs[0].Method)
	assert.Equal(t, "/"+f.demo.TenantID+"/oauth2/v2.0/token", reqs[0].Path)
	assert.Contains(t, reqs[0].Body, "client_secret=%5BREDACTED%5D")
	assert.Contains(t, reqs[0].Body, "client_id="+f.demo.ClientID)
	assert.Equal(t, "Bearer [REDACTED]", reqs[1].Header.Get("Authorization"))
	all := fmt.Sprintf("%+v", reqs)
	assert.NotContains(t, all, f.demo.ClientSecret)
	assert.NotContains(t, all, tok)
	assert.Equal(t, 1, f.srv.CountRequests("/oauth2/"))
	f.srv.ResetRequests()
	assert.Empty(t, f.srv.Requests())
}

func TestUnknownRouteIsAnError(t *testing.T) {
	f := newFixture(t)
	r := f.send(t, "GET", "/v1.0/myorg/noSuchThing", f.accessToken(t), nil)
	assert.Equal(t, 404, r.status)
	assert.Contains(t, string(r.body), "no route")
	assert.Contains(t, string(r.body), "no such operation")
}

// An operation the fake has no rule for answers with the contract's own
// example of it; the caller must still present a token the fake issued.
func TestOperationWithoutARuleAnswersWithTheContractExample(t *testing.T) {
	f := newFixture(t)
	auth, err := f.demo.Authenticator(f.srv)
	require.NoError(t, err)
	c, err := f.srv.NewClient(auth)
	require.NoError(t, err)
	ctx := context.Background()
	capacities, err := c.Capacities.GetCapacities(ctx)
	require.NoError(t, err)
	require.Len(t, capacities, 1)
	assert.Equal(t, "0f084df7-c13d-451b-af5f-ed0c466403b2", capacities[0].ID)
	assert.Equal(t, "MyCapacity", capacities[0].DisplayName)

	clone, err := c.Reports.CloneReportInGroup(ctx, f.demo.WorkspaceID, f.demo.ReportID, powerbi.CloneReportRequest{Name: "copy"})
	require.ErrorIs(t, err, powerbi.ErrUnexpectedResponse, "the contract's example of Clone is an empty 200")
	assert.Nil(t, clone)

	pipelines, err := c.Pipelines.GetPipelines(ctx)
	require.NoError(t, err)
	assert.NotEmpty(t, pipelines)

	r := f.send(t, "GET", "/v1.0/myorg/capacities", "not-a-token", nil)
	assert.Equal(t, 401, r.status, "examples are served to authenticated callers only")

	// No example and no rule: a 404 that says how to script it.
	r = f.send(t, "POST", "/v1.0/myorg/groups/"+f.demo.WorkspaceID+"/reports/"+f.demo.ReportID+"/Rebind", f.accessToken(t), map[string]any{"datasetId": f.demo.DatasetID})
	assert.Equal(t, 404, r.status)
	assert.Contains(t, string(r.body), "Reports_RebindReportInGroup")
	assert.Contains(t, string(r.body), "HandleOperation")
}

// A handler registered for an operation answers it, before the fake's own
// rules and the contract's example.
func TestHandleOperation(t *testing.T) {
	f := newFixture(t)
	auth, err := f.demo.Authenticator(f.srv)
	require.NoError(t, err)
	c, err := f.srv.NewClient(auth)
	require.NoError(t, err)
	ctx := context.Background()
	var seen []string
	f.srv.HandleOperation("Reports_CloneReportInGroup", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen = append(seen, string(b))
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"`+f.demo.ReportID+`","name":"copy of sales"}`)
	})
	clone, err := c.Reports.CloneReportInGroup(ctx, f.demo.WorkspaceID, f.demo.ReportID, powerbi.CloneReportRequest{Name: "copy of sales"})
	require.NoError(t, err)
	assert.Equal(t, "copy of sales", clone.Name)
	assert.Equal(t, []string{`{"name":"copy of sales"}`}, seen)

	f.srv.HandleOperation("Reports_GetReportInGroup", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	_, err = c.Reports.GetReportInGroup(ctx, f.demo.WorkspaceID, f.demo.ReportID)
	var apiErr *powerbi.APIError
	require.ErrorAs(t, err, &apiErr, "the handler wins over the fake's own rule")
	assert.Equal(t, 503, apiErr.StatusCode)

	assert.PanicsWithValue(t, `powerbitest: HandleOperation: the contract has no operation "Reports_NoSuchThing"`, func() {
		f.srv.HandleOperation("Reports_NoSuchThing", nil)
	})
}

func thumbprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestClocks(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	frozen := powerbitest.NewServer(powerbitest.WithStartTime(start))
	defer frozen.Close()
	time.Sleep(5 * time.Millisecond)
	assert.Equal(t, start, frozen.Now(), "the default clock moves only by Advance")
	frozen.Advance(time.Minute)
	assert.Equal(t, start.Add(time.Minute), frozen.Now())

	real := powerbitest.NewServer(powerbitest.WithRealClock())
	defer real.Close()
	assert.WithinDuration(t, time.Now(), real.Now(), time.Second)
	real.Advance(time.Hour)
	assert.WithinDuration(t, time.Now().Add(time.Hour), real.Now(), time.Second)
}

// sendAs is send with an X-PowerBI-Profile-Id header.
func (f *fixture) sendAs(t *testing.T, method, path, bearer, profile string) response {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL()+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("X-PowerBI-Profile-Id", profile)
	resp, err := f.hc.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{resp.StatusCode, resp.Header, b}
}

// A service principal profile acts as a principal of its own: one that was
// never created, or belongs to another principal, is refused; a profile sees
// only the workspaces it is a member of, not its principal's.
func TestProfilesAreEnforced(t *testing.T) {
	f := newFixture(t)
	tok := f.accessToken(t)
	r := f.sendAs(t, "GET", f.ws()+"/reports", tok, powerbitest.NewGUID())
	assert.Equal(t, 401, r.status, "a profile that was never created: %s", r.body)
	assert.Equal(t, "PowerBINotAuthorizedException", r.header.Get("X-PowerBI-Error-Info"))

	profile := f.srv.AddProfile(f.demo.ClientID, "Contoso tenant A")
	r = f.sendAs(t, "GET", f.ws()+"/reports", tok, profile)
	assert.Equal(t, 401, r.status, "the principal is a member, its profile is not: %s", r.body)
	r = f.sendAs(t, "GET", "/v1.0/myorg/groups", tok, profile)
	require.Equal(t, 200, r.status)
	assert.Empty(t, r.json(t)["value"], "the profile sees none of its principal's workspaces")

	f.srv.AddMember(f.demo.WorkspaceID, profile)
	r = f.sendAs(t, "GET", f.ws()+"/reports", tok, profile)
	assert.Equal(t, 200, r.status, "%s", r.body)

	otherApp := powerbitest.NewGUID()
	f.srv.AddServicePrincipal(f.demo.TenantID, otherApp, "other-secret")
	f.srv.AddMember(f.demo.WorkspaceID, otherApp)
	otherTok := f.tokenRequest(t, f.demo.TenantID, secretForm(otherApp, "other-secret")).json(t)["access_token"].(string)
	r = f.sendAs(t, "GET", f.ws()+"/reports", otherTok, profile)
	assert.Equal(t, 401, r.status, "another principal's profile")
}

// Roles are declared on datasets: a role name the dataset does not have is
// refused, as the service refuses it.
func TestUndeclaredRoleIsRefused(t *testing.T) {
	f := newFixture(t)
	tok := f.accessToken(t)
	d := f.demo
	path := f.ws() + "/reports/" + d.RLSReportID + "/GenerateToken"
	id := func(role string) map[string]any {
		return map[string]any{"identities": []any{map[string]any{"username": "ann@contoso.com", "roles": []string{role}, "datasets": []string{d.RLSDatasetID}}}}
	}
	r := f.send(t, "POST", path, tok, id("NoSuchRole"))
	require.Equal(t, 400, r.status, "%s", r.body)
	assert.Contains(t, r.json(t)["error"].(map[string]any)["message"], "NoSuchRole")
	r = f.send(t, "POST", path, tok, id("west"))
	assert.Equal(t, 200, r.status, "role names match whatever their case: %s", r.body)
}

// An expired embed token is not reported as valid.
func TestLookupEmbedTokenExpires(t *testing.T) {
	f := newFixture(t)
	tok := f.accessToken(t)
	r := f.send(t, "POST", f.ws()+"/reports/"+f.demo.ReportID+"/GenerateToken", tok, map[string]any{})
	require.Equal(t, 200, r.status)
	embed := r.json(t)["token"].(string)
	_, ok := f.srv.LookupEmbedToken(embed)
	require.True(t, ok)
	f.srv.Advance(61 * time.Minute)
	_, ok = f.srv.LookupEmbedToken(embed)
	assert.False(t, ok, "expired")
}

// An identity blob is an Azure SQL access token: the fake records none.
func TestRecordingHidesIdentityBlobs(t *testing.T) {
	f := newFixture(t)
	tok := f.accessToken(t)
	d := f.demo
	const blob = "SENTINEL-identity-blob-value"
	r := f.send(t, "POST", f.ws()+"/reports/"+d.RLSReportID+"/GenerateToken", tok, map[string]any{
		"identities": []any{map[string]any{"username": "ann@contoso.com", "roles": []string{"West"}, "datasets": []string{d.RLSDatasetID},
			"identityBlob": map[string]any{"value": blob}}}})
	require.Equal(t, 200, r.status, "%s", r.body)
	r = f.send(t, "POST", "/v1.0/myorg/GenerateToken", tok, map[string]any{
		"datasets": []any{map[string]any{"id": d.DatasetID}},
		"datasourceIdentities": []any{map[string]any{"identityBlob": blob,
			"datasources": []any{map[string]any{"datasourceType": "Sql", "connectionDetails": map[string]any{"server": "s", "database": "d"}}}}}})
	require.Equal(t, 200, r.status, "%s", r.body)
	all := fmt.Sprintf("%+v %+v", f.srv.Requests(), f.srv.EmbedTokens())
	assert.NotContains(t, all, blob)
	assert.Contains(t, all, "[REDACTED]")
}

// IDs match whatever their case, as on the service.
func TestIDsMatchWhateverTheirCase(t *testing.T) {
	f := newFixture(t)
	tok := f.accessToken(t)
	r := f.send(t, "GET", "/v1.0/myorg/groups/"+strings.ToUpper(f.demo.WorkspaceID)+"/reports/"+strings.ToUpper(f.demo.ReportID), tok, nil)
	assert.Equal(t, 200, r.status, "%s", r.body)
	r = f.send(t, "POST", "/v1.0/myorg/GenerateToken", tok, map[string]any{
		"reports": []any{map[string]any{"id": strings.ToUpper(f.demo.ReportID)}}, "datasets": []any{map[string]any{"id": strings.ToUpper(f.demo.DatasetID)}}})
	assert.Equal(t, 200, r.status, "%s", r.body)
}

// The Client the fake hands out runs on the fake's clock, so that Advance
// reaches the SDK's token cache: GenerateToken's minimum access-token lifetime
// can be tested.
func TestClientSharesTheFakeClock(t *testing.T) {
	f := newFixture(t)
	auth, err := f.demo.Authenticator(f.srv)
	require.NoError(t, err)
	c, err := f.srv.NewClient(auth)
	require.NoError(t, err)
	ctx := context.Background()
	_, err = c.Reports.GenerateTokenInGroup(ctx, f.demo.WorkspaceID, f.demo.ReportID, powerbi.GenerateTokenRequest{})
	require.NoError(t, err)
	f.srv.Advance(40 * time.Minute) // 20 minutes left on the access token: under the 30-minute minimum
	tok, err := c.Reports.GenerateTokenInGroup(ctx, f.demo.WorkspaceID, f.demo.ReportID, powerbi.GenerateTokenRequest{})
	require.NoError(t, err)
	assert.Equal(t, f.srv.Now().Add(time.Hour), tok.Expiration, "made with a new access token")
	assert.Equal(t, 2, f.srv.CountRequests("/oauth2/"))
}
