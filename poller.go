package powerbi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
)

// ErrOperationFailed matches a long-running operation (an export, an import,
// a refresh, a scan, a deployment) that reached a terminal state other than
// success. The error is an *OperationError with the service's details.
var ErrOperationFailed = errors.New("powerbi: the operation failed")

// OperationError is a long-running operation that ended without success.
// errors.Is(err, ErrOperationFailed) matches it.
type OperationError struct {
	Operation string // "export", "import", "refresh", ...
	ID        string // the operation's ID (Poller.ID)
	Status    string // the terminal state, e.g. Failed, Cancelled, Disabled
	Code      string // the service's error code, when it gave one
	Message   string // the service's error message, when it gave one
}

func (e *OperationError) Error() string {
	var b strings.Builder
	b.WriteString("powerbi: ")
	b.WriteString(e.Operation)
	if e.ID != "" {
		b.WriteString(" ")
		b.WriteString(oneLine(e.ID, 80))
	}
	b.WriteString(" ended ")
	b.WriteString(orDash(oneLine(e.Status, 40)))
	if e.Code != "" {
		b.WriteString(": ")
		b.WriteString(oneLine(e.Code, 100))
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(oneLine(e.Message, 300))
	}
	return b.String()
}

// Is matches ErrOperationFailed.
func (e *OperationError) Is(target error) bool { return target == ErrOperationFailed }

// DefaultPollFrequency is WaitOptions.Frequency's default.
const DefaultPollFrequency = 5 * time.Second

// WaitOptions configure Poller.Wait. The zero value (or nil) polls every 5
// seconds unless the service says otherwise.
type WaitOptions[T any] struct {
	// Frequency is the time between polls when the service sends no
	// Retry-After (default 5 s). A Retry-After on a status response is
	// always honoured.
	Frequency time.Duration
	// Progress, when set, is called with the latest status after every poll
	// (on the goroutine that called Wait).
	Progress func(status *T)
}

// Poller follows one long-running operation of the service: an export, an
// import, a refresh. Begin... methods start the operation and return its
// poller; Resume... methods rebuild one from the operation's ID, so that a
// process that restarts can go on waiting. A Poller is not safe for
// concurrent use; the operation itself goes on at the service whatever the
// Poller does.
type Poller[T any] struct {
	kind   string
	id     string
	poll   func(ctx context.Context) (*T, http.Header, error)
	state  func(*T) (done bool, failure *OperationError)
	cancel func(ctx context.Context) error
	now    func() time.Time

	last       *T
	done       bool
	err        error         // the terminal failure, once seen
	retryAfter time.Duration // what the last status response asked for
}

// ID is the operation's ID: the export ID, the import ID, the refresh's
// request ID. Keep it to resume waiting later.
func (p *Poller[T]) ID() string { return p.id }

// Done reports whether a terminal state was seen.
func (p *Poller[T]) Done() bool { return p.done }

// Poll makes one status request and returns the latest status. Once the
// operation has ended, it returns the final status without a request; a
// failure is returned with it as an *OperationError (ErrOperationFailed).
func (p *Poller[T]) Poll(ctx context.Context) (*T, error) {
	if p.done {
		return p.last, p.err
	}
	st, h, err := p.poll(ctx)
	if err != nil {
		return p.last, err
	}
	p.last = st
	p.retryAfter = 0
	if h != nil {
		p.retryAfter = retryAfter(h, p.now())
	}
	done, failure := p.state(st)
	if done {
		p.done = true
		if failure != nil {
			if failure.Operation == "" {
				failure.Operation = p.kind
			}
			if failure.ID == "" {
				failure.ID = p.id
			}
			p.err = failure
		}
	}
	return st, p.err
}

// Wait polls until the operation ends and returns its final status: on
// success with a nil error, on failure with an *OperationError
// (ErrOperationFailed) carrying the service's details. Between polls it
// waits as long as the service's Retry-After asks, else opts.Frequency.
// When ctx ends first, it returns the latest status and ctx's error; the
// operation goes on at the service, and the poller can wait again.
func (p *Poller[T]) Wait(ctx context.Context, opts *WaitOptions[T]) (*T, error) {
	var o WaitOptions[T]
	if opts != nil {
		o = *opts
	}
	if o.Frequency < 0 {
		return nil, invalid("WaitOptions.Frequency", "must not be negative")
	}
	if o.Frequency == 0 {
		o.Frequency = DefaultPollFrequency
	}
	for {
		st, err := p.Poll(ctx)
		if err != nil && !p.done {
			var apiErr *APIError
			if ctx.Err() != nil || !errors.As(err, &apiErr) || !apiErr.temporary() {
				return st, err
			}
			// A status request that failed after its retries (the service
			// was busy): the operation goes on; so does the waiting.
		} else if o.Progress != nil && st != nil {
			o.Progress(st)
		}
		if p.done {
			return st, p.err
		}
		wait := o.Frequency
		if p.retryAfter > 0 {
			wait = p.retryAfter
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return st, ctx.Err()
		case <-t.C:
		}
	}
}

// Cancel asks the service to stop the operation, where it can be stopped (a
// refresh); the poller then sees its terminal state on the next poll. For an
// operation that cannot be cancelled it returns an error and sends nothing.
func (p *Poller[T]) Cancel(ctx context.Context) error {
	if p.cancel == nil {
		return invalid("Poller.Cancel", "a %s cannot be cancelled", p.kind)
	}
	return p.cancel(ctx)
}

// newPoller returns a poller of the client's clock.
func newPoller[T any](c *Client, kind, id string, poll func(context.Context) (*T, http.Header, error), state func(*T) (bool, *OperationError)) *Poller[T] {
	return &Poller[T]{kind: kind, id: id, poll: poll, state: state, now: c.now}
}

// pollJSON is the poll function of a status request.
func pollJSON[T any](c *Client, r Request) func(context.Context) (*T, http.Header, error) {
	return func(ctx context.Context) (*T, http.Header, error) {
		req := r
		var out T
		h, err := c.send(ctx, &req, &out)
		if err != nil {
			return nil, nil, err
		}
		return &out, h, nil
	}
}

// temporary reports whether the failed call may work if made again later:
// the service was throttling or unavailable.
func (e *APIError) temporary() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}
