package powerbi_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopowerbi/powerbi"
)

// Multi-tenancy with service principal profiles, end to end on the fake: a
// workspace a profile creates, and what it imports there, are the profile's
// alone; neither its service principal nor another profile sees them.
func TestProfilesKeepTheirItemsApart(t *testing.T) {
	e := newE2E(t)
	c := e.demoClient(t)
	ctx := context.Background()
	a, err := c.Profiles.CreateProfile(ctx, powerbi.CreateOrUpdateProfileRequest{DisplayName: powerbi.Ptr("Contoso")})
	require.NoError(t, err)
	b, err := c.Profiles.CreateProfile(ctx, powerbi.CreateOrUpdateProfileRequest{DisplayName: powerbi.Ptr("Fabrikam")})
	require.NoError(t, err)
	profiles, err := c.Profiles.GetProfiles(ctx, nil)
	require.NoError(t, err)
	assert.Len(t, profiles, 2)

	asA, asB := powerbi.ContextWithProfileID(ctx, a.ID), powerbi.ContextWithProfileID(ctx, b.ID)
	ws, err := c.Groups.CreateGroup(asA, powerbi.GroupCreationRequest{Name: "Contoso analytics"}, nil)
	require.NoError(t, err)
	p, err := c.Imports.BeginPostImportInGroup(asA, ws.ID, "Contoso sales.pbix", bytes.NewReader(pbix(1000)), nil)
	require.NoError(t, err)
	im, err := p.Wait(asA, fastImportPolls)
	require.NoError(t, err)

	reports, err := c.Reports.GetReportsInGroup(asA, ws.ID)
	require.NoError(t, err)
	require.Len(t, reports, 1)
	assert.Equal(t, im.Reports[0].ID, reports[0].ID)

	for who, ctx := range map[string]context.Context{"another profile": asB, "the service principal": ctx} {
		groups, err := c.Groups.GetGroups(ctx, nil)
		require.NoError(t, err)
		for _, g := range groups {
			assert.NotEqual(t, ws.ID, g.ID, "%s does not see the profile's workspace", who)
		}
		_, err = c.Reports.GetReportsInGroup(ctx, ws.ID)
		assert.ErrorIs(t, err, powerbi.ErrUnauthorized, who)
	}
	_, err = c.Profiles.CreateProfile(ctx, powerbi.CreateOrUpdateProfileRequest{DisplayName: powerbi.Ptr("Contoso")})
	var apiErr *powerbi.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 409, apiErr.StatusCode, "display names are unique per service principal")
}
