package powerbi

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const cloneJSON = `{"id":"` + reportID + `","name":"copy"}`

// A POST that creates something (CloneReportInGroup) is sent again after a
// 429, which the service answers before doing anything, but never after a
// 5xx, which may come after the work was done: users report duplicate
// imports after a 500.
func TestRetrySafetyCreateCall(t *testing.T) {
	clone := func(c *Client) error {
		_, err := c.Reports.CloneReportInGroup(context.Background(), groupID, reportID, CloneReportRequest{Name: "copy"})
		return err
	}
	for _, tc := range []struct {
		status   int
		requests int
		ok       bool
	}{
		{http.StatusTooManyRequests, 2, true},
		{http.StatusServiceUnavailable, 1, false},
		{http.StatusInternalServerError, 1, false},
		{http.StatusBadGateway, 1, false},
		{http.StatusGatewayTimeout, 1, false},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			api := newFakeAPI(t, sequence(respond(tc.status, "", "Retry-After", "0"), respond(200, cloneJSON)))
			err := clone(api.client(t, nil))
			assert.EqualValues(t, tc.requests, api.requests.Load())
			if tc.ok {
				assert.NoError(t, err)
				return
			}
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tc.status, apiErr.StatusCode)
		})
	}
	t.Run("connection closed after the request was sent", func(t *testing.T) {
		api := newFakeAPI(t, sequence(hangUp, respond(200, cloneJSON)))
		require.Error(t, clone(api.client(t, nil)))
		assert.EqualValues(t, 1, api.requests.Load(), "the service may have the request: not sent again")
	})
	t.Run("response cut short", func(t *testing.T) {
		api := newFakeAPI(t, sequence(truncated, respond(200, cloneJSON)))
		err := clone(api.client(t, nil))
		require.ErrorIs(t, err, ErrUnexpectedResponse)
		assert.EqualValues(t, 1, api.requests.Load())
	})
	t.Run("failure before anything was sent", func(t *testing.T) {
		var attempts atomic.Int64
		dialFails := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if attempts.Add(1) == 1 {
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
			}
			return httpmock.NewStringResponse(200, cloneJSON), nil
		})
		c, err := NewClient(expiringToken(testToken, time.Hour), WithHTTPClient(&http.Client{Transport: dialFails}), WithRetryPolicy(fastRetry))
		require.NoError(t, err)
		require.NoError(t, clone(c))
		assert.EqualValues(t, 2, attempts.Load(), "nothing reached the service: sent again")
	})
}

// Calls that are safe to repeat (a GET, GenerateToken, a POST that only
// reads) are retried after a 5xx and a cut response, as before.
func TestRetrySafetyIdempotentCalls(t *testing.T) {
	for name, call := range map[string]func(*Client) error{
		"GET": func(c *Client) error {
			_, err := c.Reports.GetReportInGroup(context.Background(), groupID, reportID)
			return err
		},
		"GenerateToken": func(c *Client) error { _, err := genToken(c); return err },
		"ExecuteQueries": func(c *Client) error {
			_, err := c.Datasets.ExecuteQueriesInGroup(context.Background(), groupID, datasetID, DatasetExecuteQueriesRequest{})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			ok := `{"id":"` + reportID + `","token":"t","tokenId":"x","expiration":"2030-01-01T00:00:00Z","results":[]}`
			api := newFakeAPI(t, sequence(respond(503, ""), truncated, respond(500, ""), respond(200, ok)))
			require.NoError(t, call(api.client(t, nil)))
			assert.EqualValues(t, 4, api.requests.Load())
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// patternReader is size bytes of a repeating pattern, made on the fly.
type patternReader struct{ left int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.left <= 0 {
		return 0, io.EOF
	}
	n := min(int64(len(b)), p.left)
	for i := range b[:n] {
		b[i] = byte(i % 251)
	}
	p.left -= n
	return int(n), nil
}

// A download (ExportReportInGroup, 150 MB) is streamed to the caller: the
// heap does not grow with the file, and it is not capped like a JSON body.
func TestDownloadStreamsWithFlatMemory(t *testing.T) {
	const size = 150 << 20
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("Content-Disposition", `attachment; filename="Sales.pbix"`)
		w.Header().Set("Content-Length", fmt.Sprint(size))
		_, _ = io.Copy(w, &patternReader{left: size})
	})
	c := api.client(t, nil)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	f, err := c.Reports.ExportReportInGroup(context.Background(), groupID, reportID, nil)
	require.NoError(t, err)
	assert.Equal(t, "Sales.pbix", f.Name)
	assert.Equal(t, "application/zip", f.ContentType)
	assert.EqualValues(t, size, f.ContentLength)

	peak := before.HeapAlloc
	h := sha256.New()
	buf := make([]byte, 64<<10)
	var n int64
	for {
		k, err := f.Body.Read(buf)
		h.Write(buf[:k])
		n += int64(k)
		if n%(8<<20) < int64(k) {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
		}
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
	}
	require.NoError(t, f.Body.Close())
	want := sha256.New()
	_, _ = io.Copy(want, &patternReader{left: size})
	assert.EqualValues(t, size, n)
	assert.Equal(t, want.Sum(nil), h.Sum(nil), "every byte arrived")
	growth := int64(peak) - int64(before.HeapAlloc)
	t.Logf("downloaded %d MB; heap grew by at most %.1f MB", size>>20, float64(growth)/(1<<20))
	assert.Less(t, growth, int64(16<<20), "the file was not held in memory")
}

// Client.Do sends any request under the API root through the same path:
// authentication, retries, typed errors, the response's headers.
func TestClientDo(t *testing.T) {
	var got []*http.Request
	var bodies []string
	var gets int
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r)
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		if r.Method == http.MethodGet {
			gets++
		}
		switch {
		case r.URL.Path == "/v1.0/myorg/groups/"+groupID+"/newThing" && r.Method == http.MethodGet && gets == 1:
			respond(503, "")(w, r)
		case r.URL.Path == "/v1.0/myorg/missing":
			respond(404, `{"error":{"code":"PowerBIEntityNotFound"}}`, "RequestId", "rid-1")(w, r)
		default:
			respond(200, `{"value":[{"id":"a"}]}`, "X-Ms-Request-Id", "req-9")(w, r)
		}
	})
	c := api.client(t, nil)
	ctx := context.Background()
	var out struct {
		Value []struct{ ID string } `json:"value"`
	}
	h, err := c.Do(ctx, &Request{Method: http.MethodGet, Path: "groups/" + groupID + "/newThing", Query: url.Values{"$top": {"5"}, "kind": {"a b"}}}, &out)
	require.NoError(t, err)
	assert.Equal(t, "a", out.Value[0].ID)
	assert.Equal(t, "req-9", h.Get("X-Ms-Request-Id"))
	require.Len(t, got, 2, "a GET is retried after a 503")
	assert.Equal(t, "$top=5&kind=a%20b", got[1].URL.RawQuery)
	assert.Equal(t, "Bearer "+testToken, got[1].Header.Get("Authorization"))

	got = nil
	_, err = c.Do(ctx, &Request{Method: http.MethodPost, Path: "groups/" + groupID + "/newThing", Body: map[string]int{"n": 1}, Header: http.Header{"X-Extra": {"1"}}}, nil)
	require.NoError(t, err)
	assert.Equal(t, `{"n":1}`, bodies[len(bodies)-1])
	assert.Equal(t, "1", got[0].Header.Get("X-Extra"))
	assert.Equal(t, "application/json; charset=utf-8", got[0].Header.Get("Content-Type"))

	_, err = c.Do(ctx, &Request{Method: http.MethodGet, Path: "missing"}, nil)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "rid-1", apiErr.RequestID)
	assert.ErrorIs(t, err, ErrNotFound)

	before := api.requests.Load()
	for _, bad := range []*Request{
		nil,
		{Method: "TRACE", Path: "groups"},
		{Method: http.MethodGet, Path: ""},
		{Method: http.MethodGet, Path: "/v1.0/myorg/groups"},
		{Method: http.MethodGet, Path: "https://evil.example/x"},
		{Method: http.MethodGet, Path: "groups/../../admin"},
		{Method: http.MethodGet, Path: "groups/%2e%2e/admin"},
		{Method: http.MethodGet, Path: "groups?$top=1"},
		{Method: http.MethodGet, Path: "groups#x"},
		{Method: http.MethodGet, Path: "groups/a b"},
	} {
		_, err := c.Do(ctx, bad, nil)
		assert.ErrorIs(t, err, ErrInvalidArgument, "%+v", bad)
	}
	assert.Equal(t, before, api.requests.Load(), "nothing sent for a bad request")
	assert.True(t, strings.HasSuffix(got[0].URL.Path, "/newThing"))
}

// readBody takes a body at its word only to size its buffer: a body cut
// short is an error, a longer one is read on, a claimed size past the cap
// does not allocate it, and the cap holds whatever the headers say.
func TestReadBody(t *testing.T) {
	for _, tc := range []struct {
		name        string
		body        string
		limit, size int64
		want        string
		err         error
	}{
		{"exact", "hello", 100, 5, "hello", nil},
		{"unknown length", "hello", 100, -1, "hello", nil},
		{"length 0 from a custom transport", "hello", 100, 0, "hello", nil},
		{"more than it said", "hello world", 100, 5, "hello world", nil},
		{"cut short", "hel", 100, 5, "", io.ErrUnexpectedEOF},
		{"over the cap", strings.Repeat("x", 101), 100, -1, "", errBodyTooLarge},
		{"over the cap, understated", strings.Repeat("x", 101), 100, 5, "", errBodyTooLarge},
		{"claims more than the cap", "tiny", 100, 1 << 30, "tiny", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readBody(strings.NewReader(tc.body), tc.limit, tc.size)
			if tc.err != nil {
				assert.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(got))
		})
	}
}
