package powerbi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/require"
)

const (
	testToken = "test-access-token"
	groupID   = "f089354e-8366-4e18-aea3-4cb4a3a50b48"
	reportID  = "5b218778-e7a5-4d73-8187-f10824047715"
)

// fastRetry keeps retry tests quick while still going through the backoff.
var fastRetry = RetryPolicy{MaxRetries: 4, WaitMin: time.Millisecond, WaitMax: 5 * time.Millisecond, MaxRetryAfter: 10 * time.Second}

// mockClient returns a Client whose HTTP goes to a per-test httpmock transport.
func mockClient(t *testing.T, auth Authenticator, opts ...Option) (*Client, *httpmock.MockTransport) {
	t.Helper()
	mt := httpmock.NewMockTransport()
	if auth == nil {
		auth = expiringToken(testToken, time.Hour)
	}
	c, err := NewClient(auth, append([]Option{WithHTTPClient(&http.Client{Transport: mt}), WithRetryPolicy(fastRetry)}, opts...)...)
	require.NoError(t, err)
	return c, mt
}

// expiringToken always returns token, valid for life.
func expiringToken(token string, life time.Duration) Authenticator {
	return AuthenticatorFunc(func(context.Context) (AccessToken, error) {
		return AccessToken{Token: token, ExpiresOn: time.Now().Add(life)}, nil
	})
}

// example is one x-ms-examples entry of a swagger operation.
type example struct {
	Parameters map[string]json.RawMessage `json:"parameters"`
	Responses  map[string]json.RawMessage `json:"responses"`
}

// loadExamples reads testdata/examples/<operationId>.json.
func loadExamples(t *testing.T, operationID string) map[string]example {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "examples", operationID+".json"))
	require.NoError(t, err)
	var f struct {
		Examples map[string]example `json:"x-ms-examples"`
	}
	require.NoError(t, json.Unmarshal(b, &f))
	require.NotEmpty(t, f.Examples)
	return f.Examples
}

// body returns an example response's body, unwrapping {"body": ...} where the
// swagger wraps it (the Groups_GetGroups examples do not).
func (e example) body(t *testing.T, status string) []byte {
	t.Helper()
	raw, ok := e.Responses[status]
	require.True(t, ok, "no %s response", status)
	var wrapped map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &wrapped))
	if b, ok := wrapped["body"]; ok {
		return b
	}
	return raw
}

func (e example) param(name string) string {
	var s string
	_ = json.Unmarshal(e.Parameters[name], &s)
	return s
}

// assertCovers checks that got (any Go value, marshalled) carries every field of
// the example JSON want with the same value. A field got leaves out must be a
// zero value in want (false, 0, "", []): omitempty drops those.
func assertCovers(t *testing.T, want []byte, got any) {
	t.Helper()
	var w any
	require.NoError(t, json.Unmarshal(want, &w))
	gb, err := json.Marshal(got)
	require.NoError(t, err)
	var g any
	require.NoError(t, json.Unmarshal(gb, &g))
	covers(t, "$", w, g)
}

func covers(t *testing.T, at string, want, got any) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, _ := got.(map[string]any)
		for k, wv := range w {
			if k == "@odata.context" {
				continue
			}
			gv, ok := g[k]
			if !ok {
				if !isZeroJSON(wv) {
					t.Errorf("%s.%s: the Go value drops %v", at, k, wv)
				}
				continue
			}
			covers(t, at+"."+k, wv, gv)
		}
	case []any:
		g, _ := got.([]any)
		if len(g) != len(w) {
			t.Errorf("%s: %d items, want %d", at, len(g), len(w))
			return
		}
		for i := range w {
			covers(t, at+"[]", w[i], g[i])
		}
	case string:
		// Timestamps are re-rendered as RFC 3339; compare them as instants.
		if gs, ok := got.(string); ok && gs != w {
			wt, err1 := time.Parse(time.RFC3339Nano, w)
			gt, err2 := time.Parse(time.RFC3339Nano, gs)
			if err1 != nil || err2 != nil || !wt.Equal(gt) {
				t.Errorf("%s: got %q, want %q", at, gs, w)
			}
		} else if !ok {
			t.Errorf("%s: got %v, want %q", at, got, w)
		}
	default:
		if want != got {
			t.Errorf("%s: got %v, want %v", at, got, want)
		}
	}
}

func isZeroJSON(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case float64:
		return x == 0
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	}
	return false
}

// dropZero removes zero values from a JSON object tree, the way omitempty does.
func dropZero(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if isZeroJSON(e) {
				delete(x, k)
			} else {
				x[k] = dropZero(e)
			}
		}
	case []any:
		for i := range x {
			x[i] = dropZero(x[i])
		}
	}
	return v
}

// sdkHTTPClient is the SDK's own default transport, trusting srv's certificate.
func sdkHTTPClient(srv *httptest.Server) *http.Client {
	tr := newDefaultTransport()
	tr.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	return &http.Client{Transport: tr}
}

// concurrently starts n goroutines together, each making calls calls, and
// returns how many calls failed.
func concurrently(n, calls int, call func() error) int64 {
	var wg sync.WaitGroup
	var failures atomic.Int64
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range calls {
				if call() != nil {
					failures.Add(1)
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	return failures.Load()
}
