package powerbi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// operation is one service method, exercised with every swagger example of its operation.
type operation struct {
	id     string // swagger operationId = testdata/examples/<id>.json
	method string
	path   func(e example) string // expected escaped path after /v1.0/myorg/
	call   func(ctx context.Context, c *Client, e example, body []byte) (any, error)
}

func v1Request(t *testing.T, body []byte) GenerateTokenRequest {
	var r GenerateTokenRequest
	require.NoError(t, json.Unmarshal(body, &r))
	return r
}

func operations(t *testing.T) []operation {
	// One example (Dashboards_GetTileInGroup) omits groupId.
	g := func(e example) string { return firstNonEmpty(e.param("groupId"), groupID) }
	r := func(e example) string { return e.param("reportId") }
	d := func(e example) string { return e.param("dashboardId") }
	ti := func(e example) string { return e.param("tileId") }
	ds := func(e example) string { return e.param("datasetId") }
	return []operation{
		{"Reports_GetReports", "GET", func(e example) string { return "reports" },
			func(ctx context.Context, c *Client, e example, _ []byte) (any, error) {
				return c.Reports.GetReports(ctx)
			}},
		{"Reports_GetReport", "GET", func(e example) string { return "reports/" + r(e) },
			func(ctx context.Context, c *Client, e example, _ []byte) (any, error) {
				return c.Reports.GetReport(ctx, r(e))
			}},
		{"Reports_GetReportsInGroup", "GET", func(e example) string { return "groups/" + g(e) + "/reports" },
			func(ctx context.Context, c *Client, e example, _ []byte) (any, error) {
				return c.Reports.GetReportsInGroup(ctx, g(e))
			}},
		{"Reports_GetReportInGroup", "GET", func(e example) string { return "groups/" + g(e) + "/reports/" + r(e) },
			func(ctx context.Context, c *Client, e example, _ []byte) (any, error) {
				return c.Reports.GetReportInGroup(ctx, g(e), r(e))
			}},
		{"Reports_GenerateTokenInGroup", "POST", func(e example) string { return "groups/" + g(e) + "/reports/" + r(e) + "/GenerateToken" },
			func(ctx context.Context, c *Client, e example, b []byte) (any, error) {
				return c.Reports.GenerateTokenInGroup(ctx, g(e), r(e), v1Request(t, b))
			}},
		{"Reports_GenerateTokenForCreateInGroup", "POST", func(e example) string { return "groups/" + g(e) + "/reports/GenerateToken" },
			func(ctx context.Context, c *Client, e example, b []byte) (any, error) {
				return c.Reports.GenerateTokenForCreateInGroup(ctx, g(e), v1Request(t, b))
			}},
		{"Dashboards_GetDashboards", "GET", func(e example) string { return "dashboards" },
			func(ctx context.Context, c *Client, e example, _ []byte) (any, error) {
				return c.Dashboards.GetDashboards(ctx)
			}},
		{"Dashboards_GetDashboard", "GET", func(e example) string { return "dashboards/" + d(e) },
			func(ctx context.Context, c *Client, e example, _ []byte) (any, error) {
				return c.Dashboards.GetDashboard(ctx, d(e))
			}},
		{"Dashboards_GetDashboardsInGroup", "GET", func(e example) string { return "groups/" + g(e) + "/dashboards" },
			func(ctx context.Context, c *Client, e example, _ []byte) (any, error) {
				return c.Dashboards.GetDashboardsInGroup(ctx, g(e))
			}},
		{"Dashboards_GetDashboardInGroup", "GET", func(e example) string { return "groups/" + g(e) + "/dashboards/" + d(e) },
			func(ctx context.Context, c *Client, e example, _ []byte) (any, error) {
				return c.Dashboards.GetDashboardInGroup(ctx, g(e), d(e))
			}},
		{"Dashboards_GenerateTokenInGroup", "POST", func(e example) string { return "groups/" + g(e) + "/dashboards/" + d(e) + "/GenerateToken" },
			func(ctx context.Context, c *Client, e example, b []byte) (any, error) {
				return c.Dashboards.GenerateTokenInGroup(ctx, g(e), d(e), v1Request(t, b))
			}},
		{"Dashboards_GetTiles", "GET", func(e example) string { return "dashboards/" + d(e) + "/tiles" },
			func(ctx context.Context, c *Client, e example, _ []byte) (any, error) {
				return c.Tiles.GetTiles(ctx, d(e))
			}},
		{"Dashboards_GetTile", "GET", func(e example) string { return "dashboards/" + d(e) + "/tiles/" + ti(e) },
			func(ctx context.Context, c *Client, e example, _ []byte) (any, error) {
				return c.Tiles.GetTile(ctx, d(e), ti(e))
			}},
		{"Dashboards_GetTilesInGroup", "GET", func(e example) string { return "groups/" + g(e) + "/dashboards/" + d(e) + "/tiles" },
			func(ctx context.Context, c *Client, e example, _ []byte) (any, error) {
				return c.Tiles.GetTilesInGroup(ctx, g(e), d(e))
			}},
		{"Dashboards_GetTileInGroup", "GET", func(e example) string { return "groups/" + g(e) + "/dashboards/" + d(e) + "/tiles/" + ti(e) },
			func(ctx context.Context, c *Client, e example, _ []byte) (any, error) {
				return c.Tiles.GetTileInGroup(ctx, g(e), d(e), ti(e))
			}},
		{"Tiles_GenerateTokenInGroup", "POST", func(e example) string {
			return "groups/" + g(e) + "/dashboards/" + d(e) + "/tiles/" + ti(e) + "/GenerateToken"
		},
			func(ctx context.Context, c *Client, e example, b []byte) (any, error) {
				return c.Tiles.GenerateTokenInGroup(ctx, g(e), d(e), ti(e), v1Request(t, b))
			}},
		{"Datasets_GetDatasets", "GET", func(e example) string { return "datasets" },
			func(ctx context.Context, c *Client, e example, _ []byte) (any, error) {
				return c.Datasets.GetDatasets(ctx)
			}},
		{"Datasets_GetDataset", "GET", func(e example) string { return "datasets/" + ds(e) },
			func(ctx context.Context, c *Client, e example, _ []byte) (any, error) {
				return c.Datasets.GetDataset(ctx, ds(e))
			}},
		{"Datasets_GetDatasetsInGroup", "GET", func(e example) string { return "groups/" + g(e) + "/datasets" },
			func(ctx context.Context, c *Client, e example, _ []byte) (any, error) {
				return c.Datasets.GetDatasetsInGroup(ctx, g(e))
			}},
		{"Datasets_GetDatasetInGroup", "GET", func(e example) string { return "groups/" + g(e) + "/datasets/" + ds(e) },
			func(ctx context.Context, c *Client, e example, _ []byte) (any, error) {
				return c.Datasets.GetDatasetInGroup(ctx, g(e), ds(e))
			}},
		{"Datasets_GenerateTokenInGroup", "POST", func(e example) string { return "groups/" + g(e) + "/datasets/" + ds(e) + "/GenerateToken" },
			func(ctx context.Context, c *Client, e example, b []byte) (any, error) {
				return c.Datasets.GenerateTokenInGroup(ctx, g(e), ds(e), v1Request(t, b))
			}},
		{"Groups_GetGroups", "GET", func(e example) string { return "groups" },
			func(ctx context.Context, c *Client, e example, _ []byte) (any, error) {
				filter, err := url.PathUnescape(e.param("$filter")) // the example is already escaped
				require.NoError(t, err)
				return c.Groups.GetGroups(ctx, &GetGroupsOptions{Filter: filter})
			}},
		{"Groups_GetGroup", "GET", func(e example) string { return "groups/" + g(e) },
			func(ctx context.Context, c *Client, e example, _ []byte) (any, error) {
				return c.Groups.GetGroup(ctx, g(e))
			}},
		{"EmbedToken_GenerateToken", "POST", func(e example) string { return "GenerateToken" },
			func(ctx context.Context, c *Client, e example, b []byte) (any, error) {
				var req GenerateTokenRequestV2
				require.NoError(t, json.Unmarshal(b, &req))
				return c.EmbedToken.GenerateToken(ctx, req)
			}},
	}
}

// TestServiceMethodsAgainstSwaggerExamples runs every service method with every
// swagger example of its operation: it checks the method, the exact escaped
// path, the bearer token, the JSON body, and that the example response decodes
// with no field lost.
func TestServiceMethodsAgainstSwaggerExamples(t *testing.T) {
	ops := operations(t)
	require.Len(t, ops, 24, "one entry per service method in DESIGN.md")
	for _, op := range ops {
		for name, ex := range loadExamples(t, op.id) {
			t.Run(op.id+"/"+name, func(t *testing.T) {
				t.Parallel()
				c, mt := mockClient(t, nil)
				var reqBody []byte
				if raw := ex.Parameters["requestParameters"]; raw != nil {
					// The swagger sends allowSaveAs as the string "true" in one example; the schema says boolean.
					reqBody = []byte(strings.ReplaceAll(string(raw), `"allowSaveAs": "true"`, `"allowSaveAs": true`))
				}
				respBody := ex.body(t, "200")
				var seen *http.Request
				var sentBody []byte
				mt.RegisterNoResponder(func(req *http.Request) (*http.Response, error) {
					seen = req
					if req.Body != nil {
						sentBody, _ = io.ReadAll(req.Body)
					}
					resp := httpmock.NewBytesResponse(200, respBody)
					resp.Header.Set("Content-Type", "application/json; charset=utf-8")
					resp.Header.Set("RequestId", "req-1")
					return resp, nil
				})

				got, err := op.call(context.Background(), c, ex, reqBody)
				require.NoError(t, err)
				require.NotNil(t, seen)
				assert.Equal(t, op.method, seen.Method)
				assert.Equal(t, "/v1.0/myorg/"+op.path(ex), seen.URL.EscapedPath())
				assert.Equal(t, "api.powerbi.com", seen.URL.Host)
				assert.Equal(t, "Bearer "+testToken, seen.Header.Get("Authorization"))
				assert.Equal(t, 1, mt.GetTotalCallCount())
				if reqBody != nil {
					var want any
					require.NoError(t, json.Unmarshal(reqBody, &want))
					wantJSON, _ := json.Marshal(dropZero(want))
					assert.JSONEq(t, string(wantJSON), string(sentBody))
					assert.Equal(t, "application/json; charset=utf-8", seen.Header.Get("Content-Type"))
				} else {
					assert.Empty(t, sentBody)
				}
				if f := ex.param("$filter"); f != "" {
					assert.True(t, strings.HasPrefix(seen.URL.RawQuery, "$filter="), "literal $ in %q", seen.URL.RawQuery)
					want, _ := url.PathUnescape(f)
					assert.Equal(t, want, seen.URL.Query().Get("$filter"))
				}

				// Lists come back as slices; compare them inside the OData envelope.
				switch v := got.(type) {
				case []Report:
					assertCovers(t, respBody, list[Report]{Value: v})
				case []Dashboard:
					assertCovers(t, respBody, list[Dashboard]{Value: v})
				case []Tile:
					assertCovers(t, respBody, list[Tile]{Value: v})
				case []Dataset:
					assertCovers(t, respBody, list[Dataset]{Value: v})
				case []Group:
					assertCovers(t, respBody, list[Group]{Value: v})
				case *EmbedToken:
					require.NotNil(t, v)
					assert.NotEmpty(t, v.Token)
					assert.False(t, v.Expiration.IsZero())
					assertCovers(t, respBody, v)
				default:
					assertCovers(t, respBody, got)
				}
			})
		}
	}
}

func TestGetGroupsQuery(t *testing.T) {
	c, mt := mockClient(t, nil)
	var raw string
	mt.RegisterNoResponder(func(req *http.Request) (*http.Response, error) {
		raw = req.URL.RawQuery
		return httpmock.NewStringResponse(200, `{"value":[]}`), nil
	})
	groups, err := c.Groups.GetGroups(context.Background(), &GetGroupsOptions{Filter: "name eq 'a+b'", Top: 10, Skip: 20})
	require.NoError(t, err)
	assert.NotNil(t, groups, "an empty list is an empty slice, not nil")
	assert.Empty(t, groups)
	assert.Equal(t, "$filter=name%20eq%20%27a%2Bb%27&$top=10&$skip=20", raw)

	_, err = c.Groups.GetGroups(context.Background(), &GetGroupsOptions{Top: -1})
	assert.ErrorIs(t, err, ErrInvalidArgument)
	assert.Equal(t, 1, mt.GetTotalCallCount())
}

// GetGroupsIter pages by 1,000 until a page comes back short; Top caps the
// total it yields, as it caps the one page GetGroups returns.
func TestGetGroupsIterPages(t *testing.T) {
	c, mt := mockClient(t, nil)
	const total = 2500
	var queries []string
	mt.RegisterNoResponder(func(req *http.Request) (*http.Response, error) {
		queries = append(queries, req.URL.RawQuery)
		q := req.URL.Query()
		top, _ := strconv.Atoi(q.Get("$top"))
		skip, _ := strconv.Atoi(q.Get("$skip"))
		page := []Group{}
		for i := skip; i < total && i < skip+top; i++ {
			page = append(page, Group{ID: guidN(i), Name: fmt.Sprint("ws", i)})
		}
		return httpmock.NewJsonResponse(200, map[string]any{"value": page})
	})
	collect := func(opts *GetGroupsOptions) []string {
		queries = nil
		var names []string
		for g, err := range c.Groups.GetGroupsIter(context.Background(), opts) {
			require.NoError(t, err)
			names = append(names, g.Name)
		}
		return names
	}
	names := collect(&GetGroupsOptions{Filter: "x"})
	assert.Len(t, names, total)
	assert.Equal(t, "ws0", names[0])
	assert.Equal(t, "ws2499", names[total-1])
	assert.Equal(t, []string{"$filter=x&$top=1000", "$filter=x&$top=1000&$skip=1000", "$filter=x&$top=1000&$skip=2000"}, queries)

	assert.Equal(t, []string{"ws0", "ws1", "ws2"}, collect(&GetGroupsOptions{Top: 3}), "Top caps the total")
	assert.Equal(t, []string{"$top=3"}, queries)
	assert.Len(t, collect(&GetGroupsOptions{Top: 1500, Skip: 10}), 1500)
	assert.Equal(t, []string{"$top=1000&$skip=10", "$top=500&$skip=1010"}, queries)

	// Breaking out early sends no further request.
	queries = nil
	for range c.Groups.GetGroupsIter(context.Background(), nil) {
		break
	}
	assert.Len(t, queries, 1)

	// An error is yielded once and ends the iteration.
	mt.RegisterNoResponder(httpmock.NewStringResponder(404, `{"error":{"code":"PowerBIEntityNotFound"}}`))
	var errs int
	for _, err := range c.Groups.GetGroupsIter(context.Background(), nil) {
		require.ErrorIs(t, err, ErrNotFound)
		errs++
	}
	assert.Equal(t, 1, errs)
	for _, err := range c.Groups.GetGroupsIter(context.Background(), &GetGroupsOptions{Top: -1}) {
		require.ErrorIs(t, err, ErrInvalidArgument)
	}
}

func guidN(i int) string { return fmt.Sprintf("00000000-0000-0000-0000-%012d", i) }

func TestProfileHeader(t *testing.T) {
	const clientProfile = "11111111-1111-1111-1111-111111111111"
	const callProfile = "22222222-2222-2222-2222-222222222222"
	c, mt := mockClient(t, nil, WithProfileID(clientProfile))
	var got []string
	mt.RegisterNoResponder(func(req *http.Request) (*http.Response, error) {
		got = append(got, req.Header.Get("X-PowerBI-Profile-Id"))
		return httpmock.NewStringResponse(200, `{"value":[]}`), nil
	})
	ctx := context.Background()
	_, err := c.Reports.GetReports(ctx)
	require.NoError(t, err)
	_, err = c.Reports.GetReports(ContextWithProfileID(ctx, callProfile))
	require.NoError(t, err)
	_, err = c.Reports.GetReports(ContextWithProfileID(ctx, ""))
	require.NoError(t, err)
	assert.Equal(t, []string{clientProfile, callProfile, ""}, got)

	_, err = c.Reports.GetReports(ContextWithProfileID(ctx, "not-a-guid"))
	assert.ErrorIs(t, err, ErrInvalidArgument)
	assert.Len(t, got, 3, "an invalid profile ID sends nothing")

	_, err = NewClient(StaticToken("x"), WithProfileID("nope"))
	assert.ErrorIs(t, err, ErrInvalidArgument)
}

func TestUserAgentAndAccept(t *testing.T) {
	c, mt := mockClient(t, nil, WithUserAgent("myapp/1.2"))
	var ua, accept string
	mt.RegisterNoResponder(func(req *http.Request) (*http.Response, error) {
		ua, accept = req.Header.Get("User-Agent"), req.Header.Get("Accept")
		return httpmock.NewStringResponse(200, `{"value":[]}`), nil
	})
	_, err := c.Reports.GetReports(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "myapp/1.2 gopowerbi/"+Version, ua)
	assert.Equal(t, "application/json", accept)
}
