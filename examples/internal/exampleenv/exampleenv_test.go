package exampleenv

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func TestLoadRefusesIncompleteEnvironments(t *testing.T) {
	base := map[string]string{"POWERBI_TENANT_ID": "t", "POWERBI_CLIENT_ID": "c", "POWERBI_GROUP_ID": "g"}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for bk, bv := range base {
			m[bk] = bv
		}
		return m
	}
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"missing IDs":   {map[string]string{"POWERBI_REPORT_ID": "r"}, "POWERBI_TENANT_ID, POWERBI_CLIENT_ID, POWERBI_GROUP_ID missing"},
		"no credential": {base, "no credential"},
		"unknown cloud": {with("POWERBI_CLOUD", "Germany"), `unknown cloud "Germany"`},
		"no such file":  {with("POWERBI_CERTIFICATE", "/nonexistent.pem"), "POWERBI_CERTIFICATE"},
	} {
		_, err := Load(env(tc.env))
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), tc.want, name)
	}
}

func TestLoadRealWithSecret(t *testing.T) {
	s, err := Load(env(map[string]string{"POWERBI_TENANT_ID": "72f988bf-86f1-41af-91ab-2d7cd011db47", "POWERBI_CLIENT_ID": "0d9b3c1e-35a4-4c6c-9b53-1e2c4f5a6b7c",
		"POWERBI_GROUP_ID": "g", "POWERBI_CLIENT_SECRET": "s", "POWERBI_CLOUD": "usgovhigh"}))
	require.NoError(t, err)
	defer s.Close()
	assert.Nil(t, s.Fake)
	assert.Equal(t, "USGovHigh", s.Cloud.Name)
	assert.Contains(t, s.Describe, "client secret")
}

func TestLoadFake(t *testing.T) {
	s, err := Load(env(nil))
	require.NoError(t, err)
	defer s.Close()
	require.NotNil(t, s.Fake)
	assert.Equal(t, s.Demo.WorkspaceID, s.GroupID)
}
