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
	// RequestsPerHour is the budget of PostWorkspaceInfo requests, and
	// separately of GetScanResult requests (default and at most 500): the
	// scanner waits for its budget rather than provoke a 429.
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
// order). A batch that fails (the scan failed, a request failed after its
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
		budget := &scanBudget{
			post:   rate.NewLimiter(rate.Every(time.Hour/time.Duration(o.RequestsPerHour)), o.Concurrent),
			result: rate.NewLimiter(rate.Every(time.Hour/time.Duration(o.RequestsPerHour)), o.Concurrent),
			status: rate.NewLimiter(rate.Every(time.Hour/scanStatusPerHour), o.Concurrent),
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

// scanBudget holds the request budgets of one Scan, shared by its batches.
type scanBudget struct{ post, status, result *rate.Limiter }

// scanBatch runs one batch to its result.
func (s *WorkspaceInfoService) scanBatch(ctx context.Context, ids []string, o *ScanOptions, budget *scanBudget) ScanResult {
	r := ScanResult{Workspaces: ids}
	if r.Err = budget.post.Wait(ctx); r.Err != nil {
		return r
	}
	scan, err := s.PostWorkspaceInfo(ctx, RequiredWorkspaces{Workspaces: ids}, &o.PostWorkspaceInfoOptions)
	if err != nil {
		r.Err = err
		return r
	}
	r.ScanID = scan.ID
	p, err := s.scanPoller(scan.ID, budget.status)
	if err != nil {
		r.Err = err
		return r
	}
	if _, r.Err = p.Wait(ctx, &WaitOptions[ScanRequest]{Frequency: o.Frequency}); r.Err != nil {
		return r
	}
	if r.Err = budget.result.Wait(ctx); r.Err != nil {
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
	status := pollJSON[ScanRequest](s.client, Request{Method: http.MethodGet, Path: "admin/workspaces/scanStatus/" + url.PathEscape(scanID)})
	poll := func(ctx context.Context) (*ScanRequest, http.Header, error) {
		if budget != nil {
			if err := budget.Wait(ctx); err != nil {
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
