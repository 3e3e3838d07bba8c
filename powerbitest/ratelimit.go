package powerbitest

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// rateLimit is a limit SetRateLimit gave an operation.
type rateLimit struct {
	requests int
	per      time.Duration
}

// SetRateLimit makes the fake refuse, per principal (a profile is one of its
// own), more than requests calls of an operation (its contract ID,
// "Reports_GetReportsInGroup") in any window of length per on the fake's
// clock, with 429 and the Retry-After of the window's end, as the service
// does past a quota. With the default frozen clock a window never ends: use
// WithRealClock, or Advance. requests 0 removes the limit. RateLimited counts
// the 429s.
func (s *Server) SetRateLimit(operationID string, requests int, per time.Duration) {
	_, _ = contractRoutes() // made now: the first call then finds its operation at once
	s.mu.Lock()
	defer s.mu.Unlock()
	if requests <= 0 {
		delete(s.rateLimits, operationID)
		return
	}
	s.rateLimits[operationID] = rateLimit{requests, per}
}

// RateLimited returns how many calls of an operation the fake refused with
// 429 for going over its SetRateLimit.
func (s *Server) RateLimited(operationID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rateLimited[operationID]
}

// overRateLimit answers 429 and reports true when the call goes over its
// operation's limit.
func (s *Server) overRateLimit(c *call) bool {
	s.mu.Lock()
	n := len(s.rateLimits)
	s.mu.Unlock()
	if n == 0 {
		return false
	}
	op := operationOf(c.r)
	if op == nil {
		return false
	}
	s.mu.Lock()
	l, ok := s.rateLimits[op.ID]
	var wait time.Duration
	over := false
	if ok {
		wait, over = s.overLimitLocked("rate "+op.ID+" "+c.principal, l.requests, l.per, arrival(c.r))
		if over {
			s.rateLimited[op.ID]++
		}
	}
	s.mu.Unlock()
	if !over {
		return false
	}
	c.w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
	s.pbiError(c.w, http.StatusTooManyRequests, "TooManyRequests", "You have exceeded the amount of requests allowed in the current time frame and further requests will fail.")
	return true
}

type arrivalKey struct{}

// arrival is when the fake received r (its clock), which is when the service
// counts a call against a limit: not when the fake gets round to it.
func arrival(r *http.Request) time.Time {
	t, _ := r.Context().Value(arrivalKey{}).(time.Time)
	return t
}

// withArrival notes when r came in, for the rate limits.
func (s *Server) withArrival(r *http.Request) *http.Request {
	s.mu.Lock()
	n := len(s.rateLimits)
	s.mu.Unlock()
	if n == 0 {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), arrivalKey{}, s.Now()))
}
