package embedhandler_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gopowerbi/powerbi"
	"github.com/gopowerbi/powerbi/examples/embedhandler"
	"github.com/gopowerbi/powerbi/powerbitest"
)

func TestEmbedHandler(t *testing.T) {
	srv := powerbitest.NewServer() // Power BI and Entra ID, in memory, over TLS
	defer srv.Close()
	demo := srv.SeedDemo() // a tenant, a service principal, a workspace with reports
	auth, err := demo.Authenticator(srv)
	require.NoError(t, err)
	client, err := srv.NewClient(auth)
	require.NoError(t, err)
	h := &embedhandler.Handler{Client: client, GroupID: demo.WorkspaceID}

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/embed/"+demo.ReportID, nil))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var conf powerbi.EmbedConfig
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &conf))
	require.Equal(t, powerbi.TokenTypeEmbed, conf.TokenType)
	issued, ok := srv.LookupEmbedToken(conf.AccessToken) // a token the fake really issued
	require.True(t, ok)
	require.Equal(t, []string{demo.ReportID}, issued.ReportIDs)

	// An unknown report is a 404; a throttled service is retried by the SDK.
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/embed/"+powerbitest.NewGUID(), nil))
	require.Equal(t, http.StatusNotFound, rec.Code)
	srv.InjectFault(powerbitest.Fault{PathContains: "/GenerateToken", Status: 429, RetryAfter: "1"})
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/embed/"+demo.ReportID, nil))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, 3, srv.CountRequests("/GenerateToken"), "the first token, then a 429 and its retry")
}
