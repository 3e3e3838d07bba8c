// Package powerbitest is an in-memory fake of the Power BI REST API and of the
// Entra ID token endpoint, on an httptest TLS server, for unit tests of code
// that uses github.com/gopowerbi/powerbi — no Azure account needed.
//
// The fake issues access tokens to the principals you seed (service principals
// with a secret or a certificate, master users with a password), checks the
// bearer tokens it issued, and enforces the service's rules: workspace
// membership, row-level-security identities required or forbidden by the
// dataset, the V2 limits, and embed tokens that never outlive the access token
// that created them. It answers with the real error shapes and headers
// (RequestId, X-PowerBI-Error-Info), records requests without secrets, injects
// faults on demand, and runs on a clock you control.
//
//	srv := powerbitest.NewServer()
//	defer srv.Close()
//	demo := srv.SeedDemo()
//	auth, err := demo.Authenticator(srv)
//	...
//	client, err := srv.NewClient(auth)
//	...
//	tok, err := client.Reports.GenerateTokenInGroup(ctx, demo.WorkspaceID, demo.ReportID, powerbi.GenerateTokenRequest{})
package powerbitest

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopowerbi/powerbi"
)

// Server is the fake. Create it with NewServer and Close it when done. All
// methods are safe for concurrent use.
type Server struct {
	ts  *httptest.Server
	mux *http.ServeMux

	mu         sync.Mutex
	start      time.Time     // the frozen clock's start (unused with WithRealClock)
	realClock  bool          // with WithRealClock: the clock is the real time plus offset
	offset     time.Duration // what Advance added
	expiresIn  time.Duration
	scope      string
	appHost    string
	tenants    map[string]bool
	apps       map[string]*app  // by client ID
	users      map[string]*user // by username, lower case
	workspaces map[string]*workspace
	order      []string // workspace IDs in creation order
	items      []string // report, dataset and dashboard IDs in creation order
	reports    map[string]*report
	dashboards map[string]*dashboard
	datasets   map[string]*dataset
	profiles   map[string]*profile // by ID
	tokens     map[string]*accessToken
	embeds     []EmbedTokenInfo
	sharedCap  int // embed tokens allowed on shared capacity; 0: unlimited
	sharedUsed int
	faults     []*Fault
	requests   []Request
	requestSeq atomic.Int64
	handlers   map[string]http.HandlerFunc // HandleOperation's, by operation ID

	federatedKey *rsa.PrivateKey // signs FederatedToken's tokens

	exportCfg  Exports
	exports    map[string]*exportJob // by ID, lower case
	refreshCfg Refreshes
	refreshes  []*refreshJob // in the order they started
	imports    []*importJob  // in the order they came
	blobs      map[string]*blob

	scans       map[string]*scanJob
	scanStats   ScanStats
	budgets     map[string][]time.Time // request times per limit and principal, the last hour
	activity    []map[string]any       // audit events, by CreationTime
	activityCfg activityConfig
	daxTables   map[string][]*daxTable // by dataset ID
	daxAnswers  map[string]*daxAnswer  // by dataset ID and query text
	pipelines   map[string]*pipeline
	deployments map[string]*deployment
	rateLimits  map[string]rateLimit // SetRateLimit's, by operation ID
	rateLimited map[string]int       // 429s answered, by operation ID
}

// Option configures NewServer.
type Option func(*Server)

// WithTokenLifetime sets expires_in of the access tokens the fake issues (default 1 hour).
func WithTokenLifetime(d time.Duration) Option { return func(s *Server) { s.expiresIn = d } }

// WithCloud makes the fake expect the scope and embed host of a sovereign cloud.
func WithCloud(c powerbi.Cloud) Option {
	return func(s *Server) { s.scope, s.appHost = c.Scope, c.AppHost }
}

// WithStartTime sets the fake clock's start (default: the real time at NewServer).
func WithStartTime(t time.Time) Option { return func(s *Server) { s.start = t } }

// WithRealClock makes the fake clock follow the real time (Advance still
// moves it ahead), for a fake that runs a demo or a browser test, where
// tokens must expire as time passes.
func WithRealClock() Option { return func(s *Server) { s.realClock = true } }

// NewServer starts the fake on a loopback TLS server.
func NewServer(opts ...Option) *Server {
	s := &Server{
		start:      time.Now().UTC().Truncate(time.Second),
		expiresIn:  time.Hour,
		scope:      powerbi.CloudPublic.Scope,
		appHost:    powerbi.CloudPublic.AppHost,
		tenants:    map[string]bool{},
		apps:       map[string]*app{},
		users:      map[string]*user{},
		workspaces: map[string]*workspace{},
		reports:    map[string]*report{},
		dashboards: map[string]*dashboard{},
		datasets:   map[string]*dataset{},
		profiles:   map[string]*profile{},
		tokens:     map[string]*accessToken{},
		exports:    map[string]*exportJob{},
		blobs:      map[string]*blob{},

		scans:       map[string]*scanJob{},
		budgets:     map[string][]time.Time{},
		activityCfg: activityConfig{tokens: map[string]activityCursor{}},
		daxTables:   map[string][]*daxTable{},
		daxAnswers:  map[string]*daxAnswer{},
		pipelines:   map[string]*pipeline{},
		deployments: map[string]*deployment{},
		rateLimits:  map[string]rateLimit{},
		rateLimited: map[string]int{},
	}
	for _, o := range opts {
		o(s)
	}
	s.mux = http.NewServeMux()
	s.routes()
	s.ts = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.ts.Close() }

// URL is the server's root, for powerbi.WithBaseURL and as the authority host.
func (s *Server) URL() string { return s.ts.URL }

// HTTPClient returns a new *http.Client that trusts the fake's certificate.
func (s *Server) HTTPClient() *http.Client {
	base := s.ts.Client().Transport.(*http.Transport)
	tr := base.Clone()
	tr.MaxIdleConnsPerHost = 64
	tr.MaxConnsPerHost = 64
	return &http.Client{Transport: tr}
}

// AuthenticatorOptions points the SDK's built-in authenticators at the fake's
// token endpoint, with expiries on the fake's clock.
func (s *Server) AuthenticatorOptions() *powerbi.AuthenticatorOptions {
	return &powerbi.AuthenticatorOptions{AuthorityHost: s.ts.URL, HTTPClient: s.HTTPClient(), Clock: s.Now,
		RetryPolicy: &powerbi.RetryPolicy{MaxRetries: 3, WaitMin: time.Millisecond, WaitMax: 50 * time.Millisecond, MaxRetryAfter: 5 * time.Second}}
}

// NewClient returns a *powerbi.Client wired to the fake: its base URL, an
// HTTP client that trusts its certificate, and the fake's clock (so that
// Advance reaches the Client's token cache too). Fast retries are the
// default, and none of the documented rate budgets (the fake does not
// enforce the service's limits but those SetRateLimit gives it, and a budget
// of 200 calls an hour would make a test wait for real); opts come after and
// may override them, powerbi.WithRateLimits to test a budget.
func (s *Server) NewClient(auth powerbi.Authenticator, opts ...powerbi.Option) (*powerbi.Client, error) {
	base := []powerbi.Option{
		powerbi.WithBaseURL(s.ts.URL),
		powerbi.WithHTTPClient(s.HTTPClient()),
		powerbi.WithClock(s.Now),
		powerbi.WithRetryPolicy(powerbi.RetryPolicy{MaxRetries: 4, WaitMin: time.Millisecond, WaitMax: 50 * time.Millisecond, MaxRetryAfter: 5 * time.Second}),
		powerbi.WithoutDocumentedRateLimits(),
	}
	return powerbi.NewClient(auth, append(base, opts...)...)
}

// Now is the fake clock's time.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

func (s *Server) nowLocked() time.Time {
	if s.realClock {
		return time.Now().UTC().Add(s.offset)
	}
	return s.start.Add(s.offset)
}

// Advance moves the fake clock: access and embed tokens expire by it.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	s.offset += d
	s.mu.Unlock()
}

// SetSharedCapacityQuota limits the embed tokens the fake issues for
// workspaces not on a dedicated capacity; past it, GenerateToken answers 403
// like the real service. 0 means unlimited (the default).
func (s *Server) SetSharedCapacityQuota(n int) {
	s.mu.Lock()
	s.sharedCap, s.sharedUsed = n, 0
	s.mu.Unlock()
}

// Fault makes the next Times requests that match answer differently.
type Fault struct {
	Method       string        // "" matches any method
	PathContains string        // a substring of the path, e.g. "/GenerateToken" or "/oauth2/"
	Times        int           // how many matching requests it affects (at least 1)
	Status       int           // the status to answer with (0: answer normally, after Delay)
	RetryAfter   string        // a Retry-After header value, e.g. "2"
	Header       http.Header   // more headers to send with Status, e.g. X-PowerBI-Error-Info
	Body         string        // the body to send with Status
	Delay        time.Duration // wait before answering (bounded by the request's context)
	CutBody      bool          // promise a longer body than is sent, then close the connection
	// AfterWork handles the request as usual first (an import is created, a
	// refresh started), then answers with Status instead: the work is done
	// but the client sees a failure, as when a gateway times out.
	AfterWork bool
}

// InjectFault adds a fault; faults apply in the order added.
func (s *Server) InjectFault(f Fault) {
	if f.Times < 1 {
		f.Times = 1
	}
	s.mu.Lock()
	s.faults = append(s.faults, &f)
	s.mu.Unlock()
}

// Request is a recorded request, with secrets replaced by [REDACTED].
type Request struct {
	Method string
	Path   string
	Query  string
	Header http.Header // Authorization redacted
	Body   string      // token requests: the form with secrets redacted
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// CountRequests counts the recorded requests whose path contains substr
// ("/oauth2/" for token requests, "/GenerateToken" for embed tokens).
func (s *Server) CountRequests(substr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if strings.Contains(r.Path, substr) {
			n++
		}
	}
	return n
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	s.requests = nil
	s.mu.Unlock()
}

// serve records the request, applies any fault, and routes it.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	r = s.withArrival(r)
	w.Header().Set("RequestId", s.newRequestID())
	// Uploads (an import's multipart form, the blocks of a temporary upload
	// location) are read as they come, never held: they are recorded without
	// their body.
	streamed := strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") || strings.HasPrefix(r.URL.Path, "/blob/")
	var body []byte
	if streamed {
		s.record(r, []byte("[streamed]"))
	} else {
		body, _ = io.ReadAll(io.LimitReader(r.Body, 4<<20))
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.record(r, body)
	}
	f := s.takeFault(r)
	if f != nil && f.AfterWork {
		s.handle(discardWriter{h: http.Header{}}, r)
		f.Delay, f.CutBody = 0, false
	} else if f != nil && streamed {
		_, _ = io.Copy(io.Discard, r.Body) // read what the client sends, as the service does before it answers
	}
	if f != nil {
		if f.Delay > 0 {
			select {
			case <-time.After(f.Delay):
			case <-r.Context().Done():
				return
			}
		}
		if f.CutBody {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, `{"value":[{"id":"cut`)
			// Flush, or the client sees no response at all and net/http
			// silently resends an idempotent request.
			_ = http.NewResponseController(w).Flush()
			panic(http.ErrAbortHandler) // close the connection mid-body
		}
		if f.Status != 0 {
			if f.RetryAfter != "" {
				w.Header().Set("Retry-After", f.RetryAfter)
			}
			for k, v := range f.Header {
				w.Header()[k] = v
			}
			if f.Body != "" {
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
			}
			w.WriteHeader(f.Status)
			_, _ = io.WriteString(w, f.Body)
			return
		}
	}
	s.handle(w, r)
}

// handle answers r: a handler registered for its operation, else the fake's
// rules, else the contract's example.
func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	if h := s.handlerFor(r); h != nil {
		s.api(func(c *call) { h(c.w, c.r) })(w, r)
		return
	}
	r.URL.Path = lowerGUIDs(r.URL.Path)
	s.mux.ServeHTTP(w, r)
}

// discardWriter takes an answer nobody will see (Fault.AfterWork).
type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d discardWriter) WriteHeader(int)             {}

// lowerGUIDs lower-cases the GUIDs of a path: the service matches IDs
// whatever their case, and the fake keeps them in lower case.
func lowerGUIDs(path string) string {
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		if len(seg) == 36 && strings.Count(seg, "-") == 4 {
			segs[i] = strings.ToLower(seg)
		}
	}
	return strings.Join(segs, "/")
}

func (s *Server) takeFault(r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if (f.Method == "" || f.Method == r.Method) && strings.Contains(r.URL.Path, f.PathContains) {
			f.Times--
			if f.Times == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			return f
		}
	}
	return nil
}

var secretFields = []string{"client_secret", "password", "client_assertion"}

func (s *Server) record(r *http.Request, body []byte) {
	h := r.Header.Clone()
	if h.Get("Authorization") != "" {
		h.Set("Authorization", "Bearer [REDACTED]")
	}
	b := string(body)
	if strings.Contains(r.URL.Path, "/oauth2/") {
		if form, err := url.ParseQuery(b); err == nil {
			for _, k := range secretFields {
				if form.Has(k) {
					form.Set(k, "[REDACTED]")
				}
			}
			b = form.Encode()
		}
	} else if strings.Contains(b, "identityBlob") {
		b = redactBlobs(body)
	}
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: h, Body: b})
	s.mu.Unlock()
}

// redactBlobs re-encodes a JSON body with every identityBlob (an access
// token for Azure SQL, as an object's value or as a string) replaced.
func redactBlobs(body []byte) string {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return "[REDACTED: a body with an identityBlob that is not JSON]"
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if k == "identityBlob" {
					if blob, ok := e.(map[string]any); ok {
						blob["value"] = "[REDACTED]"
					} else {
						x[k] = "[REDACTED]"
					}
					continue
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	b, _ := json.Marshal(v)
	return string(b)
}

func (s *Server) newRequestID() string {
	return fmt.Sprintf("fake-%08d-%s", s.requestSeq.Add(1), randomHex(4))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// NewGUID returns a random GUID, for seeding.
func NewGUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
