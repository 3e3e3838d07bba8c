package powerbi

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// newDefaultTransport is one pooled transport per Client, with idle
// connections per host sized for concurrent page views, and timeouts on dial,
// TLS and response headers. A JSON body must then come in full within
// defaultBodyTimeout (see exchange.send), whatever transport is used; the
// caller's context bounds the whole call.
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

// baseTransport is hc's Transport, or the SDK's tuned default when it has none.
func baseTransport(hc *http.Client) http.RoundTripper {
	if hc != nil && hc.Transport != nil {
		return hc.Transport
	}
	return newDefaultTransport()
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

// redirectError is a redirect the SDK refused to follow.
type redirectError struct{ reason string }

func (e *redirectError) Error() string { return e.reason }
