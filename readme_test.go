package powerbi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/require"

	"github.com/gopowerbi/powerbi"
)

// TestReadmeHTTPMock is the README's "Mocking with httpmock" example, verbatim.
func TestReadmeHTTPMock(t *testing.T) {
	mock := httpmock.NewMockTransport() // one per test: safe with t.Parallel()
	mock.RegisterResponder("POST",
		"https://api.powerbi.com/v1.0/myorg/groups/f089354e-8366-4e18-aea3-4cb4a3a50b48/reports/5b218778-e7a5-4d73-8187-f10824047715/GenerateToken",
		httpmock.NewStringResponder(200, `{"token":"H4sI....AAA=","tokenId":"49ae3742-54c0-4c29-af52-619ff93b5c80","expiration":"2030-07-29T17:58:19Z"}`))

	client, err := powerbi.NewClient(powerbi.StaticToken("test-token"),
		powerbi.WithHTTPClient(&http.Client{Transport: mock}))
	require.NoError(t, err)

	tok, err := client.Reports.GenerateTokenInGroup(context.Background(),
		"f089354e-8366-4e18-aea3-4cb4a3a50b48", "5b218778-e7a5-4d73-8187-f10824047715",
		powerbi.GenerateTokenRequest{AccessLevel: powerbi.TokenAccessLevelView})
	require.NoError(t, err)
	require.Equal(t, "H4sI....AAA=", tok.Token)
	require.Equal(t, 1, mock.GetTotalCallCount())
}
