package powerbi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// A dataset refresh is a POST that answers 202 and a refresh that runs at
// the service; these methods start it and follow it to its end.
//
// An enhanced refresh (one that sets any of Type, CommitMode, Objects,
// MaxParallelism, RetryCount, ApplyRefreshPolicy, EffectiveDate, Timeout) has
// execution details, which the poller reads, and can be cancelled. Any other
// refresh is followed through the refresh history, where it is found by the
// request ID the 202 carried (or, when the service gave none, as the newest
// entry since it started). In the history an entry in progress has the
// status "Unknown": the poller waits on, rather than taking it for an end.

// BeginRefreshDataset starts a refresh of a dataset in your My workspace and
// returns its poller (see BeginRefreshDatasetInGroup).
func (s *DatasetsService) BeginRefreshDataset(ctx context.Context, datasetID string, req DatasetRefreshRequest) (*Poller[DatasetRefreshDetail], error) {
	if err := checkDatasetID("datasetID", datasetID); err != nil {
		return nil, err
	}
	return s.beginRefresh(ctx, "datasets/"+url.PathEscape(datasetID)+"/refreshes", req)
}

// BeginRefreshDatasetInGroup starts a refresh of a dataset in a workspace and
// returns its poller, whose ID is the refresh's request ID. A NotifyOption
// left empty is sent as NoNotification, the only one a service principal may
// use. The refresh is started once: it is retried only after a 429, or when
// it never reached the service. Wait ends at Completed; Failed, Cancelled,
// Disabled and TimedOut end it with an *OperationError carrying the engine's
// messages.
func (s *DatasetsService) BeginRefreshDatasetInGroup(ctx context.Context, groupID, datasetID string, req DatasetRefreshRequest) (*Poller[DatasetRefreshDetail], error) {
	if err := checkGUIDs("groupID", groupID); err != nil {
		return nil, err
	}
	if err := checkDatasetID("datasetID", datasetID); err != nil {
		return nil, err
	}
	return s.beginRefresh(ctx, "groups/"+groupID+"/datasets/"+url.PathEscape(datasetID)+"/refreshes", req)
}

// ResumeRefreshDataset rebuilds the poller of a refresh started earlier, from
// its request ID (Poller.ID), without sending anything.
func (s *DatasetsService) ResumeRefreshDataset(datasetID, requestID string) (*Poller[DatasetRefreshDetail], error) {
	if err := checkDatasetID("datasetID", datasetID); err != nil {
		return nil, err
	}
	return s.resumeRefresh("datasets/"+url.PathEscape(datasetID)+"/refreshes", requestID)
}

// ResumeRefreshDatasetInGroup rebuilds the poller of a refresh started
// earlier, from its request ID (Poller.ID), without sending anything.
func (s *DatasetsService) ResumeRefreshDatasetInGroup(groupID, datasetID, requestID string) (*Poller[DatasetRefreshDetail], error) {
	if err := checkGUIDs("groupID", groupID); err != nil {
		return nil, err
	}
	if err := checkDatasetID("datasetID", datasetID); err != nil {
		return nil, err
	}
	return s.resumeRefresh("groups/"+groupID+"/datasets/"+url.PathEscape(datasetID)+"/refreshes", requestID)
}

func (s *DatasetsService) beginRefresh(ctx context.Context, path string, req DatasetRefreshRequest) (*Poller[DatasetRefreshDetail], error) {
	if req.NotifyOption == "" {
		req.NotifyOption = NotifyOptionNoNotification
	}
	started := s.client.now()
	res, err := refreshDataset(ctx, s.client, path, &req)
	if err != nil {
		return nil, err
	}
	r := &refreshPoll{c: s.client, path: path, id: res.RequestID, enhanced: req.enhanced(), since: started.Add(-time.Minute)}
	return r.poller(), nil
}

func (s *DatasetsService) resumeRefresh(path, requestID string) (*Poller[DatasetRefreshDetail], error) {
	if err := checkSegment("requestID", requestID); err != nil {
		return nil, err
	}
	r := &refreshPoll{c: s.client, path: path, id: requestID, enhanced: true}
	return r.poller(), nil
}

// enhanced reports whether the request asks for an enhanced refresh.
func (r *DatasetRefreshRequest) enhanced() bool {
	return r.Type != "" || r.CommitMode != "" || r.MaxParallelism != 0 || r.RetryCount != 0 || len(r.Objects) > 0 ||
		r.ApplyRefreshPolicy || !r.EffectiveDate.IsZero() || r.Timeout != ""
}

// refreshPoll is what a refresh's poller reads: the execution details while
// they exist, else the history.
type refreshPoll struct {
	c        *Client
	path     string // .../datasets/{id}/refreshes
	id       string // the request ID; "" when the service gave none
	enhanced bool   // execution details exist (tried first when resuming)
	since    time.Time
}

func (r *refreshPoll) poller() *Poller[DatasetRefreshDetail] {
	p := newPoller(r.c, "refresh", r.id, r.poll, refreshState)
	if r.id != "" {
		p.cancel = func(ctx context.Context) error {
			return callNoContent(ctx, r.c, &Request{Operation: inGroupOp("Datasets_CancelRefresh", r.path), Method: http.MethodDelete, Path: r.path + "/" + url.PathEscape(r.id)})
		}
	}
	return p
}

func (r *refreshPoll) poll(ctx context.Context) (*DatasetRefreshDetail, http.Header, error) {
	if r.enhanced && r.id != "" {
		var d DatasetRefreshDetail
		h, err := r.c.send(ctx, &Request{Operation: inGroupOp("Datasets_GetRefreshExecutionDetails", r.path), Method: http.MethodGet, Path: r.path + "/" + url.PathEscape(r.id)}, &d)
		if err == nil {
			return &d, h, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return nil, nil, err
		}
		r.enhanced = false // not an enhanced refresh: its history entry tells
	}
	var history list[Refresh]
	h, err := r.c.send(ctx, &Request{Operation: inGroupOp("Datasets_GetRefreshHistory", r.path), Method: http.MethodGet, Path: r.path, rawQuery: "$top=60"}, &history)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range history.Value {
		if r.id != "" && strings.EqualFold(e.RequestID, r.id) || r.id == "" && !e.StartTime.Before(r.since) {
			d := fromHistory(e)
			if r.id == "" && e.RequestID != "" {
				r.id = e.RequestID
			}
			return &d, h, nil
		}
	}
	// Not in the history yet: the service lists a refresh shortly after it
	// accepted it.
	return &DatasetRefreshDetail{Status: DatasetRefreshDetailStatusUnknown, ExtendedStatus: DatasetRefreshDetailExtendedStatusNotStarted}, h, nil
}

// fromHistory reads a history entry as execution details.
func fromHistory(e Refresh) DatasetRefreshDetail {
	d := DatasetRefreshDetail{StartTime: e.StartTime, EndTime: e.EndTime, RefreshAttempts: e.RefreshAttempts, ServiceExceptionJSON: e.ServiceExceptionJSON}
	switch strings.ToLower(e.Status) {
	case "completed":
		d.Status, d.ExtendedStatus = DatasetRefreshDetailStatusCompleted, DatasetRefreshDetailExtendedStatusCompleted
	case "failed":
		d.Status, d.ExtendedStatus = DatasetRefreshDetailStatusFailed, DatasetRefreshDetailExtendedStatusFailed
	case "disabled":
		d.Status, d.ExtendedStatus = DatasetRefreshDetailStatusDisabled, DatasetRefreshDetailExtendedStatusDisabled
	case "cancelled":
		d.Status, d.ExtendedStatus = DatasetRefreshDetailStatusUnknown, DatasetRefreshDetailExtendedStatusCancelled
	default: // "Unknown": in progress
		d.Status, d.ExtendedStatus = DatasetRefreshDetailStatusUnknown, DatasetRefreshDetailExtendedStatusInProgress
	}
	return d
}

// refreshState: Completed ends well; Failed, Disabled, Cancelled and
// TimedOut end badly; anything else (Unknown, NotStarted, InProgress) runs.
func refreshState(d *DatasetRefreshDetail) (bool, *OperationError) {
	status := string(d.ExtendedStatus)
	switch d.ExtendedStatus {
	case DatasetRefreshDetailExtendedStatusCompleted:
		return true, nil
	case DatasetRefreshDetailExtendedStatusFailed, DatasetRefreshDetailExtendedStatusDisabled,
		DatasetRefreshDetailExtendedStatusCancelled, DatasetRefreshDetailExtendedStatusTimedOut:
	default:
		switch d.Status {
		case DatasetRefreshDetailStatusCompleted:
			return true, nil
		case DatasetRefreshDetailStatusFailed, DatasetRefreshDetailStatusDisabled:
			status = string(d.Status)
		default:
			return false, nil
		}
	}
	code, msg := refreshFailure(d)
	return true, &OperationError{Status: status, Code: code, Message: msg}
}

// refreshFailure finds the service's reason: the engine's error messages,
// else the service exception of the history.
func refreshFailure(d *DatasetRefreshDetail) (code, message string) {
	var msgs []string
	for _, m := range d.Messages {
		if m.Type == "" || strings.EqualFold(string(m.Type), "Error") {
			if code == "" {
				code = m.Code
			}
			msgs = append(msgs, m.Message)
		}
	}
	if len(msgs) > 0 {
		return code, strings.Join(msgs, "; ")
	}
	if d.ServiceExceptionJSON != "" {
		var ex struct {
			ErrorCode        string `json:"errorCode"`
			ErrorDescription string `json:"errorDescription"`
		}
		if json.Unmarshal([]byte(d.ServiceExceptionJSON), &ex) == nil && (ex.ErrorCode != "" || ex.ErrorDescription != "") {
			return ex.ErrorCode, ex.ErrorDescription
		}
		return "", d.ServiceExceptionJSON
	}
	return "", ""
}
