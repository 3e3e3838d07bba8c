package powerbi_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopowerbi/powerbi"
	"github.com/gopowerbi/powerbi/powerbitest"
)

// TestReadmeHTTPMock is the README's "Mocking with httpmock" example, verbatim.
func TestReadmeHTTPMock(t *testing.T) {
	mock := httpmock.NewMockTransport()
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

// TestReadmeExamplesAreRealCode keeps every Go block of the README's "Testing
// your code" section identical (line by line, indentation aside) to code that
// compiles and runs: the handler, its powerbitest test, a scripted export and
// the httpmock test.
func TestReadmeExamplesAreRealCode(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	section := string(readme)
	start := strings.Index(section, "## Testing your code")
	require.GreaterOrEqual(t, start, 0, "README has a \"Testing your code\" section")
	section = section[start:]
	if end := strings.Index(section[1:], "\n## "); end >= 0 {
		section = section[:end+1]
	}
	var sources []string
	for _, f := range []string{"examples/embedhandler/handler.go", "examples/embedhandler/handler_test.go", "readme_test.go"} {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		sources = append(sources, string(b))
	}
	blocks := strings.Split(section, "```go\n")[1:]
	require.Len(t, blocks, 4, "the handler, its test, a scripted export, and the httpmock test")
	for _, b := range blocks {
		block := b[:strings.Index(b, "```")]
		found := false
		for _, src := range sources {
			found = found || containsLines(src, block)
		}
		assert.True(t, found, "README block not found in the example sources:\n%s", block)
	}
}

// containsLines reports whether the lines of block appear consecutively in
// src, ignoring indentation and blank lines.
func containsLines(src, block string) bool {
	norm := func(s string) []string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				out = append(out, l)
			}
		}
		return out
	}
	s, b := norm(src), norm(block)
	for i := 0; i+len(b) <= len(s); i++ {
		if slices.Equal(s[i:i+len(b)], b) {
			return true
		}
	}
	return false
}

// TestReadmeScriptedExport is the README's example of a test that scripts an
// export on powerbitest, verbatim.
func TestReadmeScriptedExport(t *testing.T) {
	srv := powerbitest.NewServer()
	defer srv.Close()
	demo := srv.SeedDemo()
	srv.SetExports(powerbitest.Exports{Polls: 2, FileSize: 1 << 20}) // done on the second poll; a 1 MiB file
	auth, err := demo.Authenticator(srv)
	require.NoError(t, err)
	client, err := srv.NewClient(auth)
	require.NoError(t, err)
	ctx, fast := context.Background(), &powerbi.WaitOptions[powerbi.Export]{Frequency: time.Millisecond}

	var pdf bytes.Buffer
	st, n, err := client.Reports.ExportToWriterInGroup(ctx, demo.WorkspaceID, demo.ReportID,
		powerbi.ExportReportRequest{Format: powerbi.FileFormatPDF}, &pdf, fast)
	require.NoError(t, err)
	require.Equal(t, powerbi.ExportStateSucceeded, st.Status)
	require.EqualValues(t, 1<<20, n)
	require.True(t, bytes.HasPrefix(pdf.Bytes(), []byte("%PDF-")))

	srv.SetExports(powerbitest.Exports{FailReports: []string{demo.ReportID}}) // the next export fails
	_, _, err = client.Reports.ExportToWriterInGroup(ctx, demo.WorkspaceID, demo.ReportID,
		powerbi.ExportReportRequest{Format: powerbi.FileFormatPDF}, &pdf, fast)
	require.ErrorIs(t, err, powerbi.ErrOperationFailed)
}
