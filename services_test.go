package powerbi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// operation is one service method, exercised with every swagger example of its operation.
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
