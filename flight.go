package powerbi

import (
	"context"
	"fmt"
	"time"
)

// flight is one refresh in progress, of the access token or of an embed
// config: every caller that needs the value waits on the same one.
type flight[T any] struct {
	done chan struct{}
	val  T
	err  error
}

// startFlight runs fetch on a context detached from the caller that started
// it, so one caller giving up does not fail the others, and bounded by
// timeout. A fetch that ignores its context and outlives the timeout is
// abandoned: the flight ends with an error, land clears it, and the next
// caller starts a new one; whatever the abandoned fetch returns later is
// dropped. A panic in fetch becomes an error naming what panicked, not its
// value, which could hold a secret. land records the result (under its
// owner's lock) before the waiters are released.
func startFlight[T any](ctx context.Context, what string, timeout time.Duration, fetch func(context.Context) (T, error), land func(T, error)) *flight[T] {
	f := &flight[T]{done: make(chan struct{})}
	go func() {
		defer close(f.done)
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		type result struct {
			val T
			err error
		}
		answer := make(chan result, 1) // buffered: an abandoned fetch does not block
		go func() {
			v, err := recovered(ctx, what, fetch)
			answer <- result{v, err}
		}()
		select {
		case r := <-answer:
			f.val, f.err = r.val, r.err
		case <-ctx.Done():
			f.err = fmt.Errorf("powerbi: %s did not answer within %s: %w", what, timeout, context.DeadlineExceeded)
		}
		land(f.val, f.err)
	}()
	return f
}

func recovered[T any](ctx context.Context, what string, fetch func(context.Context) (T, error)) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			var zero T
			v, err = zero, fmt.Errorf("powerbi: %s panicked (%T)", what, r)
		}
	}()
	return fetch(ctx)
}

// wait returns the flight's result, or the context's error if ctx ends first.
func (f *flight[T]) wait(ctx context.Context) (T, error) {
	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}
