package powerbi

// Performance: the SDK against a hand-tuned net/http GenerateTokenInGroup,
// both on one loopback TLS server with the same canned response. See
// BENCHMARKS.md for the numbers and the command.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const benchEmbedToken = `{"@odata.context":"https://api.powerbi.com/v1.0/myorg/$metadata#Microsoft.PowerBI.ServiceContracts.Api.V1.EmbedToken","token":"H4sIAAAAAAAEAB2Wxa7EWBJE_-VtXZKZWuqFmZlr52tmZo_m36d7tqlcRIYUR3n__bPTZ-jS8uefP8orsrYmIQJQhmzUpNeSpm-9__9aGJAB0ZUOadKqEQh1BaWRWKCMK1SKxZOH9oZZkpEyFMRBwN1FyzHAmtJCRnKNFjQmKlspGEeJyt6ngUGe","tokenId":"49ae3742-54c0-4c29-af52-619ff93b5c80","expiration":"2030-07-29T17:58:19Z"}`

// benchServer is the loopback TLS server both implementations call (a
// fakeAPI, which counts the connections it accepts), answering the same
// canned embed token.
type benchServer struct{ *fakeAPI }

func newBenchServer(tb testing.TB) *benchServer {
	tb.Helper()
	body := []byte(benchEmbedToken)
	return &benchServer{newFakeAPI(tb, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("RequestId", "5d7a2f0c-0000-4000-8000-000000000000")
		_, _ = w.Write(body)
	})}
}

// tunedTransport is what a careful hand-written client would use: one
// Transport, keep-alive, idle connections for 64 callers, the server's CA.
func (s *benchServer) tunedTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = s.srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	tr.MaxIdleConns = 128
	tr.MaxIdleConnsPerHost = 64
	tr.MaxConnsPerHost = 64
	return tr
}

// rawClient is the physical limit: GenerateTokenInGroup by hand with net/http.
type rawClient struct {
	hc    *http.Client
	base  string
	token string
}

func (r *rawClient) generateTokenInGroup(ctx context.Context, groupID, reportID string, req GenerateTokenRequest) (*EmbedToken, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, r.base+"/v1.0/myorg/groups/"+groupID+"/reports/"+reportID+"/GenerateToken", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Authorization", "Bearer "+r.token)
	hreq.Header.Set("Content-Type", "application/json; charset=utf-8")
	hreq.Header.Set("Accept", "application/json")
	resp, err := r.hc.Do(hreq)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	var t EmbedToken
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return &t, nil
}

type generateFunc func(ctx context.Context) (*EmbedToken, error)

var benchRequest = GenerateTokenRequest{AccessLevel: TokenAccessLevelView}

func (s *benchServer) raw() (generateFunc, func()) {
	tr := s.tunedTransport()
	r := &rawClient{hc: &http.Client{Transport: tr}, base: s.srv.URL, token: testToken}
	return func(ctx context.Context) (*EmbedToken, error) {
		return r.generateTokenInGroup(ctx, groupID, reportID, benchRequest)
	}, tr.CloseIdleConnections
}

func (s *benchServer) sdk(tb testing.TB) (generateFunc, func()) {
	c, err := NewClient(expiringToken(testToken, time.Hour), WithBaseURL(s.srv.URL), WithHTTPClient(sdkHTTPClient(s.srv)))
	require.NoError(tb, err)
	return func(ctx context.Context) (*EmbedToken, error) {
		return c.Reports.GenerateTokenInGroup(ctx, groupID, reportID, benchRequest)
	}, c.CloseIdleConnections
}

// BenchmarkGenerateTokenInGroup compares impl=raw and impl=sdk with 1 and 64
// concurrent callers. "conns" is the number of TCP connections the server
// accepted during the run (each run starts with a new client).
//
//	go test -run '^$' -bench GenerateTokenInGroup -benchmem -count=10 . | tee new.txt
//	benchstat -col /impl new.txt
func BenchmarkGenerateTokenInGroup(b *testing.B) {
	s := newBenchServer(b)
	impls := []struct {
		name string
		make func() (generateFunc, func())
	}{
		{"raw", s.raw},
		{"sdk", func() (generateFunc, func()) { return s.sdk(b) }},
	}
	for _, callers := range []int{1, 64} {
		for _, impl := range impls {
			b.Run(fmt.Sprintf("callers=%d/impl=%s", callers, impl.name), func(b *testing.B) {
				generate, closeIdle := impl.make()
				defer closeIdle()
				ctx := context.Background()
				before := s.conns.Load()
				b.ReportAllocs()
				b.ResetTimer()
				if callers == 1 {
					for range b.N {
						if _, err := generate(ctx); err != nil {
							b.Fatal(err)
						}
					}
				} else {
					b.SetParallelism((callers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if _, err := generate(ctx); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				b.StopTimer()
				b.ReportMetric(float64(s.conns.Load()-before), "conns")
			})
		}
	}
}

// BenchmarkTokenCacheHit is the access token cache's hot path: a cached, fresh token.
func BenchmarkTokenCacheHit(b *testing.B) {
	c := newTokenCache(expiringToken(testToken, time.Hour), nil)
	ctx := context.Background()
	_, err := c.token(ctx, defaultMinLifetime)
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.token(ctx, defaultMinLifetime); err != nil {
			b.Fatal(err)
		}
	}
}

// Not a timing: 10,000 goroutines calling GenerateTokenInGroup on a cold
// token cache cause exactly one token request, and every call succeeds.
func TestColdCacheOneTokenRequestThroughClient(t *testing.T) {
	s := newBenchServer(t)
	auth := &countingAuth{life: time.Hour, delay: 20 * time.Millisecond}
	c, err := NewClient(auth, WithBaseURL(s.srv.URL), WithHTTPClient(sdkHTTPClient(s.srv)))
	require.NoError(t, err)
	defer c.CloseIdleConnections()

	failures := concurrently(10000, 1, func() error {
		_, err := c.Reports.GenerateTokenInGroup(context.Background(), groupID, reportID, benchRequest)
		return err
	})
	assert.Zero(t, failures)
	assert.EqualValues(t, 1, auth.calls.Load(), "10,000 goroutines, one token request")
	assert.LessOrEqual(t, s.conns.Load(), int64(64), "never more connections than MaxConnsPerHost")
}

// Not a timing: 64 concurrent callers × 1,000 calls open at most 64 connections.
func TestConnectionsOpenedAtMostConcurrency(t *testing.T) {
	s := newBenchServer(t)
	generate, closeIdle := s.sdk(t)
	defer closeIdle()
	failures := concurrently(64, 1000, func() error {
		_, err := generate(context.Background())
		return err
	})
	assert.Zero(t, failures)
	assert.LessOrEqual(t, s.conns.Load(), int64(64), "64 callers × 1,000 calls")
	assert.Positive(t, s.conns.Load())
}
