package powerbi

import (
	"context"
	"fmt"
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
// refreshTimeout. A panic in fetch becomes an error naming what panicked, not
// its value, which could hold a secret. land records the result (under its
// owner's lock) before the waiters are released.
func startFlight[T any](ctx context.Context, what string, fetch func(context.Context) (T, error), land func(T, error)) *flight[T] {
	f := &flight[T]{done: make(chan struct{})}
	go func() {
		defer close(f.done)
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
		defer cancel()
		f.val, f.err = recovered(ctx, what, fetch)
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
