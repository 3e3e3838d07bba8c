package powerbi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

const (
	// maxSuccessBody caps a 2xx JSON body; the largest real lists are far
	// smaller. Downloads (File) are streamed and not capped.
	maxSuccessBody = 16 << 20
	// maxErrorBody caps an error body; only its first part is ever shown.
	maxErrorBody = 1 << 20
	// defaultBodyTimeout bounds reading one JSON response body after its
	// headers came: a server trickling bytes cannot hold a call without a
	// deadline forever. The attempt fails like a body cut short.
	defaultBodyTimeout = 60 * time.Second
)

// Request is one call of the Power BI REST API as the request path carries
// it: every method of this package builds one, and Client.Do sends one of
// yours for an operation the package does not have yet.
type Request struct {
	// Operation is the contract's operation ID ("Reports_GetReportsInGroup"),
	// which names the rate budget the call counts against (see
	// WithRateLimits); "" for a call the contract does not have, which has
	// none.
	Operation string
	// Method is GET, POST, PUT, PATCH or DELETE.
	Method string
	// Path is the operation's path under the API root's /v1.0/myorg/, each ID
	// in it already path-escaped: "groups/" + groupID + "/reports".
	Path string
	// Query holds the query parameters. OData names keep their "$" ($top).
	Query url.Values
	// Body, when not nil, is sent as JSON.
	Body any
	// Header holds headers to send besides the SDK's own (Authorization,
	// Accept, Content-Type, User-Agent, X-PowerBI-Profile-Id), which it
	// cannot replace.
	Header http.Header
	// Idempotent marks a POST that may be sent again after a 5xx or a
	// response cut short, because it only reads or sets a state. GET, PUT,
	// PATCH and DELETE always may. Any other POST may have done its work once
	// already (an import, a refresh, a clone): it is sent again only after a
	// 429, or when it never reached the service.
	Idempotent bool

	rawQuery string        // the query, encoded by the package's own methods (see queryOf)
	upload   *upload       // a streamed body, instead of Body
	minLife  time.Duration // how long the access token must still live (GenerateToken)
	download bool          // a 2xx body is handed to the caller unread (see File)
}

// upload is a request body streamed as it is, never held in memory whole.
type upload struct {
	open        func() (io.Reader, error) // the body for one attempt
	replayable  bool                      // open may be called again: the reader seeks back
	length      int64                     // -1 when unknown (sent chunked)
	contentType string
}

// idempotent reports whether the request may be sent again after it may
// have reached the service.
func (r *Request) idempotent() bool {
	return r.Idempotent || r.Method != http.MethodPost
}

// exchange is one call in flight. It owns every piece of state that changes
// while the call runs (attempts, the token sent, whether the request reached
// the service, the last response) and is the transport of its own attempts
// inside go-retryablehttp's loop, which it configures for this call's retry
// class: nothing else reads or writes that state.
type exchange struct {
	c       *Client
	req     *http.Request // as first built; each attempt sends a copy
	retry   retryablehttp.Client
	http    http.Client
	minLife time.Duration
	upload  *upload

	token    *tokenSnap // the access token sent last, redacted from any error text
	last     *http.Response
	lastBody []byte
	attempts int32
	sent     atomic.Bool // the last attempt's request headers were written (non-idempotent calls only)
	replayed bool        // the call was replayed once with a new token already

	idempotent bool
	download   bool
	class      string // the rate budget the attempts count against ("" for none)
	profile    string
}

// exchange sends r through the retry loop. It returns the final 2xx response
// (its body buffered in lastBody, or unread for a download) or the error the
// caller sees.
func (c *Client) exchange(ctx context.Context, r *Request) (*exchange, *http.Response, error) {
	profile, err := c.profile(ctx)
	if err != nil {
		return nil, nil, err
	}
	// Only what the attempts need is kept: the caller's Request does not escape to the heap.
	x := &exchange{c: c, minLife: r.minLife, idempotent: r.idempotent(), download: r.download, upload: r.upload,
		class: classOf(r.Operation), profile: profile}
	x.http = http.Client{Transport: x, CheckRedirect: c.checkRedirect, Jar: c.jar, Timeout: c.timeout}
	x.retry = retryablehttp.Client{
		HTTPClient:   &x.http,
		RetryWaitMin: c.retryPolicy.WaitMin,
		RetryWaitMax: c.retryPolicy.WaitMax,
		RetryMax:     c.retryPolicy.MaxRetries,
		CheckRetry:   x.checkRetry,
		Backoff:      c.backoff,
		ErrorHandler: lastResponse,
	}
	var body any // nil, []byte (replayed as is) or a retryablehttp.ReaderFunc
	switch {
	case r.upload != nil:
		body = retryablehttp.ReaderFunc(r.upload.open)
	case r.Body != nil:
		b, err := json.Marshal(r.Body)
		if err != nil {
			return nil, nil, fmt.Errorf("powerbi: encoding the request body: %w", err)
		}
		body = b
	}
	if !r.idempotent() {
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteHeaders: func() { x.sent.Store(true) }})
	}
	u := c.apiRoot + r.Path
	if q := r.query(); q != "" {
		u += "?" + q
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, r.Method, u, body)
	if err != nil {
		return nil, nil, invalid("path", "cannot build the request URL")
	}
	// Canonical keys and shared, never-modified value slices: no allocation per header.
	h := req.Header
	for k, v := range r.Header {
		h[http.CanonicalHeaderKey(k)] = v
	}
	h["Accept"] = acceptJSON
	h["User-Agent"] = c.userAgentHeader
	switch {
	case r.upload != nil:
		h.Set("Content-Type", r.upload.contentType)
		req.ContentLength = max(r.upload.length, 0)
	case body != nil:
		h["Content-Type"] = contentTypeJSON
	}
	if profile != "" {
		h.Set("X-PowerBI-Profile-Id", profile)
	} else {
		delete(h, "X-Powerbi-Profile-Id")
	}
	x.req = req.Request
	resp, err := x.retry.Do(req)
	if err != nil {
		return x, nil, x.transportError(ctx, req.Request, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return x, nil, x.apiError(req.Request, resp, x.bodyOf(resp), nil)
	}
	return x, resp, nil
}

// query is the request's encoded query string.
func (r *Request) query() string {
	if r.rawQuery != "" || len(r.Query) == 0 {
		return r.rawQuery
	}
	return encodeValues(r.Query)
}

// bodyOf returns the buffered body of resp, if resp is the last response an
// attempt read.
func (x *exchange) bodyOf(resp *http.Response) []byte {
	if resp != x.last {
		return nil // a response that did not pass through RoundTrip; never expected
	}
	return x.lastBody
}

// RoundTrip is one attempt. It puts a fresh access token on the request (only
// over https, only to the API host), reads the whole response body (capped,
// within the body timeout) so that a body cut short is seen and retried before
// success is reported, and replays the call once, with a new token, when the
// API refuses the token it was sent.
func (x *exchange) RoundTrip(req *http.Request) (*http.Response, error) {
	c := x.c
	authorize := req.URL.Host == c.apiHost && (req.URL.Scheme == "https" || c.allowHTTP)
	resp, token, err := x.send(req, authorize)
	if err != nil || !authorize || x.replayed || req.GetBody == nil || !x.renew(resp, token) {
		return resp, err
	}
	// The token was dropped: replay once per call with a new one. A second
	// refusal, in this attempt or a later one, is returned as it is.
	x.replayed = true
	body, err := req.GetBody()
	if err != nil {
		return resp, nil
	}
	replay := *req
	replay.Body = body
	resp, _, err = x.send(&replay, true)
	return resp, err
}

func (x *exchange) send(req *http.Request, authorize bool) (*http.Response, string, error) {
	c := x.c
	ctx := req.Context()
	// req is always the SDK's own (built in exchange, or a redirect net/http
	// built from it), so its header is set in place: cloning it on every
	// attempt was the largest allocation of the request path.
	var token string
	if authorize {
		tok, err := c.tokens.get(ctx, x.minLife)
		if err != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, "", noRetryError{err}
		}
		token = tok.tok.Token
		x.token = tok
		req.Header["Authorization"] = tok.bearer
	} else {
		delete(req.Header, "Authorization")
	}
	// Every attempt waits out any 429 window of its class and for its
	// class's budget, last of all, so that it is sent as soon as allowed.
	if err := c.budgets.wait(ctx, x.class, x.profile, req); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, token, noRetryError{err}
	}
	x.attempts++
	x.sent.Store(false)
	start := time.Now()
	resp, err := c.base.RoundTrip(req)
	if err != nil {
		x.log(ctx, slog.LevelWarn, req, 0, "", start, err)
		return nil, token, err
	}
	rid := resp.Header.Get("RequestId") // raw: cleaned only where quoted
	if x.download && resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		x.last, x.lastBody = resp, nil
		x.log(ctx, slog.LevelDebug, req, resp.StatusCode, rid, start, nil)
		return resp, token, nil // streamed to the caller, who closes it
	}
	limit := int64(maxSuccessBody)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		limit = maxErrorBody
	}
	// Closing the body from the timer ends a read that is still waiting. The
	// read may then end without an error, so whether the timer fired decides:
	// what was read by then is not the whole body.
	timer := time.AfterFunc(c.bodyTimeout, func() { resp.Body.Close() })
	body, err := readBody(resp.Body, limit, resp.ContentLength)
	if !timer.Stop() {
		err = fmt.Errorf("the body did not arrive in full within %s", c.bodyTimeout)
	}
	resp.Body.Close()
	if err != nil {
		x.log(ctx, slog.LevelWarn, req, resp.StatusCode, rid, start, err)
		resp.Body = http.NoBody
		if errors.Is(err, errBodyTooLarge) {
			return nil, token, noRetryError{x.apiError(req, resp, nil, fmt.Errorf("the body is larger than %d bytes", limit))}
		}
		return nil, token, &bodyError{resp: resp, err: err}
	}
	resp.Body = http.NoBody // the body is x.lastBody: everything reads it from there
	x.last, x.lastBody = resp, body
	if resp.StatusCode == http.StatusTooManyRequests {
		c.budgets.throttled(x.class, x.profile, retryAfter(resp.Header, time.Now()))
	}
	level := slog.LevelDebug
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		level = slog.LevelWarn
	case resp.StatusCode >= 400:
		level = slog.LevelInfo
	}
	x.log(ctx, level, req, resp.StatusCode, rid, start, nil)
	return resp, token, nil
}

// renew drops the token a 401 or 403 answered, and reports whether it did.
// A refusal of the token itself (a 401 InvalidToken, a 401 or 403
// TokenExpired, in the body or in X-PowerBI-Error-Info) always drops it. Any
// other 401 (say, the caller is not a member of the workspace) drops it at
// most once per staleRenewal: the token's group claims may predate a change
// of membership or tenant settings, but a new token on every forbidden call
// would only get Entra to throttle.
func (x *exchange) renew(resp *http.Response, token string) bool {
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
		return false
	}
	var e APIError
	e.parseBody(resp.Header, x.bodyOf(resp))
	switch {
	case e.Code == "TokenExpired" || resp.StatusCode == http.StatusUnauthorized && tokenRefusalCodes[e.Code]:
		x.c.tokens.invalidate(token)
		return true
	case resp.StatusCode == http.StatusUnauthorized:
		return x.c.tokens.renewStale(token)
	}
	return false
}

// tokenRefusalCodes are the error codes with which a 401 refuses the access
// token itself.
var tokenRefusalCodes = map[string]bool{"InvalidToken": true, "TokenExpired": true, "InvalidAuthenticationToken": true, "ExpiredAuthenticationToken": true}

// checkRetry decides, after each attempt, whether another one follows. An
// idempotent call is retried after connection errors, bodies cut short and
// the statuses of retryableStatus; any other call only after a 429, or after
// a connection error that came before its request was written. A streamed
// body that cannot be read again is never sent twice.
func (x *exchange) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if u := x.upload; u != nil && !u.replayable {
		return false, nil
	}
	idempotent := x.idempotent
	if err != nil {
		var nr noRetryError
		var be *bodyError
		switch {
		case errors.As(err, &nr):
			return false, nil
		case errors.As(err, &be):
			return idempotent && x.c.retryPolicy.waitFits(ctx, nil), nil
		case !idempotent && x.sent.Load():
			return false, nil // the service may have the request: sending it again could do the work twice
		}
		// Redirect loops, bad schemes and TLS certificate errors are not retried.
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	if resp.StatusCode == http.StatusTooManyRequests || idempotent && retryableStatus(resp.StatusCode) {
		return x.c.retryPolicy.waitFits(ctx, resp), nil
	}
	return false, nil
}

// decode decodes a 2xx response's JSON body into out (nil: no body expected).
func (x *exchange) decode(resp *http.Response, out any) error {
	if out == nil {
		return nil
	}
	req := x.req
	body := trimBOM(x.bodyOf(resp))
	if len(body) == 0 {
		return x.apiError(req, resp, nil, errors.New("empty body where JSON was expected"))
	}
	if err := json.Unmarshal(body, out); err != nil {
		secrets := x.secrets(req.URL)
		cause := cleanError("the body is not the expected JSON: ", err, secrets...)
		// Quote only what is clearly not JSON (an HTML page, say).
		if first := bytes.TrimLeft(body, " \t\r\n"); len(first) == 0 || first[0] != '{' && first[0] != '[' {
			cause = errors.New(snippet(resp.Header.Get("Content-Type"), body, secrets...))
		}
		return x.apiError(req, resp, nil, cause)
	}
	if v, ok := out.(interface{ complete() bool }); ok && !v.complete() {
		return x.apiError(req, resp, nil, errors.New("the JSON lacks fields the service always sends"))
	}
	return nil
}

// transportError turns what the retry loop returned without a response into
// the error the caller sees.
func (x *exchange) transportError(ctx context.Context, req *http.Request, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		if x.last != nil {
			// Cancelled while backing off after a failed attempt: keep both.
			return errors.Join(ctxErr, x.apiError(req, x.last, x.lastBody, nil))
		}
		return fmt.Errorf("powerbi: %s %s: %w", req.Method, redactedURL(req.URL), ctxErr)
	}
	var nr noRetryError
	if errors.As(err, &nr) {
		return nr.error
	}
	var be *bodyError
	if errors.As(err, &be) {
		return x.apiError(req, be.resp, nil, be)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	// A transport's error may quote the request (a proxy's, say): its text is cleaned.
	err = cleanError("", err, x.secrets(req.URL)...)
	return fmt.Errorf("powerbi: %s %s: %w (%d attempts)", req.Method, redactedURL(req.URL), err, x.attempts)
}

// apiError describes a response as an *APIError. cause is set for a 2xx that
// could not be used (or a body that could not be read or was too large).
func (x *exchange) apiError(req *http.Request, resp *http.Response, body []byte, cause error) *APIError {
	secrets := x.secrets(req.URL)
	e := &APIError{
		StatusCode: resp.StatusCode,
		RequestID:  oneLine(resp.Header.Get("RequestId"), 64, secrets...),
		Method:     req.Method,
		URL:        redactedURL(req.URL),
		Attempts:   int(x.attempts),
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

// secrets lists what must not reach an error text or a log line even when a
// server quotes it back: the access token sent and u's query string.
func (x *exchange) secrets(u *url.URL) []string {
	if x.token == nil {
		return querySecrets(u)
	}
	return append(querySecrets(u), x.token.tok.Token)
}

// log writes one line per attempt: method, path (never the query string),
// status, RequestId, attempt and duration. Never a header or a body.
func (x *exchange) log(ctx context.Context, level slog.Level, req *http.Request, status int, rid string, start time.Time, err error) {
	l := x.c.logger
	if l == nil || !l.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", req.Method),
		slog.String("path", req.URL.EscapedPath()),
		slog.Int("attempt", int(x.attempts)),
		slog.Duration("duration", time.Since(start)),
	}
	if status != 0 {
		attrs = append(attrs, slog.Int("status", status))
	}
	if rid != "" {
		attrs = append(attrs, slog.String("request_id", oneLine(rid, 64, x.secrets(req.URL)...)))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", oneLine(err.Error(), 200, x.secrets(req.URL)...)))
	}
	l.LogAttrs(ctx, level, "powerbi: request", attrs...)
}

var (
	acceptJSON      = []string{"application/json"}
	contentTypeJSON = []string{"application/json; charset=utf-8"}
)

// bodyError is a response whose body could not be read to the end. An
// idempotent call retries it like a connection error.
type bodyError struct {
	resp *http.Response
	err  error
}

func (e *bodyError) Error() string { return "reading the response body: " + e.err.Error() }
func (e *bodyError) Unwrap() error { return ErrUnexpectedResponse }

// noRetryError marks a transport-level error that retrying cannot fix (an
// authentication failure, a response body over the size cap, a refused
// redirect).
type noRetryError struct{ error }

func (e noRetryError) Unwrap() error { return e.error }

var errBodyTooLarge = errors.New("body too large")

// exactBodyMax bounds the buffer readBody makes up front from a
// Content-Length: a server cannot make a call hold more memory than it sends.
const exactBodyMax = 64 << 10

// readBody reads r to the end, or fails once more than limit bytes come.
// When the response says its length (size > 0) and it is small, one buffer
// of that size holds it; otherwise, or if more comes than it said, the buffer
// grows as bytes come.
func readBody(r io.Reader, limit, size int64) ([]byte, error) {
	var prefix []byte
	if size > 0 && size <= min(limit, exactBodyMax) {
		buf := make([]byte, size+1) // one byte more: a body longer than it said is seen
		n, err := io.ReadFull(r, buf)
		switch {
		case err == io.ErrUnexpectedEOF && int64(n) == size:
			return buf[:n], nil
		case err != nil:
			return nil, err
		}
		prefix = buf // more than it said: read on
	}
	buf := bytes.NewBuffer(prefix)
	n, err := buf.ReadFrom(io.LimitReader(r, limit+1-int64(len(prefix))))
	if err != nil {
		return nil, err
	}
	if int64(len(prefix))+n > limit {
		return nil, errBodyTooLarge
	}
	return buf.Bytes(), nil
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
			if !isPlainValue(v) {
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

// checkPath validates a Client.Do path: relative to the API root, with no
// query, fragment or dot segments that could leave it.
func checkPath(p string) error {
	switch {
	case p == "":
		return invalid("Request.Path", "is empty")
	case strings.HasPrefix(p, "/") || strings.Contains(p, "://"):
		return invalid("Request.Path", "must be relative to /v1.0/myorg/, e.g. \"groups\"")
	case strings.ContainsAny(p, "?#\\") || strings.ContainsFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return invalid("Request.Path", "must not contain a query, a fragment, a backslash, spaces or control characters (put the query in Request.Query)")
	}
	for _, seg := range strings.Split(p, "/") {
		if u, err := url.PathUnescape(seg); err != nil || u == "." || u == ".." || strings.Contains(u, "/") && seg != u {
			return invalid("Request.Path", "has a segment that is not a plain escaped name: %q", oneLine(seg, 40))
		}
	}
	return nil
}

// Do sends req under the API root (https://api.powerbi.com/v1.0/myorg/...)
// through the Client's request path: authentication, retries, typed errors,
// redaction and logging, as for the package's own methods. A 2xx JSON body is
// decoded into out unless out is nil. It returns the response's headers. Use
// it for an operation the package does not have yet.
func (c *Client) Do(ctx context.Context, req *Request, out any) (http.Header, error) {
	if req == nil {
		return nil, invalid("Request", "is nil")
	}
	switch req.Method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return nil, invalid("Request.Method", "must be GET, POST, PUT, PATCH or DELETE, got %q", oneLine(req.Method, 10))
	}
	if err := checkPath(req.Path); err != nil {
		return nil, err
	}
	r := *req
	r.rawQuery, r.upload, r.minLife, r.download = "", nil, 0, false
	return c.send(ctx, &r, out)
}

// send sends r and decodes its JSON body into out; it returns the response headers.
func (c *Client) send(ctx context.Context, r *Request, out any) (http.Header, error) {
	x, resp, err := c.exchange(ctx, r)
	if err != nil {
		return nil, err
	}
	return resp.Header, x.decode(resp, out)
}

// inGroupOp is the operation ID of a call that has a My-workspace form and
// an InGroup form, from its path.
func inGroupOp(op, path string) string {
	if strings.HasPrefix(path, "groups/") {
		return op + "InGroup"
	}
	return op
}
