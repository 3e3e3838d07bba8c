package powerbi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Version is this SDK's version, sent in the User-Agent header.
const Version = "0.1.0"

const (
	// maxSuccessBody caps a 2xx body; the largest real lists are far smaller.
	maxSuccessBody = 16 << 20
	// maxErrorBody caps an error body; only its first part is ever shown.
	maxErrorBody = 1 << 20
	// defaultBodyTimeout bounds reading one response body after its headers
	// came: a server trickling bytes cannot hold a call without a deadline
	// forever. The attempt fails like a body cut short, and is retried.
	defaultBodyTimeout = 60 * time.Second
)

// Client calls the Power BI REST API. Create it with NewClient; it is immutable
// and safe for concurrent use, and should be shared: it holds the connection
// pool and the access token cache.
type Client struct {
	Reports    *ReportsService
	Dashboards *DashboardsService
	Tiles      *TilesService
	Datasets   *DatasetsService
	Groups     *GroupsService
	EmbedToken *EmbedTokenService

	common service

	apiRoot         string // e.g. "https://api.powerbi.com/v1.0/myorg/"
	rc              *retryablehttp.Client
	base            http.RoundTripper
	tokens          *tokenCache
	logger          *slog.Logger
	userAgent       string
	userAgentHeader []string
	profileID       string
	minLifetime     time.Duration
	now             func() time.Time
}

// service is shared by all services: they hold no state of their own.
type service struct{ client *Client }

// Option configures a Client. Options are validated by NewClient.
type Option func(*clientConfig) error

type clientConfig struct {
	cloud       Cloud
	baseURL     string
	httpClient  *http.Client
	retry       RetryPolicy
	userAgent   string
	logger      *slog.Logger
	profileID   string
	allowHTTP   bool
	minLifetime time.Duration
	now         func() time.Time
	bodyTimeout time.Duration // tests shorten it
}

// WithCloud selects a sovereign cloud's API root. Give the Authenticator the same Cloud.
func WithCloud(c Cloud) Option {
	return func(cfg *clientConfig) error {
		if c.APIBaseURL == "" {
			return invalid("WithCloud", "the Cloud has no APIBaseURL")
		}
		cfg.cloud = c
		return nil
	}
}

// WithBaseURL sets the API root, e.g. "https://api.powerbi.com" or a fake's
// URL; the SDK appends /v1.0/myorg/. It overrides WithCloud's API root.
func WithBaseURL(apiRoot string) Option {
	return func(cfg *clientConfig) error {
		if apiRoot == "" {
			return invalid("WithBaseURL", "is empty")
		}
		cfg.baseURL = apiRoot
		return nil
	}
}

// WithHTTPClient sets the HTTP client whose Transport, redirect policy, cookie
// jar and timeout are used; retries and authentication are layered on top. A
// nil Transport means the SDK's tuned default.
func WithHTTPClient(hc *http.Client) Option {
	return func(cfg *clientConfig) error {
		if hc == nil {
			return invalid("WithHTTPClient", "the *http.Client is nil")
		}
		cfg.httpClient = hc
		return nil
	}
}

// WithRetryPolicy replaces DefaultRetryPolicy. It is taken literally:
// MaxRetries 0 means no retries.
func WithRetryPolicy(p RetryPolicy) Option {
	return func(cfg *clientConfig) error {
		if err := p.validate(); err != nil {
			return err
		}
		cfg.retry = p
		return nil
	}
}

// WithUserAgent puts ua in front of the SDK's own User-Agent.
func WithUserAgent(ua string) Option {
	return func(cfg *clientConfig) error {
		if strings.TrimSpace(ua) == "" || strings.ContainsFunc(ua, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return invalid("WithUserAgent", "must be non-empty printable text")
		}
		cfg.userAgent = ua + " "
		return nil
	}
}

// WithLogger logs requests (debug), failed responses (info, warn for 429 and
// 5xx) and token refreshes. Logs never contain a token, a secret or a query
// string. By default the Client does not log.
func WithLogger(l *slog.Logger) Option {
	return func(cfg *clientConfig) error {
		if l == nil {
			return invalid("WithLogger", "the *slog.Logger is nil; leave the option out for no logging")
		}
		cfg.logger = l
		return nil
	}
}

// WithProfileID makes every call act as a service principal profile by
// sending the X-PowerBI-Profile-Id header. ContextWithProfileID overrides it per call.
func WithProfileID(id string) Option {
	return func(cfg *clientConfig) error {
		if err := checkGUID("WithProfileID", id); err != nil {
			return err
		}
		cfg.profileID = id
		return nil
	}
}

// WithInsecureAllowHTTP lets the Client send its bearer token over plain http.
// Only for tests against plain-http servers.
func WithInsecureAllowHTTP() Option {
	return func(cfg *clientConfig) error {
		cfg.allowHTTP = true
		return nil
	}
}

// WithMinAccessTokenLifetime sets how long the access token must still be
// valid before a GenerateToken call (default 30 minutes): an embed token never
// outlives the access token used to create it, so a nearly expired access token
// would yield a nearly expired embed token. 0 turns the rule off.
func WithMinAccessTokenLifetime(d time.Duration) Option {
	return func(cfg *clientConfig) error {
		if d < 0 || d > 24*time.Hour {
			return invalid("WithMinAccessTokenLifetime", "must be between 0 and 24h, got %s", d)
		}
		cfg.minLifetime = d
		return nil
	}
}

// WithClock sets the clock by which the Client judges how long its access
// tokens have left (default time.Now); an EmbedCache on the Client uses it
// too. It is for tests on a fake clock, such as powerbitest's, which expires
// tokens by its own time.
func WithClock(now func() time.Time) Option {
	return func(cfg *clientConfig) error {
		if now == nil {
			return invalid("WithClock", "the clock is nil")
		}
		cfg.now = now
		return nil
	}
}

type profileKey struct{}

// ContextWithProfileID returns a context that makes calls with it act as the
// service principal profile id, overriding WithProfileID. An empty id sends
// no profile header for those calls. The id is validated when a call uses it.
func ContextWithProfileID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, profileKey{}, id)
}

// profile returns the service principal profile a call with ctx acts as:
// the context's (ContextWithProfileID), else the Client's (WithProfileID).
// "" means none.
func (c *Client) profile(ctx context.Context) (string, error) {
	p, ok := ctx.Value(profileKey{}).(string)
	if !ok {
		return c.profileID, nil
	}
	if p != "" {
		if err := checkGUID("profile ID (ContextWithProfileID)", p); err != nil {
			return "", err
		}
	}
	return p, nil
}

// NewClient returns a Client that authenticates with auth. It validates its
// options and does no I/O.
func NewClient(auth Authenticator, opts ...Option) (*Client, error) {
	if auth == nil {
		return nil, invalid("auth", "the Authenticator is nil")
	}
	cfg := clientConfig{cloud: CloudPublic, retry: DefaultRetryPolicy(), minLifetime: defaultMinLifetime, now: time.Now, bodyTimeout: defaultBodyTimeout}
	for _, opt := range opts {
		if opt == nil {
			return nil, invalid("option", "is nil")
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	root, err := apiRoot(firstNonEmpty(cfg.baseURL, cfg.cloud.APIBaseURL), cfg.allowHTTP)
	if err != nil {
		return nil, err
	}
	c := &Client{
		apiRoot:     root.String(),
		base:        baseTransport(cfg.httpClient),
		tokens:      newTokenCache(auth, cfg.logger),
		logger:      cfg.logger,
		userAgent:   cfg.userAgent + "gopowerbi/" + Version,
		profileID:   cfg.profileID,
		minLifetime: cfg.minLifetime,
		now:         cfg.now,
	}
	c.tokens.now = cfg.now
	t := &apiTransport{base: c.base, tokens: c.tokens, host: root.Host, allowHTTP: cfg.allowHTTP, logger: cfg.logger, bodyTimeout: cfg.bodyTimeout}
	c.userAgentHeader = []string{c.userAgent}
	inner := innerClient(cfg.httpClient, t)
	inner.CheckRedirect = bodyStaysOnAPIHost(root.Host, cfg.allowHTTP, inner.CheckRedirect)
	c.rc = newRetryClient(inner, cfg.retry)
	c.common.client = c
	c.Reports = (*ReportsService)(&c.common)
	c.Dashboards = (*DashboardsService)(&c.common)
	c.Tiles = (*TilesService)(&c.common)
	c.Datasets = (*DatasetsService)(&c.common)
	c.Groups = (*GroupsService)(&c.common)
	c.EmbedToken = (*EmbedTokenService)(&c.common)
	return c, nil
}

func apiRoot(raw string, allowHTTP bool) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		return nil, invalid("base URL", "must be an absolute URL such as https://api.powerbi.com")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return nil, invalid("base URL", "must not contain credentials, a query or a fragment")
	case u.Scheme == "http" && !allowHTTP:
		return nil, invalid("base URL", "is plain http: the bearer token would travel in clear text (WithInsecureAllowHTTP allows it for tests)")
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, invalid("base URL", "must use https")
	}
	u.Path += "/v1.0/myorg/"
	u.RawPath = ""
	return u, nil
}

// CloseIdleConnections closes the idle connections of the Client's transport.
func (c *Client) CloseIdleConnections() {
	if ci, ok := c.base.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// Format describes the Client without its tokens, however it is printed.
func (c *Client) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "powerbi.Client{%s}", c.apiRoot)
}

// newDefaultTransport is one pooled transport per Client, with idle
// connections per host sized for concurrent page views, and timeouts on dial,
// TLS and response headers. The body must then come in full within
// defaultBodyTimeout (apiTransport), whatever transport is used; the caller's
// context bounds the whole call.
//
// MaxConnsPerHost equals MaxIdleConnsPerHost: without it, a caller that sends
// its next request while its last connection is still on the way back to the
// pool dials a new one, and under sustained concurrency the pool churns (seen
// at 64 callers: 128 connections opened instead of 64). Power BI throttles
// far below what 64 connections carry, so callers beyond that wait briefly
// for a free connection.
func newDefaultTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		MaxConnsPerHost:       64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

func baseTransport(hc *http.Client) http.RoundTripper {
	if hc != nil && hc.Transport != nil {
		return hc.Transport
	}
	return newDefaultTransport()
}

// innerClient keeps hc's redirect policy, cookie jar and timeout, and sends
// through rt. rt must not expose CloseIdleConnections (see newRetryClient).
func innerClient(hc *http.Client, rt http.RoundTripper) *http.Client {
	if hc == nil {
		hc = &http.Client{}
	}
	return &http.Client{Transport: rt, CheckRedirect: hc.CheckRedirect, Jar: hc.Jar, Timeout: hc.Timeout}
}

// bodyStaysOnAPIHost is the API client's redirect policy. A request body
// (RLS usernames, identity blobs) is sent again on a 307 or 308 only to the
// API host over https; a redirect without a body is followed anywhere, and the
// transport sends the token only to the API host. Then next, the policy of the
// caller's http.Client, decides; without one, at most 10 redirects.
func bodyStaysOnAPIHost(host string, allowHTTP bool, next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		hasBody := req.Body != nil && req.Body != http.NoBody
		if hasBody && (req.URL.Host != host || req.URL.Scheme != "https" && !allowHTTP) {
			first := via[0]
			return noRetryError{&redirectError{fmt.Sprintf("powerbi: the API answered %s %s with a redirect to %s://%s; a request body is only sent again to the API host over https",
				first.Method, redactedURL(first.URL), req.URL.Scheme, req.URL.Host)}}
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
}

// keepPool hides the base transport's CloseIdleConnections from go-retryablehttp.
type keepPool struct{ rt http.RoundTripper }

func (k keepPool) RoundTrip(r *http.Request) (*http.Response, error) { return k.rt.RoundTrip(r) }

// callState follows one API call through its attempts.
type callState struct {
	minLife  time.Duration
	attempts int
	last     *http.Response // the last response, body buffered in lastBody
	lastBody []byte
	token    string // the access token sent last, redacted from any error text
	replayed bool   // the call was already replayed once with a new token
}

type callStateKey struct{}

// do is the one request path: every service method goes through it. It sends
// method to path (relative to /v1.0/myorg/) with body as JSON, retries per the
// policy, and decodes a 2xx JSON response into out.
func (c *Client) do(ctx context.Context, method, path, rawQuery string, body, out any, minLife time.Duration) error {
	profile, err := c.profile(ctx)
	if err != nil {
		return err
	}
	var payload any // nil, or []byte: retryablehttp replays the same bytes on every attempt
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("powerbi: encoding the request body: %w", err)
		}
		payload = b
	}
	u := c.apiRoot + path
	if rawQuery != "" {
		u += "?" + rawQuery
	}
	st := &callState{minLife: minLife}
	req, err := retryablehttp.NewRequestWithContext(context.WithValue(ctx, callStateKey{}, st), method, u, payload)
	if err != nil {
		return invalid("path", "cannot build the request URL")
	}
	// Canonical keys and shared, never-modified value slices: no allocation per header.
	h := req.Header
	h["Accept"] = acceptJSON
	h["User-Agent"] = c.userAgentHeader
	if payload != nil {
		h["Content-Type"] = contentTypeJSON
	}
	if profile != "" {
		h.Set("X-PowerBI-Profile-Id", profile)
	}
	resp, err := c.rc.Do(req)
	if err != nil {
		return c.transportError(ctx, req.Request, st, err)
	}
	return c.decode(req.Request, st, resp, out)
}

// transportError turns what the retry loop returned without a response into
// the error the caller sees.
func (c *Client) transportError(ctx context.Context, req *http.Request, st *callState, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		if st.last != nil {
			// Cancelled while backing off after a failed attempt: keep both.
			return errors.Join(ctxErr, st.apiError(req, st.last, st.lastBody, nil))
		}
		return fmt.Errorf("powerbi: %s %s: %w", req.Method, redactedURL(req.URL), ctxErr)
	}
	var nr noRetryError
	if errors.As(err, &nr) {
		return nr.error
	}
	var be *bodyError
	if errors.As(err, &be) {
		return st.apiError(req, be.resp, nil, be)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	// A transport's error may quote the request (a proxy's, say): its text is cleaned.
	err = cleanError("", err, st.secrets(req.URL)...)
	return fmt.Errorf("powerbi: %s %s: %w (%d attempts)", req.Method, redactedURL(req.URL), err, st.attempts)
}

// decode checks a response that came back from the retry loop.
func (c *Client) decode(req *http.Request, st *callState, resp *http.Response, out any) error {
	body := st.lastBody
	if resp != st.last {
		body = nil // a response that did not pass through our transport; never expected
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return st.apiError(req, resp, body, nil)
	}
	if out == nil {
		return nil
	}
	body = trimBOM(body)
	if len(body) == 0 {
		return st.apiError(req, resp, nil, errors.New("empty body where JSON was expected"))
	}
	if err := json.Unmarshal(body, out); err != nil {
		secrets := st.secrets(req.URL)
		cause := cleanError("the body is not the expected JSON: ", err, secrets...)
		// Quote only what is clearly not JSON (an HTML page, say).
		if first := bytes.TrimLeft(body, " \t\r\n"); len(first) == 0 || first[0] != '{' && first[0] != '[' {
			cause = errors.New(snippet(resp.Header.Get("Content-Type"), body, secrets...))
		}
		return st.apiError(req, resp, nil, cause)
	}
	if v, ok := out.(interface{ complete() bool }); ok && !v.complete() {
		return st.apiError(req, resp, nil, errors.New("the JSON lacks fields the service always sends"))
	}
	return nil
}

// apiError describes a response as an *APIError. cause is set for a 2xx that
// could not be used (or a body that could not be read or was too large).
func (st *callState) apiError(req *http.Request, resp *http.Response, body []byte, cause error) *APIError {
	secrets := st.secrets(req.URL)
	e := &APIError{
		StatusCode: resp.StatusCode,
		RequestID:  oneLine(resp.Header.Get("RequestId"), 64, secrets...),
		Method:     req.Method,
		URL:        redactedURL(req.URL),
		Attempts:   st.attempts,
		cause:      cause,
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		e.RetryAfter = retryAfter(resp.Header, time.Now())
	}
	if cause == nil {
		e.parseBody(resp.Header, body, secrets...)
		e.Hint = apiHint(e)
	}
	return e
}

var (
	acceptJSON      = []string{"application/json"}
	contentTypeJSON = []string{"application/json; charset=utf-8"}
)

// secrets lists what must not reach an error text or a log line even when a
// server quotes it back: the access token sent and u's query string.
func (st *callState) secrets(u *url.URL) []string {
	return append(querySecrets(u), st.token)
}

// querySecrets lists what of u's query string must not reach an error text
// even when the service quotes it back: the raw query and its values, in the
// forms a server may echo them. Numbers and booleans ($top=1000) are not
// secrets and stay.
func querySecrets(u *url.URL) []string {
	if u.RawQuery == "" {
		return nil
	}
	out := withEncodings(u.RawQuery)
	for _, vs := range u.Query() {
		for _, v := range vs {
			if _, err := strconv.ParseFloat(v, 64); err != nil && v != "true" && v != "false" {
				out = append(out, withEncodings(v)...)
			}
		}
	}
	return out
}

// redactedURL is u without query string, fragment or user info.
func redactedURL(u *url.URL) string {
	return u.Scheme + "://" + u.Host + u.EscapedPath()
}

// list is the OData envelope of list responses: {"@odata.context": "...", "value": [...]}.
type list[T any] struct {
	Value []T `json:"value"`
}

func (l *list[T]) complete() bool { return l.Value != nil }

// getOne GETs one item.
func getOne[T any](ctx context.Context, c *Client, path string) (*T, error) {
	v := new(T)
	if err := c.do(ctx, http.MethodGet, path, "", nil, v, 0); err != nil {
		return nil, err
	}
	return v, nil
}

// getList GETs a list; an empty list is a non-nil empty slice.
func getList[T any](ctx context.Context, c *Client, path, rawQuery string) ([]T, error) {
	var l list[T]
	if err := c.do(ctx, http.MethodGet, path, rawQuery, nil, &l, 0); err != nil {
		return nil, err
	}
	return l.Value, nil
}

// generateToken POSTs a GenerateToken request, making sure first that the
// access token has the minimum lifetime left.
func (c *Client) generateToken(ctx context.Context, path string, req any) (*EmbedToken, error) {
	var t EmbedToken
	if err := c.do(ctx, http.MethodPost, path, "", req, &t, c.minLifetime); err != nil {
		return nil, err
	}
	return &t, nil
}
