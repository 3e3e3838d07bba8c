package powerbi

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The methods and model fields of version 0.1 keep their exact signatures,
// types and JSON names (testdata/surface-0.1.txt): programs written against
// them compile and behave the same. New methods and fields may be added.
func TestPublicSurfaceOfVersion01IsKept(t *testing.T) {
	pinned, err := os.ReadFile("testdata/surface-0.1.txt")
	require.NoError(t, err)
	have := map[string]bool{}
	for _, v := range []any{Report{}, Dashboard{}, Tile{}, Dataset{}, DependentDataflow{}, Encryption{}, DatasetQueryScaleOutSettings{},
		Group{}, AzureResource{}, User{}, ServicePrincipalProfile{}, ReportUser{}, DashboardUser{}, DatasetUser{}, Subscription{},
		SubscriptionUser{}, GenerateTokenRequest{}, EffectiveIdentity{}, IdentityBlob{}, GenerateTokenRequestV2{},
		GenerateTokenRequestV2Dataset{}, GenerateTokenRequestV2Report{}, GenerateTokenRequestV2TargetWorkspace{},
		DatasourceIdentity{}, DatasourceSelector{}, DatasourceConnectionDetails{}, EmbedToken{}, GetGroupsOptions{}} {
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			f := rt.Field(i)
			have[fmt.Sprintf("%s.%s %s %s", rt.Name(), f.Name, f.Type, f.Tag.Get("json"))] = true
		}
	}
	c, err := NewClient(StaticToken("t"))
	require.NoError(t, err)
	for _, s := range []any{c.Reports, c.Dashboards, c.Tiles, c.Datasets, c.Groups, c.EmbedToken} {
		rt := reflect.TypeOf(s)
		for i := range rt.NumMethod() {
			m := rt.Method(i)
			have[fmt.Sprintf("%s.%s %s", rt.Elem().Name(), m.Name, strings.Replace(m.Type.String(), "func("+rt.String()+", ", "func(", 1))] = true
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(string(pinned)), "\n") {
		assert.True(t, have[line], "changed or gone: %s", line)
	}
	// The constants of 0.1.
	assert.Equal(t, ReportType("PowerBIReport"), ReportTypePowerBI)
	assert.Equal(t, ReportType("PaginatedReport"), ReportTypePaginated)
	assert.Equal(t, TokenAccessLevel("Create"), TokenAccessLevelCreate)
	assert.Equal(t, XmlaPermissions("ReadOnly"), XmlaPermissionsReadOnly)
	assert.Equal(t, PrincipalType("App"), PrincipalTypeApp)
}
