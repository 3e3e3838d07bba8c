package powerbi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

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

	rateLimits         []RateLimit // WithRateLimits', in order
	noDocumentedLimits bool
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
// WithRateLimits sets the client-side rate budgets of the classes it names,
// in place of the documented ones for those classes (DocumentedRateLimits);
// a RateLimit with Requests 0 removes its class's budget. Budgets are per
// principal and per profile in effect. Several limits may name one class
// (say 50 an hour and 5 a minute): a call waits for all of them.
func WithRateLimits(limits ...RateLimit) Option {
	return func(cfg *clientConfig) error {
		for i, l := range limits {
			switch {
			case l.Class == "":
				return invalid(fmt.Sprintf("WithRateLimits: limits[%d].Class", i), "is empty")
			case l.Requests < 0:
				return invalid(fmt.Sprintf("WithRateLimits: limits[%d].Requests", i), "must not be negative")
			case l.Requests > 0 && l.Per <= 0:
				return invalid(fmt.Sprintf("WithRateLimits: limits[%d].Per", i), "must be positive")
			}
		}
		cfg.rateLimits = append(cfg.rateLimits, limits...)
		return nil
	}
}

// WithoutDocumentedRateLimits starts the Client with no rate budget but those
// WithRateLimits sets. The service's own limits still apply: a 429 makes every
// caller of its class wait out the Retry-After.
func WithoutDocumentedRateLimits() Option {
	return func(cfg *clientConfig) error {
		cfg.noDocumentedLimits = true
		return nil
	}
}

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
