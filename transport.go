package powerbi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// apiTransport runs inside the retry loop, once per attempt: it puts a fresh
// access token on the request (only over https, only to the API host), reads
// the whole response body (capped) so a truncated body is seen and retried
// before success is reported, and replays a request once when the API refuses
// the token as expired or invalid.
type apiTransport struct {
	base        http.RoundTripper
	tokens      *tokenCache
	host        string
	allowHTTP   bool
	logger      *slog.Logger
	bodyTimeout time.Duration
}

// bodyError is a response whose body could not be read to the end. It is
// retried like a connection error.
type bodyError struct {
	resp *http.Response
	err  error
}

func (e *bodyError) Error() string { return "reading the response body: " + e.err.Error() }
func (e *bodyError) Unwrap() error { return ErrUnexpectedResponse }

func (t *apiTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	st, _ := req.Context().Value(callStateKey{}).(*callState)
	if st == nil {
		st = &callState{}
	}
	// A redirect to another host, or to plain http, goes without the token.
	authorize := req.URL.Host == t.host && (req.URL.Scheme == "https" || t.allowHTTP)
	resp, token, err := t.send(req, st, authorize)
	if err != nil || !authorize || st.replayed || req.GetBody == nil || !t.renew(resp, st.lastBody, token) {
		return resp, err
	}
	// The token was dropped: replay once per call with a new one. A second
	// refusal, in this attempt or a later one, is returned as it is.
	st.replayed = true
	body, err := req.GetBody()
	if err != nil {
		return resp, nil
	}
	replay := *req
	replay.Body = body
	resp, _, err = t.send(&replay, st, true)
	return resp, err
}

func (t *apiTransport) send(req *http.Request, st *callState, authorize bool) (*http.Response, string, error) {
	ctx := req.Context()
	// req is always the SDK's own (built in Client.do, or a redirect
	// net/http built from it), so its header is set in place: cloning it on
	// every attempt was the largest allocation of the request path.
	var token string
	if authorize {
		tok, err := t.tokens.get(ctx, st.minLife)
		if err != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, "", noRetryError{err}
		}
		token = tok.tok.Token
		st.token = token
		req.Header["Authorization"] = tok.bearer
	} else {
		delete(req.Header, "Authorization")
	}
	st.attempts++
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		t.log(ctx, slog.LevelWarn, req, st, 0, "", start, err)
		return nil, token, err
	}
	limit := int64(maxSuccessBody)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		limit = maxErrorBody
	}
	// Closing the body from the timer ends a read that is still waiting. The
	// read may then end without an error, so whether the timer fired decides:
	// what was read by then is not the whole body.
	timer := time.AfterFunc(t.bodyTimeout, func() { resp.Body.Close() })
	body, err := readBody(resp.Body, limit)
	if !timer.Stop() {
		err = fmt.Errorf("the body did not arrive in full within %s", t.bodyTimeout)
	}
	resp.Body.Close()
	rid := resp.Header.Get("RequestId") // raw: cleaned only where quoted
	if err != nil {
		t.log(ctx, slog.LevelWarn, req, st, resp.StatusCode, rid, start, err)
		resp.Body = http.NoBody
		if errors.Is(err, errBodyTooLarge) {
			return nil, token, noRetryError{st.apiError(req, resp, nil, fmt.Errorf("the body is larger than %d bytes", limit))}
		}
		return nil, token, &bodyError{resp: resp, err: err}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	st.last, st.lastBody = resp, body
	level := slog.LevelDebug
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		level = slog.LevelWarn
	case resp.StatusCode >= 400:
		level = slog.LevelInfo
	}
	t.log(ctx, level, req, st, resp.StatusCode, rid, start, nil)
	return resp, token, nil
}

// log writes one line per attempt: method, path (never the query string),
// status, RequestId, attempt and duration. Never a header or a body.
func (t *apiTransport) log(ctx context.Context, level slog.Level, req *http.Request, st *callState, status int, rid string, start time.Time, err error) {
	if t.logger == nil || !t.logger.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", req.Method),
		slog.String("path", req.URL.EscapedPath()),
		slog.Int("attempt", st.attempts),
		slog.Duration("duration", time.Since(start)),
	}
	if status != 0 {
		attrs = append(attrs, slog.Int("status", status))
	}
	if rid != "" {
		attrs = append(attrs, slog.String("request_id", oneLine(rid, 64, st.secrets(req.URL)...)))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", oneLine(err.Error(), 200, st.secrets(req.URL)...)))
	}
	t.logger.LogAttrs(ctx, level, "powerbi: request", attrs...)
}

// renew drops the token a 401 or 403 answered, and reports whether it did.
// A refusal of the token itself (a 401 InvalidToken, a 401 or 403
// TokenExpired, in the body or in X-PowerBI-Error-Info) always drops it. Any other 401 (say, the caller is
// not a member of the workspace) drops it at most once per staleRenewal: the
// token's group claims may predate a change of membership or tenant settings,
// but a new token on every forbidden call would only get Entra to throttle.
func (t *apiTransport) renew(resp *http.Response, body []byte, token string) bool {
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
		return false
	}
	var e APIError
	e.parseBody(resp.Header, body)
	switch {
	case e.Code == "TokenExpired" || resp.StatusCode == http.StatusUnauthorized && tokenRefusalCodes[e.Code]:
		t.tokens.invalidate(token)
		return true
	case resp.StatusCode == http.StatusUnauthorized:
		return t.tokens.renewStale(token)
	}
	return false
}

// tokenRefusalCodes are the error codes with which a 401 refuses the access
// token itself.
var tokenRefusalCodes = map[string]bool{"InvalidToken": true, "TokenExpired": true, "InvalidAuthenticationToken": true, "ExpiredAuthenticationToken": true}

var errBodyTooLarge = errors.New("body too large")

// readBody reads r to the end, or fails once more than limit bytes come.
func readBody(r io.Reader, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, errBodyTooLarge
	}
	return buf.Bytes(), nil
}
