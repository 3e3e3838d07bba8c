package main

// The browser test: headless Chromium loads the page against the fake and
// checks that powerbi-client accepted the configuration and that the page
// swaps in a new token with setAccessToken before the old one expires.

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopowerbi/powerbi/examples/internal/exampleenv"
	"github.com/gopowerbi/powerbi/powerbitest"
)

// chromium finds the browser. Outside CI a missing browser skips the test;
// in CI (CI=true) it is a failure, since .ci/run installs it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("Chromium is not installed; .ci/run installs the Debian package chromium")
	}
	t.Skip("Chromium not installed (apt-get install chromium); the browser test needs it")
	return ""
}

// newTestApp serves the app on the fake, with one-minute embed tokens that
// the page refreshes 55 s before they expire: a refresh 5 s after loading.
func newTestApp(t *testing.T) (*httptest.Server, *exampleenv.Setup) {
	t.Helper()
	setup, err := exampleenv.Load(func(string) string { return "" }, powerbitest.WithRealClock())
	require.NoError(t, err)
	t.Cleanup(setup.Close)
	app, err := NewApp(context.Background(), setup, Config{LifetimeInMinutes: 1, RefreshBefore: 55 * time.Second,
		CacheMargin: 58 * time.Second, NodeModules: "node_modules"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err, "is powerbi-client installed? run npm ci in examples/embed-web")
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	return srv, setup
}

// profileDir is a fresh Chromium profile. Chromium's helper processes may
// still write to it for a moment after the browser exits, so it is removed
// with a few tries rather than with t.TempDir, whose cleanup fails the test.
func profileDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "embed-web-chromium-")
	require.NoError(t, err)
	t.Cleanup(func() {
		for i := 0; i < 20 && os.RemoveAll(dir) != nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	})
	return dir
}

// wrapSetAccessToken records every token the page passes to setAccessToken.
const wrapSetAccessToken = `(() => {
  window.__tokens = [];
  const proto = window["powerbi-client"].Report.prototype;
  const orig = proto.setAccessToken;
  proto.setAccessToken = function (token) { window.__tokens.push(token); return orig.call(this, token); };
  return true;
})()`

func TestBrowserEmbedsAndRefreshes(t *testing.T) {
	browser := chromium(t)
	srv, setup := newTestApp(t)
	demo := setup.Demo

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.NoSandbox,
		chromedp.Flag("headless", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		// The report's iframe points at app.powerbi.com: resolve nothing but loopback.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.UserDataDir(profileDir(t)),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()

	var (
		iframeSrc, firstTokenID, embedError, statusText string
		wrapped                                         bool
	)
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(`#report-container iframe`, chromedp.ByQuery),
		chromedp.Evaluate(wrapSetAccessToken, &wrapped),
		chromedp.AttributeValue(`#report-container iframe`, "src", &iframeSrc, nil, chromedp.ByQuery),
		chromedp.Evaluate(`document.body.dataset.tokenId || ""`, &firstTokenID),
		chromedp.Evaluate(`document.body.dataset.embedError || ""`, &embedError),
	))
	require.True(t, wrapped)
	assert.Empty(t, embedError, "powerbi.embed accepted the configuration")

	// The page embeds the workspace's first report.
	reports, err := setup.Client.Reports.GetReportsInGroup(context.Background(), demo.WorkspaceID)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(iframeSrc, reports[0].EmbedURL), "the iframe loads the REST API's embedUrl: %s", iframeSrc)
	require.NotEmpty(t, firstTokenID)

	// Wait for the page's refresh (about 5 s after loading).
	var tokens []string
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Poll(`window.__tokens.length > 0`, nil, chromedp.WithPollingTimeout(30*time.Second)),
		chromedp.Evaluate(`window.__tokens`, &tokens),
		chromedp.Text(`#status`, &statusText, chromedp.ByID),
	))
	require.NotEmpty(t, tokens)
	info, ok := setup.Fake.LookupEmbedToken(tokens[0])
	require.True(t, ok, "setAccessToken got a token the fake issued")
	assert.NotEqual(t, firstTokenID, info.TokenID, "a new token, not the first one back")
	assert.Equal(t, []string{reports[0].ID}, info.ReportIDs)
	assert.Contains(t, statusText, "refreshed 1 time")
	assert.Contains(t, statusText, info.TokenID)

	var screenshot []byte
	require.NoError(t, chromedp.Run(ctx, chromedp.FullScreenshot(&screenshot, 100)))
	require.NoError(t, os.MkdirAll("testdata", 0o755))
	require.NoError(t, os.WriteFile(filepath.Join("testdata", "screenshot.png"), screenshot, 0o644))
	t.Logf("screenshot: testdata/screenshot.png (%d bytes)", len(screenshot))
}

// The page and the API send the headers that keep tokens out of caches and
// scripts out of the page.
func TestSecurityHeadersAndNoTokenInURLs(t *testing.T) {
	srv, setup := newTestApp(t)
	resp, err := srv.Client().Get(srv.URL + "/")
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "frame-src https://app.powerbi.com", "default-src 'none'", "frame-ancestors 'none'"} {
		assert.Contains(t, csp, want)
	}
	assert.NotContains(t, csp, "unsafe-inline")
	assert.NotContains(t, string(page), "<script>", "no inline script")

	resp, err = srv.Client().Get(srv.URL + "/api/embed/" + setup.Demo.ReportID)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	var conf map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&conf))
	assert.EqualValues(t, 1, conf["tokenType"])
	for _, r := range setup.Fake.Requests() {
		assert.NotContains(t, r.Query, conf["accessToken"])
	}

	resp, err = srv.Client().Get(srv.URL + "/api/embed/not-a-report")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 404, resp.StatusCode)
}
