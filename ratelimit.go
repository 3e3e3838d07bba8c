package powerbi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit is a client-side budget: at most Requests calls of Class in any
// window of length Per, for each principal (and each profile) a Client acts
// as. A call waits for its budget, bounded by its context, instead of
// provoking a 429.
type RateLimit struct {
	// Class is an operation's ID ("Admin_GetActivityEvents",
	// "Groups_GetGroupsAsAdmin") or the class several share
	// ("ExecuteQueries": Datasets_ExecuteQueries and
	// Datasets_ExecuteQueriesInGroup, 120 a minute per user whatever the
	// dataset).
	Class    string
	Requests int
	Per      time.Duration
}

// DocumentedRateLimits returns the limits the contract's descriptions state
// (60 classes: most admin operations 200 an hour, the admin lists of
// datasets, reports, dashboards and workspaces 50 an hour and 5 or 15 a
// minute, the scanner 500 an hour, ExecuteQueries 120 a minute, ...). A
// Client keeps to them unless WithRateLimits says otherwise. docs/service.md
// lists them with their sources.
func DocumentedRateLimits() []RateLimit {
	return append([]RateLimit(nil), documentedLimits...)
}

// classOf is the budget class of an operation.
func classOf(op string) string {
	if c, ok := rateClasses[op]; ok {
		return c
	}
	return op
}

// BudgetError is a call that was not sent because it could not wait for its
// budget within its context: the client-side budget of its class
// (WithRateLimits), or the Retry-After a 429 of its class gave every caller
// (which is not waited for past RetryPolicy.MaxRetryAfter either).
// errors.Is(err, ErrThrottled) matches it.
type BudgetError struct {
	Class      string
	RetryAfter time.Duration // how long the call would have had to wait
	Method     string
	URL        string // without the query string
	Reason     string
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("powerbi: %s %s: not sent: %s; it could be sent in %s",
		e.Method, e.URL, e.Reason, e.RetryAfter.Round(time.Millisecond))
}

// Is matches ErrThrottled.
func (e *BudgetError) Is(target error) bool { return target == ErrThrottled }

// budgets are a Client's rate budgets and the 429 windows of its classes, per
// class and profile in effect.
type budgets struct {
	limits    map[string][]RateLimit // by class; set by NewClient, then only read
	maxWindow time.Duration          // RetryPolicy.MaxRetryAfter: a longer 429 window is not waited for
	logger    *slog.Logger

	mu    sync.RWMutex
	byKey map[budgetKey]*budget
}

type budgetKey struct{ class, profile string }

// budget is one class's, for one profile: its limiters, and the time before
// which a 429 asked every caller to wait.
type budget struct {
	limiters []*rate.Limiter
	limits   []RateLimit

	mu    sync.Mutex
	until time.Time
}

// newBudgets starts from the documented limits (unless noDocumented), then
// lets each class that set names have set's limits instead.
func newBudgets(noDocumented bool, set []RateLimit, maxWindow time.Duration, logger *slog.Logger) *budgets {
	b := &budgets{limits: map[string][]RateLimit{}, maxWindow: maxWindow, logger: logger, byKey: map[budgetKey]*budget{}}
	if !noDocumented {
		for _, l := range documentedLimits {
			b.limits[l.Class] = append(b.limits[l.Class], l)
		}
	}
	replaced := map[string]bool{}
	for _, l := range set {
		if !replaced[l.Class] {
			delete(b.limits, l.Class)
			replaced[l.Class] = true
		}
		if l.Requests > 0 {
			b.limits[l.Class] = append(b.limits[l.Class], l)
		}
	}
	return b
}

// limiter keeps to n calls in any window of length per, as the service
// counts them on arrival: a token bucket of burst b, refilled at
// (n-b)/(per+jitter), lets through at most b + (n-b) = n in any window of
// per+jitter, so calls that take up to jitter longer on the way than the
// ones before them still arrive n to a window. The burst is a fiftieth of n
// (at least 1), the jitter a hundredth of per (at most 50 ms): a budget
// gives up about 3% of its rate to be sure.
func limiter(l RateLimit) *rate.Limiter {
	burst := max(1, l.Requests/50)
	window := l.Per + min(l.Per/100, 50*time.Millisecond)
	if l.Requests <= burst {
		return rate.NewLimiter(rate.Every(window), l.Requests)
	}
	return rate.NewLimiter(rate.Limit(float64(l.Requests-burst)/window.Seconds()), burst)
}

// get returns the budget of a class and profile; create makes it when there
// is none (with the class's limiters).
func (b *budgets) get(class, profile string, create bool) *budget {
	k := budgetKey{class, profile}
	b.mu.RLock()
	bu := b.byKey[k]
	b.mu.RUnlock()
	if bu != nil || !create {
		return bu
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if bu = b.byKey[k]; bu == nil {
		bu = &budget{limits: b.limits[class]}
		for _, l := range bu.limits {
			bu.limiters = append(bu.limiters, limiter(l))
		}
		b.byKey[k] = bu
	}
	return bu
}

// wait holds a call of class until it may be sent: past any 429 window of
// its class, then within every budget of it. It fails at once, with a
// *BudgetError, when that comes after ctx's deadline.
func (b *budgets) wait(ctx context.Context, class, profile string, req *http.Request) error {
	if class == "" {
		return nil
	}
	bu := b.get(class, profile, len(b.limits[class]) > 0)
	if bu == nil {
		return nil
	}
	bu.mu.Lock()
	until := bu.until
	bu.mu.Unlock()
	if d := time.Until(until); d > 0 {
		if d > b.maxWindow {
			// As for the call that got the 429: a wait past MaxRetryAfter is not made.
			return &BudgetError{Class: class, RetryAfter: d, Method: req.Method, URL: redactedURL(req.URL),
				Reason: fmt.Sprintf("the service throttled %s for longer than the retry policy's MaxRetryAfter (%s)", class, b.maxWindow)}
		}
		if err := sleep(ctx, d, func() error {
			return &BudgetError{Class: class, RetryAfter: d, Method: req.Method, URL: redactedURL(req.URL), Reason: "the service throttled " + class + " and asked every caller to wait, past the context's deadline"}
		}); err != nil {
			return err
		}
	}
	for i, l := range bu.limiters {
		lim := bu.limits[i]
		if err := take(ctx, l, func(d time.Duration) error {
			return &BudgetError{Class: class, RetryAfter: d, Method: req.Method, URL: redactedURL(req.URL),
				Reason: fmt.Sprintf("the rate budget of %s is %d calls per %s, and the context's deadline comes first", class, lim.Requests, lim.Per)}
		}); err != nil {
			return err
		}
	}
	return nil
}

// take waits until l allows one call. When that comes after ctx's deadline,
// or ctx ends first, it gives the reservation back; a deadline that comes
// first fails at once with tooLate(the wait).
func take(ctx context.Context, l *rate.Limiter, tooLate func(time.Duration) error) error {
	r := l.Reserve()
	d := r.Delay()
	if d == 0 {
		return nil
	}
	if err := sleep(ctx, d, func() error { return tooLate(d) }); err != nil {
		r.Cancel()
		return err
	}
	return nil
}

// sleep waits d, or fails at once with tooLate() when ctx's deadline comes
// first, or with ctx's error when ctx ends.
func sleep(ctx context.Context, d time.Duration, tooLate func() error) error {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		return tooLate()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// throttled records a 429 of class that asked to wait d: every caller of the
// class waits until then, so the class sees one 429 per window, not one per
// goroutine. A new window is logged once.
func (b *budgets) throttled(class, profile string, d time.Duration) {
	if class == "" || d <= 0 {
		return
	}
	bu := b.get(class, profile, true)
	until := time.Now().Add(d)
	bu.mu.Lock()
	opened := !bu.until.After(time.Now())
	if until.After(bu.until) {
		bu.until = until
	}
	bu.mu.Unlock()
	if opened && b.logger != nil {
		b.logger.Warn("powerbi: throttled; every call of the class waits", "class", class, "retry_after", d)
	}
}
