package powerbi

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
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

// fakeAPI is a loopback TLS server that counts requests and connections: the
// one fake server of the tests where real connections matter (timeouts, TLS,
// connection reuse, redirects, the token endpoint, benchmarks). httpmock
// (mockClient) serves canned answers, powerbitest whole flows.
type fakeAPI struct {
	srv      *httptest.Server
	requests atomic.Int64
	conns    atomic.Int64 // connections opened
	closed   atomic.Int64 // connections closed while the server runs
}

func newFakeAPI(t testing.TB, h http.HandlerFunc) *fakeAPI {
	t.Helper()
	f := &fakeAPI{}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		h(w, r)
	}))
	f.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			f.conns.Add(1)
		case http.StateClosed, http.StateHijacked:
			f.closed.Add(1)
		}
	}
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes cut short when a test closes its connections
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) client(t testing.TB, auth Authenticator, opts ...Option) *Client {
	t.Helper()
	if auth == nil {
		auth = expiringToken(testToken, time.Hour)
	}
	c, err := NewClient(auth, append([]Option{WithBaseURL(f.srv.URL), WithHTTPClient(f.httpClient()), WithRetryPolicy(fastRetry)}, opts...)...)
	require.NoError(t, err)
	return c
}

// httpClient is the SDK's own default transport, trusting the test server's certificate.
func (f *fakeAPI) httpClient() *http.Client { return sdkHTTPClient(f.srv) }

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
