package powerbi

import (
	"bytes"
	lru "container/list"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"hash"
	"log/slog"
	"slices"
	"sync"
	"time"
	"weak"
)

// Defaults of EmbedCacheOptions.
const (
	DefaultEmbedRefreshMargin = 10 * time.Minute
	DefaultEmbedCacheEntries  = 1000

	// refreshWaitMax bounds how long the caller that opens a config's
	// refresh margin waits for the new one before it is served the old one,
	// which is still valid.
	refreshWaitMax = 5 * time.Second
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
	// Now is the clock (default: the Client's, see WithClock); tests may drive it.
	Now func() time.Time
	// Logger receives a warning when a refresh fails, and when the Store
	// fails (once, until it answers again) (default: none).
	Logger *slog.Logger
	// Store, when set, shares embed configurations between the replicas of a
	// service (see EmbedStore): a replica that misses locally reads the
	// store, and only one replica at a time generates a token for a key while
	// the others wait and read it. When the store fails or is slow, each
	// replica generates on its own, as without a store. Nil: the cache is
	// local to this process.
	Store EmbedStore
}

// EmbedCache shares embed configurations between page views: every request
// for the same item with the same options, as the same service principal
// profile, gets the same embed token until it nears its expiration. Requests
// that differ in anything that changes what a token grants (the item, its
// workspace, the access, any identity field, the lifetime, the profile in
// effect) never share a token. One GenerateToken per key runs at a time (the
// others wait for it); within the refresh margin the first caller waits for
// the refresh (up to its deadline, at most 5 seconds; then, or if the refresh
// fails, it gets the cached token), and the cached token is served at once to
// the callers that come while the refresh runs; a refresh runs detached from any one caller,
// on a copy of its options; a failed refresh keeps serving the cached config
// while it is valid and is not tried again for 30 seconds. Expired entries are
// dropped. It is safe for concurrent use.
type EmbedCache struct {
	client  *Client
	margin  time.Duration
	max     int
	now     func() time.Time
	logger  *slog.Logger
	macs    sync.Pool // of *keyer: HMAC-SHA256 under a per-cache secret
	timeout time.Duration
	shared  *sharedStore // nil without a Store

	mu       sync.Mutex
	entries  map[string]*lru.Element // of *embedEntry
	order    *lru.List               // front: most recently used
	earliest time.Time               // no cached config expires before this
	sweeper  *time.Timer             // drops expired entries when no call comes
}

type embedEntry struct {
	key         string
	storeKey    string       // the entry's name in the Store, if any
	conf        *EmbedConfig // nil until a first success
	issuedAt    time.Time
	nextAttempt time.Time // after a failed refresh: no new one before this while conf is valid
	flight      *flight[*storedConfig]
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
		o.Now = client.now
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("powerbi: a key for the embed cache: %w", err)
	}
	ec := &EmbedCache{client: client, margin: o.RefreshMargin, max: o.MaxEntries, now: o.Now, logger: o.Logger,
		timeout: refreshTimeout, entries: map[string]*lru.Element{}, order: lru.New()}
	ec.macs.New = func() any { return &keyer{mac: hmac.New(sha256.New, secret)} }
	if o.Store != nil {
		ec.shared = &sharedStore{store: o.Store, logger: o.Logger, now: o.Now, margin: o.RefreshMargin}
	}
	return ec, nil
}

// Report is Client.ReportEmbedConfig through the cache.
func (ec *EmbedCache) Report(ctx context.Context, groupID, reportID string, opts *EmbedOptions) (*EmbedConfig, error) {
	return ec.get(ctx, EmbedTypeReport, opts, groupID, reportID)
}

// Dashboard is Client.DashboardEmbedConfig through the cache.
func (ec *EmbedCache) Dashboard(ctx context.Context, groupID, dashboardID string, opts *EmbedOptions) (*EmbedConfig, error) {
	return ec.get(ctx, EmbedTypeDashboard, opts, groupID, dashboardID)
}

// Tile is Client.TileEmbedConfig through the cache.
func (ec *EmbedCache) Tile(ctx context.Context, groupID, dashboardID, tileID string, opts *EmbedOptions) (*EmbedConfig, error) {
	return ec.get(ctx, EmbedTypeTile, opts, groupID, dashboardID, tileID)
}

// QnA is Client.QnAEmbedConfig through the cache.
func (ec *EmbedCache) QnA(ctx context.Context, groupID, datasetID string, opts *EmbedOptions) (*EmbedConfig, error) {
	return ec.get(ctx, EmbedTypeQnA, opts, groupID, datasetID)
}

// Len is the number of cached entries; expired ones are dropped first.
func (ec *EmbedCache) Len() int {
	ec.mu.Lock()
	defer ec.mu.Unlock()
	ec.sweepLocked(ec.now())
	return ec.order.Len()
}

// embedRequest is one request for an embed config as the cache keeps it: the
// item, the profile in effect, and a deep copy of the caller's options, so
// that nothing the caller does after the call returns reaches a detached
// refresh or its key.
type embedRequest struct {
	Kind    EmbedType     `json:"k"`
	IDs     []string      `json:"i"` // the workspace, then the item's IDs
	Profile string        `json:"p"`
	Options *EmbedOptions `json:"o"`
}

// keyer computes the keys of one cache: an HMAC under the cache's secret,
// so that a heap dump holds no identity, and no hash that a guessed username
// could be checked against. Keyers are pooled: a cache hit allocates none.
type keyer struct {
	mac hash.Hash
	sum [sha256.Size]byte
	buf bytes.Buffer
}

// key returns r's key, valid until k goes back to the pool, and r's
// canonical encoding (for a store), cleared when k is put back.
func (k *keyer) key(r *embedRequest) (key, encoded []byte, err error) {
	k.buf.Reset()
	if err := json.NewEncoder(&k.buf).Encode(r); err != nil {
		return nil, nil, fmt.Errorf("powerbi: encoding EmbedOptions: %w", err)
	}
	k.mac.Reset()
	k.mac.Write(k.buf.Bytes())
	return k.mac.Sum(k.sum[:0]), k.buf.Bytes(), nil
}

func (ec *EmbedCache) putKeyer(k *keyer) {
	clear(k.buf.Bytes())
	ec.macs.Put(k)
}

// generate returns the config of e's request: through the store when there
// is one, else a new one from the API.
func (ec *EmbedCache) generate(e *embedEntry, r *embedRequest) func(context.Context) (*storedConfig, error) {
	fetch := r.fetch(ec.client)
	if ec.shared == nil {
		return func(ctx context.Context) (*storedConfig, error) {
			conf, err := fetch(ctx)
			if err != nil {
				return nil, err
			}
			return &storedConfig{Config: conf, IssuedAt: ec.now()}, nil
		}
	}
	return func(ctx context.Context) (*storedConfig, error) { return ec.shared.fetch(ctx, e.storeKey, fetch) }
}

// fetch generates the config, as the request's profile.
func (r *embedRequest) fetch(c *Client) func(context.Context) (*EmbedConfig, error) {
	return func(ctx context.Context) (*EmbedConfig, error) {
		ctx = ContextWithProfileID(ctx, r.Profile)
		ids, o := r.IDs, r.Options
		switch r.Kind {
		case EmbedTypeReport:
			return c.ReportEmbedConfig(ctx, ids[0], ids[1], o)
		case EmbedTypeDashboard:
			return c.DashboardEmbedConfig(ctx, ids[0], ids[1], o)
		case EmbedTypeTile:
			return c.TileEmbedConfig(ctx, ids[0], ids[1], ids[2], o)
		default:
			return c.QnAEmbedConfig(ctx, ids[0], ids[1], o)
		}
	}
}

func (ec *EmbedCache) get(ctx context.Context, kind EmbedType, opts *EmbedOptions, ids ...string) (*EmbedConfig, error) {
	profile, err := ec.client.profile(ctx)
	if err != nil {
		return nil, err
	}
	// Bad options fail here, before an entry or a refresh exists.
	if _, err := opts.check(kind == EmbedTypeReport); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &zeroOptions // nil and the zero value ask for the same token
	}
	// The caller's options are read here, while the call lasts; a refresh,
	// which outlives it, gets a deep copy (below).
	req := embedRequest{Kind: kind, IDs: ids, Profile: profile, Options: opts}
	k := ec.macs.Get().(*keyer)
	defer ec.putKeyer(k)
	key, encoded, err := k.key(&req)
	if err != nil {
		return nil, err
	}

	ec.mu.Lock()
	now := ec.now()
	ec.sweepLocked(now)
	var e *embedEntry
	if el, ok := ec.entries[string(key)]; ok {
		ec.order.MoveToFront(el)
		e = el.Value.(*embedEntry)
	} else {
		e = &embedEntry{key: string(key)}
		if ec.shared != nil {
			e.storeKey = ec.shared.store.Key(encoded)
		}
		ec.entries[e.key] = ec.order.PushFront(e)
		for ec.order.Len() > ec.max {
			old := ec.order.Back()
			ec.order.Remove(old)
			delete(ec.entries, old.Value.(*embedEntry).key)
		}
	}
	fresh, usable := e.state(now, ec.margin)
	if fresh || usable && (e.flight != nil || now.Before(e.nextAttempt)) {
		conf := e.conf.clone()
		ec.mu.Unlock()
		return conf, nil
	}
	f := e.flight
	if f == nil {
		owned := req
		owned.IDs, owned.Options = slices.Clone(ids), opts.clone()
		f = startFlight(ctx, "generating an embed config", ec.timeout, ec.generate(e, &owned), func(v *storedConfig, err error) { ec.land(e, v, err) })
		e.flight = f
	}
	var conf *EmbedConfig
	if usable {
		conf = e.conf.clone()
	}
	ec.mu.Unlock()
	if usable {
		// Inside the refresh margin, the caller that opened it waits for the
		// refresh, so that a page asking for a new token gets one; but no
		// longer than its own deadline or refreshWaitMax: then, or when the
		// refresh fails, it gets the valid config. The callers that come
		// while the refresh runs are served at once (above).
		wctx, cancel := context.WithTimeout(ctx, refreshWaitMax)
		defer cancel()
		if v, err := f.wait(wctx); err == nil {
			return v.Config.clone(), nil
		}
		return conf, nil
	}

	v, err := f.wait(ctx)
	if err == nil {
		return v.Config.clone(), nil
	}
	if ctx.Err() != nil {
		return nil, err
	}
	ec.mu.Lock()
	defer ec.mu.Unlock()
	if _, usable := e.state(ec.now(), ec.margin); usable {
		return e.conf.clone(), nil
	}
	return nil, err
}

// state tells whether e's config needs no refresh (fresh) and whether it may
// still be handed out (usable: it will not expire on the way to the page).
func (e *embedEntry) state(now time.Time, margin time.Duration) (fresh, usable bool) {
	c := e.conf
	if c == nil {
		return false, false
	}
	left, life := c.Expiration.Sub(now), c.Expiration.Sub(e.issuedAt)
	return left > refreshMargin(margin, life), left > expiryMargin(life)
}

// land records a finished refresh of e. A failure keeps a config that is
// still valid (get decides) and puts off the next attempt; with nothing to
// keep, the key is forgotten rather than held empty.
func (ec *EmbedCache) land(e *embedEntry, v *storedConfig, err error) {
	ec.mu.Lock()
	defer ec.mu.Unlock()
	e.flight = nil
	now := ec.now()
	if err == nil {
		e.conf, e.issuedAt, e.nextAttempt = v.Config, v.IssuedAt, time.Time{}
		ec.expiresAt(v.Config.Expiration)
		return
	}
	e.nextAttempt = now.Add(retryRefreshAfter)
	_, usable := e.state(now, ec.margin)
	if !usable {
		ec.removeLocked(e)
	}
	if ec.logger != nil {
		ec.logger.Warn("powerbi: embed token refresh failed", "error", err.Error(), "keeping_valid_token", usable)
	}
}

func (ec *EmbedCache) removeLocked(e *embedEntry) {
	if el, ok := ec.entries[e.key]; ok && el.Value == e {
		ec.order.Remove(el)
		delete(ec.entries, e.key)
	}
}

// sweepLocked drops the entries whose config has expired, once the earliest
// expiration has passed, and arms a timer for the next one, so that a token
// does not outlive its use in memory even when no call comes.
func (ec *EmbedCache) sweepLocked(now time.Time) {
	if ec.earliest.IsZero() || now.Before(ec.earliest) {
		return
	}
	ec.earliest = time.Time{}
	for el := ec.order.Front(); el != nil; {
		next := el.Next()
		if e := el.Value.(*embedEntry); e.conf != nil {
			if e.conf.Expiration.After(now) {
				ec.expiresAt(e.conf.Expiration)
			} else if e.flight == nil {
				ec.removeLocked(e)
			}
		}
		el = next
	}
}

// expiresAt notes that a cached config expires at t. The sweeper holds the
// cache weakly: an EmbedCache nobody uses any more is not kept alive by it.
func (ec *EmbedCache) expiresAt(t time.Time) {
	if !ec.earliest.IsZero() && !t.Before(ec.earliest) {
		return
	}
	ec.earliest = t
	wait := t.Sub(ec.now()) + time.Second
	if ec.sweeper != nil {
		ec.sweeper.Reset(wait)
		return
	}
	w := weak.Make(ec)
	ec.sweeper = time.AfterFunc(wait, func() {
		if ec := w.Value(); ec != nil {
			ec.Len()
		}
	})
}

func (c *EmbedConfig) clone() *EmbedConfig {
	out := *c
	out.DatasetIDs = slices.Clone(c.DatasetIDs)
	return &out
}

// zeroOptions stands for nil options; nothing writes to it.
var zeroOptions EmbedOptions

// clone is a deep copy of the options, nil for nil.
func (o *EmbedOptions) clone() *EmbedOptions {
	if o == nil {
		return nil
	}
	out := *o
	out.Identities = slices.Clone(o.Identities)
	for i := range out.Identities {
		id := &out.Identities[i]
		id.Roles, id.Datasets, id.Reports = slices.Clone(id.Roles), slices.Clone(id.Datasets), slices.Clone(id.Reports)
		if id.IdentityBlob != nil {
			blob := *id.IdentityBlob
			id.IdentityBlob = &blob
		}
	}
	return &out
}
