package powerbi

import (
	lru "container/list"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// Defaults of EmbedCacheOptions.
const (
	DefaultEmbedRefreshMargin = 10 * time.Minute
	DefaultEmbedCacheEntries  = 1000
)

// EmbedCacheOptions configure an EmbedCache. The zero value (or nil) is usable.
type EmbedCacheOptions struct {
	// RefreshMargin: a cached config is refreshed when less than this is left
	// before its expiration (default 10 minutes; for a token that lives no
	// longer than the margin, half its lifetime, so short-lived tokens are not
	// regenerated on every call). Make it longer than the time ahead of
	// expiration at which the page asks for a new token, so that it gets one.
	RefreshMargin time.Duration
	// MaxEntries bounds the cache; the least recently used entry goes first
	// (default 1000).
	MaxEntries int
	// Now is the clock (default time.Now); tests may drive it.
	Now func() time.Time
	// Logger receives a warning when a refresh fails (default: none).
	Logger *slog.Logger
}

// EmbedCache shares embed configurations between page views: every request
// for the same item with the same options gets the same embed token until
// it nears its expiration. One GenerateToken per key runs at a time (the
// others wait for it); a refresh runs detached from any one caller; a failed
// refresh keeps serving the cached config while it is valid and is not tried
// again for 30 seconds. It is safe for concurrent use.
type EmbedCache struct {
	client *Client
	margin time.Duration
	max    int
	now    func() time.Time
	logger *slog.Logger

	mu      sync.Mutex
	entries map[string]*lru.Element // of *embedEntry
	order   *lru.List               // front: most recently used
}

type embedEntry struct {
	key         string
	conf        *EmbedConfig // nil until a first success
	issuedAt    time.Time
	nextAttempt time.Time // after a failed refresh: no new one before this while conf is valid
	flight      *flight[*EmbedConfig]
}

// NewEmbedCache returns a cache in front of client's *EmbedConfig calls.
func NewEmbedCache(client *Client, opts *EmbedCacheOptions) (*EmbedCache, error) {
	o := EmbedCacheOptions{}
	if opts != nil {
		o = *opts
	}
	switch {
	case client == nil:
		return nil, invalid("client", "is nil")
	case o.RefreshMargin < 0:
		return nil, invalid("EmbedCacheOptions.RefreshMargin", "must not be negative")
	case o.MaxEntries < 0:
		return nil, invalid("EmbedCacheOptions.MaxEntries", "must not be negative")
	}
	if o.RefreshMargin == 0 {
		o.RefreshMargin = DefaultEmbedRefreshMargin
	}
	if o.MaxEntries == 0 {
		o.MaxEntries = DefaultEmbedCacheEntries
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &EmbedCache{client: client, margin: o.RefreshMargin, max: o.MaxEntries, now: o.Now, logger: o.Logger,
		entries: map[string]*lru.Element{}, order: lru.New()}, nil
}

// Report is Client.ReportEmbedConfig through the cache.
func (ec *EmbedCache) Report(ctx context.Context, groupID, reportID string, opts *EmbedOptions) (*EmbedConfig, error) {
	return ec.get(ctx, opts, func(ctx context.Context) (*EmbedConfig, error) {
		return ec.client.ReportEmbedConfig(ctx, groupID, reportID, opts)
	}, "report", groupID, reportID)
}

// Dashboard is Client.DashboardEmbedConfig through the cache.
func (ec *EmbedCache) Dashboard(ctx context.Context, groupID, dashboardID string, opts *EmbedOptions) (*EmbedConfig, error) {
	return ec.get(ctx, opts, func(ctx context.Context) (*EmbedConfig, error) {
		return ec.client.DashboardEmbedConfig(ctx, groupID, dashboardID, opts)
	}, "dashboard", groupID, dashboardID)
}

// Tile is Client.TileEmbedConfig through the cache.
func (ec *EmbedCache) Tile(ctx context.Context, groupID, dashboardID, tileID string, opts *EmbedOptions) (*EmbedConfig, error) {
	return ec.get(ctx, opts, func(ctx context.Context) (*EmbedConfig, error) {
		return ec.client.TileEmbedConfig(ctx, groupID, dashboardID, tileID, opts)
	}, "tile", groupID, dashboardID, tileID)
}

// QnA is Client.QnAEmbedConfig through the cache.
func (ec *EmbedCache) QnA(ctx context.Context, groupID, datasetID string, opts *EmbedOptions) (*EmbedConfig, error) {
	return ec.get(ctx, opts, func(ctx context.Context) (*EmbedConfig, error) {
		return ec.client.QnAEmbedConfig(ctx, groupID, datasetID, opts)
	}, "qna", groupID, datasetID)
}

// Len is the number of cached entries.
func (ec *EmbedCache) Len() int {
	ec.mu.Lock()
	defer ec.mu.Unlock()
	return ec.order.Len()
}

// cacheKey identifies an item and the options of its token. Options are
// hashed: an identity blob is a credential and is not kept in a key.
func cacheKey(opts *EmbedOptions, parts ...string) (string, error) {
	key := strings.Join(parts, "\x00")
	if opts == nil {
		return key, nil
	}
	b, err := json.Marshal(opts)
	if err != nil {
		return "", fmt.Errorf("powerbi: encoding EmbedOptions: %w", err)
	}
	sum := sha256.Sum256(b)
	return key + "\x00" + string(sum[:]), nil
}

func (ec *EmbedCache) get(ctx context.Context, opts *EmbedOptions, fetch func(context.Context) (*EmbedConfig, error), parts ...string) (*EmbedConfig, error) {
	key, err := cacheKey(opts, parts...)
	if err != nil {
		return nil, err
	}
	ec.mu.Lock()
	now := ec.now()
	var e *embedEntry
	if el, ok := ec.entries[key]; ok {
		ec.order.MoveToFront(el)
		e = el.Value.(*embedEntry)
		if c := e.conf; c != nil {
			left := c.Expiration.Sub(now)
			want := ec.margin
			if life := c.Expiration.Sub(e.issuedAt); want >= life {
				want = life / 2 // a margin longer than the token's life would regenerate it on every call
			}
			if left > want || (left > 0 && now.Before(e.nextAttempt)) {
				ec.mu.Unlock()
				return c.clone(), nil
			}
		}
	} else {
		e = &embedEntry{key: key}
		ec.entries[key] = ec.order.PushFront(e)
		for ec.order.Len() > ec.max {
			old := ec.order.Back()
			ec.order.Remove(old)
			delete(ec.entries, old.Value.(*embedEntry).key)
		}
	}
	f := e.flight
	if f == nil {
		f = startFlight(ctx, "generating an embed config", fetch, func(conf *EmbedConfig, err error) { ec.land(e, conf, err) })
		e.flight = f
	}
	ec.mu.Unlock()

	conf, err := f.wait(ctx)
	if err == nil {
		return conf.clone(), nil
	}
	if ctx.Err() != nil {
		return nil, err
	}
	ec.mu.Lock()
	defer ec.mu.Unlock()
	if e.conf != nil && e.conf.Expiration.After(ec.now()) {
		return e.conf.clone(), nil
	}
	return nil, err
}

// land records a finished refresh of e. A failure keeps a config that is
// still valid (get decides) and puts off the next attempt; with nothing to
// keep, the key is forgotten rather than held empty.
func (ec *EmbedCache) land(e *embedEntry, conf *EmbedConfig, err error) {
	ec.mu.Lock()
	defer ec.mu.Unlock()
	e.flight = nil
	now := ec.now()
	if err == nil {
		e.conf, e.issuedAt, e.nextAttempt = conf, now, time.Time{}
		return
	}
	e.nextAttempt = now.Add(retryRefreshAfter)
	if e.conf == nil {
		if el, ok := ec.entries[e.key]; ok && el.Value == e {
			ec.order.Remove(el)
			delete(ec.entries, e.key)
		}
	}
	if ec.logger != nil {
		ec.logger.Warn("powerbi: embed token refresh failed", "error", err.Error(), "keeping_valid_token", e.conf != nil && e.conf.Expiration.After(now))
	}
}

func (c *EmbedConfig) clone() *EmbedConfig {
	out := *c
	out.DatasetIDs = slices.Clone(c.DatasetIDs)
	return &out
}
