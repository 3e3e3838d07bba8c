package powerbi

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// The scanner's documented limits: PostWorkspaceInfo takes at most 100
// workspaces, 500 requests an hour and 16 scans at once; GetScanResult 500
// requests an hour.
const (
	ScanBatchSize        = 100
	ScanRequestsPerHour  = 500
	ScanMaxConcurrent    = 16
	scanStatusPerHour    = 10_000 // GetScanStatus's budget
	scanStatusSucceeded  = "Succeeded"
	scanStatusFailed     = "Failed"
	defaultScanFrequency = 5 * time.Second
)

// ScanOptions are the choices of WorkspaceInfo.Scan.
type ScanOptions struct {
	// What to include in the results: lineage, data source details, dataset
	// schemas and expressions, artifact users.
	PostWorkspaceInfoOptions
	// Concurrent is how many scans may run at once (default and at most 16).
	Concurrent int
	// RequestsPerHour, when set below 500, is this call's own budget of
	// PostWorkspaceInfo requests, and separately of GetScanResult requests,
	// on top of the principal's documented 500 an hour, which every Scan of
	// the Client shares. The scanner waits for its budget rather than
	// provoke a 429.
	RequestsPerHour int
	// Frequency is the time between status requests of one scan when the
	// service sends no Retry-After (default 5 s).
	Frequency time.Duration
}

// ScanResult is one batch of a Scan: the workspaces scanned together and
// their result, or why the batch failed.
type ScanResult struct {
	ScanID     string
	Workspaces []string               // the batch's workspace IDs, as asked
	Result     *WorkspaceInfoResponse // nil when Err is set
	Err        error
}

// Scan scans any number of workspaces with the admin scanner API: in batches
// of 100, each PostWorkspaceInfo → GetScanStatus until it succeeds →
// GetScanResult, at most opts.Concurrent batches at once and within the
// hourly budgets, and yields each batch's result as it completes (not in
// order). The budgets and the 16 scans are the principal's (or, with a
// profile in effect, the profile's): the Client keeps them across Scan calls,
// so scans that overlap share them. A batch that fails (the scan failed, a request failed after its
// retries) is yielded with Err and the others go on. When ctx ends, the
// last result yielded carries ctx's error (the batches not yielded did not
// finish). Breaking out of the loop, or ctx ending, stops the scan: nothing
// runs behind once the iteration has returned.
func (s *WorkspaceInfoService) Scan(ctx context.Context, workspaceIDs []string, opts *ScanOptions) iter.Seq[ScanResult] {
	return func(yield func(ScanResult) bool) {
		var o ScanOptions
		if opts != nil {
			o = *opts
		}
		if err := o.check(workspaceIDs); err != nil {
			yield(ScanResult{Err: err})
			return
		}
		parent := ctx
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		profile, err := s.client.profile(ctx)
		if err != nil {
			yield(ScanResult{Err: err})
			return
		}
		budget := &scanCall{shared: s.client.scanBudget(profile)}
		if o.RequestsPerHour < ScanRequestsPerHour {
			budget.post = newHourly(o.RequestsPerHour, o.Concurrent)
			budget.result = newHourly(o.RequestsPerHour, o.Concurrent)
		}
		batches := make(chan []string)
		results := make(chan ScanResult)
		var wg sync.WaitGroup
		for range o.Concurrent {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for b := range batches {
					r := s.scanBatch(ctx, b, &o, budget)
					select {
					case results <- r:
					case <-ctx.Done():
						return
					}
				}
			}()
		}
		go func() {
			defer close(batches)
			for i := 0; i < len(workspaceIDs); i += ScanBatchSize {
				select {
				case batches <- workspaceIDs[i:min(i+ScanBatchSize, len(workspaceIDs))]:
				case <-ctx.Done():
					return
				}
			}
		}()
		go func() {
			wg.Wait()
			close(results)
		}()
		defer func() {
			cancel()
			for range results { // let every worker end before returning
			}
		}()
		for r := range results {
			if !yield(r) {
				return
			}
		}
		if err := parent.Err(); err != nil {
			yield(ScanResult{Err: err}) // the batches not yielded did not finish
		}
	}
}

func (o *ScanOptions) check(ids []string) error {
	if len(ids) == 0 {
		return invalid("workspaceIDs", "is empty")
	}
	for i, id := range ids {
		if err := checkGUID(fmt.Sprintf("workspaceIDs[%d]", i), id); err != nil {
			return err
		}
	}
	switch {
	case o.Concurrent < 0 || o.Concurrent > ScanMaxConcurrent:
		return invalid("ScanOptions.Concurrent", "must be between 1 and %d (0: %d)", ScanMaxConcurrent, ScanMaxConcurrent)
	case o.RequestsPerHour < 0 || o.RequestsPerHour > ScanRequestsPerHour:
		return invalid("ScanOptions.RequestsPerHour", "must be between 1 and %d (0: %d)", ScanRequestsPerHour, ScanRequestsPerHour)
	case o.Frequency < 0:
		return invalid("ScanOptions.Frequency", "must not be negative")
	}
	if o.Concurrent == 0 {
		o.Concurrent = ScanMaxConcurrent
	}
	if o.RequestsPerHour == 0 {
		o.RequestsPerHour = ScanRequestsPerHour
	}
	if o.Frequency == 0 {
		o.Frequency = defaultScanFrequency
	}
	return nil
}

// scanBudget is a principal's (or profile's) share of the scanner: its
// documented hourly budgets and its 16 scans at once, kept by the Client
// across Scan calls.
type scanBudget struct {
	post, status, result *rate.Limiter
	slots                chan struct{} // one per scan that runs
}

func newHourly(n, burst int) *rate.Limiter {
	return rate.NewLimiter(rate.Every(time.Hour/time.Duration(n)), burst)
}

// scanBudget is the budget of the profile in effect ("" for none).
func (c *Client) scanBudget(profile string) *scanBudget {
	if b, ok := c.scanners.Load(profile); ok {
		return b.(*scanBudget)
	}
	b, _ := c.scanners.LoadOrStore(profile, &scanBudget{
		post:   newHourly(ScanRequestsPerHour, ScanMaxConcurrent),
		status: newHourly(scanStatusPerHour, 100),
		result: newHourly(ScanRequestsPerHour, ScanMaxConcurrent),
		slots:  make(chan struct{}, ScanMaxConcurrent),
	})
	return b.(*scanBudget)
}

// scanCall is one Scan's budgets: the principal's, and the call's own when
// ScanOptions.RequestsPerHour asks for less (nil otherwise).
type scanCall struct {
	shared       *scanBudget
	post, result *rate.Limiter
}

// errBudget is a request that its budget allows only after the context's
// deadline: it is not sent, and the error matches ErrThrottled and
// context.DeadlineExceeded.
type errBudget struct{ wait time.Duration }

func (e *errBudget) Error() string {
	return fmt.Sprintf("powerbi: the scanner's hourly budget allows the next request in %s, after the context's deadline", e.wait.Round(time.Second))
}

func (e *errBudget) Is(target error) bool {
	return target == ErrThrottled || target == context.DeadlineExceeded
}

// wait waits until every limiter allows one request, or fails at once when
// that comes after ctx's deadline.
func wait(ctx context.Context, limiters ...*rate.Limiter) error {
	for _, l := range limiters {
		if l == nil {
			continue
		}
		if err := take(ctx, l, func(d time.Duration) error { return &errBudget{wait: d} }); err != nil {
			return err
		}
	}
	return nil
}

// scanBatch runs one batch to its result, holding one of the principal's
// scan slots meanwhile.
func (s *WorkspaceInfoService) scanBatch(ctx context.Context, ids []string, o *ScanOptions, budget *scanCall) ScanResult {
	r := ScanResult{Workspaces: ids}
	select {
	case budget.shared.slots <- struct{}{}:
		defer func() { <-budget.shared.slots }()
	case <-ctx.Done():
		r.Err = ctx.Err()
		return r
	}
	if r.Err = wait(ctx, budget.post, budget.shared.post); r.Err != nil {
		return r
	}
	scan, err := s.PostWorkspaceInfo(ctx, RequiredWorkspaces{Workspaces: ids}, &o.PostWorkspaceInfoOptions)
	if err != nil {
		r.Err = err
		return r
	}
	r.ScanID = scan.ID
	p, err := s.scanPoller(scan.ID, budget.shared.status)
	if err != nil {
		r.Err = err
		return r
	}
	if _, r.Err = p.Wait(ctx, &WaitOptions[ScanRequest]{Frequency: o.Frequency}); r.Err != nil {
		return r
	}
	if r.Err = wait(ctx, budget.result, budget.shared.result); r.Err != nil {
		return r
	}
	r.Result, r.Err = s.GetScanResult(ctx, scan.ID)
	return r
}

// ResumeScan returns a poller of a scan (PostWorkspaceInfo's ID), which ends
// when the scan has succeeded (then GetScanResult has its result) or failed.
func (s *WorkspaceInfoService) ResumeScan(scanID string) (*Poller[ScanRequest], error) {
	return s.scanPoller(scanID, nil)
}

// scanPoller polls a scan's status, each request within budget if one is
// given.
func (s *WorkspaceInfoService) scanPoller(scanID string, budget *rate.Limiter) (*Poller[ScanRequest], error) {
	if err := checkGUID("scanID", scanID); err != nil {
		return nil, err
	}
	status := pollJSON[ScanRequest](s.client, Request{Operation: "WorkspaceInfo_GetScanStatus", Method: http.MethodGet, Path: "admin/workspaces/scanStatus/" + url.PathEscape(scanID)})
	poll := func(ctx context.Context) (*ScanRequest, http.Header, error) {
		if budget != nil {
			if err := wait(ctx, budget); err != nil {
				return nil, nil, err
			}
		}
		return status(ctx)
	}
	return newPoller(s.client, "scan", scanID, poll, func(sr *ScanRequest) (bool, *OperationError) {
		switch {
		case strings.EqualFold(sr.Status, scanStatusSucceeded):
			return true, nil
		case strings.EqualFold(sr.Status, scanStatusFailed):
			e := &OperationError{Status: sr.Status}
			if sr.Error != nil {
				e.Code, e.Message = sr.Error.Code, sr.Error.Message
			}
			return true, e
		}
		return false, nil
	}), nil
}
