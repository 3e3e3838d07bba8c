package powerbi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Version is this SDK's version, sent in the User-Agent header.
const Version = "0.2.0"

// core is the Client's state, set once by NewClient and never changed: the
// Client is safe for concurrent use. Per-call state lives in an exchange.
type core struct {
	common service // what every service points to

	apiRoot         string // e.g. "https://api.powerbi.com/v1.0/myorg/"
	apiHost         string // the only host that receives the access token
	allowHTTP       bool
	base            http.RoundTripper // the pooled transport every attempt goes through
	checkRedirect   func(*http.Request, []*http.Request) error
	jar             http.CookieJar
	timeout         time.Duration
	retryPolicy     RetryPolicy
	backoff         retryablehttp.Backoff
	bodyTimeout     time.Duration
	tokens          *tokenCache
	logger          *slog.Logger
	userAgent       string
	userAgentHeader []string
	profileID       string
	minLifetime     time.Duration
	now             func() time.Time

	scanners sync.Map // profile in effect → *scanBudget: the scanner's budgets are the principal's, across calls
	budgets  *budgets // the rate budgets and 429 windows of the operation classes
}

// service is shared by all services: they hold no state of their own.
type service struct{ client *Client }

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
	hc := cfg.httpClient
	if hc == nil {
		hc = &http.Client{}
	}
	c := &Client{core: core{
		apiRoot:       root.String(),
		apiHost:       root.Host,
		allowHTTP:     cfg.allowHTTP,
		base:          baseTransport(cfg.httpClient),
		checkRedirect: bodyStaysOnAPIHost(root.Host, cfg.allowHTTP, hc.CheckRedirect),
		jar:           hc.Jar,
		timeout:       hc.Timeout,
		retryPolicy:   cfg.retry,
		backoff:       cfg.retry.backoff,
		bodyTimeout:   cfg.bodyTimeout,
		tokens:        newTokenCache(auth, cfg.logger),
		logger:        cfg.logger,
		userAgent:     cfg.userAgent + "gopowerbi/" + Version,
		profileID:     cfg.profileID,
		minLifetime:   cfg.minLifetime,
		now:           cfg.now,
		budgets:       newBudgets(cfg.noDocumentedLimits, cfg.rateLimits, cfg.retry.MaxRetryAfter, cfg.logger),
	}}
	c.tokens.now = cfg.now
	c.userAgentHeader = []string{c.userAgent}
	c.common.client = c
	c.initServices()
	return c, nil
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
