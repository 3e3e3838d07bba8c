package powerbitest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gopowerbi/powerbi"
)

// Refreshes set how the fake's dataset refreshes behave (SetRefreshes).
type Refreshes struct {
	// Polls is how many status requests (execution details or history) a
	// refresh takes to finish (default 2).
	Polls int
	// Fail maps dataset IDs to the engine error their refreshes end with
	// (status Failed, the message in messages and serviceExceptionJson).
	Fail map[string]string
	// OmitRequestID leaves the x-ms-request-id and Location headers off the
	// 202, as some refreshes of the service do: a client then has only the
	// history to go by.
	OmitRequestID bool
}

// SetRefreshes changes how refreshes started from now on behave.
func (s *Server) SetRefreshes(r Refreshes) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshCfg = r
}

type refreshJob struct {
	id, datasetID, workspaceID string
	enhanced                   bool
	req                        powerbi.DatasetRefreshRequest
	cfg                        Refreshes
	polls                      int
	state                      string // NotStarted, InProgress, Completed, Failed, Cancelled
	start, end                 time.Time
}

// startRefresh is POST .../datasets/{dataset}/refreshes: 202, and a refresh
// that moves on with every status request.
func (s *Server) startRefresh(c *call) {
	d, ok := s.dataset(c)
	if !ok {
		return
	}
	var req powerbi.DatasetRefreshRequest
	if b, _ := io.ReadAll(io.LimitReader(c.r.Body, 1<<20)); len(strings.TrimSpace(string(b))) > 0 {
		if err := json.Unmarshal(b, &req); err != nil {
			s.badRequest(c, "the request body is not a refresh request: %v", err)
			return
		}
	}
	s.mu.Lock()
	_, servicePrincipal := s.apps[c.caller.subject]
	cfg := s.refreshCfg
	s.mu.Unlock()
	if servicePrincipal && req.NotifyOption != powerbi.NotifyOptionNoNotification {
		s.badRequest(c, "Invalid NotifyOption value '%s' for app only owner requests", req.NotifyOption)
		return
	}
	if cfg.Polls <= 0 {
		cfg.Polls = 2
	}
	enhanced := req.Type != "" || req.CommitMode != "" || len(req.Objects) > 0 || req.MaxParallelism != 0 || req.RetryCount != 0 ||
		req.ApplyRefreshPolicy || req.Timeout != "" || !req.EffectiveDate.IsZero()
	s.mu.Lock()
	job := &refreshJob{id: NewGUID(), datasetID: d.ID, workspaceID: c.ws.ID, enhanced: enhanced, req: req, cfg: cfg,
		state: "NotStarted", start: s.nowLocked()}
	s.refreshes = append(s.refreshes, job)
	s.mu.Unlock()
	if !cfg.OmitRequestID {
		c.w.Header().Set("x-ms-request-id", job.id)
		c.w.Header().Set("Location", "https://"+c.r.Host+c.r.URL.Path+"/"+job.id)
	}
	c.w.WriteHeader(http.StatusAccepted)
}

// stepLocked moves a running refresh on by one status request.
func (s *Server) stepLocked(j *refreshJob) {
	if j.state != "NotStarted" && j.state != "InProgress" {
		return
	}
	j.polls++
	j.state = "InProgress"
	if j.polls < j.cfg.Polls {
		return
	}
	j.end = s.nowLocked()
	j.state = "Completed"
	if _, fail := j.cfg.Fail[j.datasetID]; fail {
		j.state = "Failed"
	}
}

func (s *Server) refreshJob(c *call) (*refreshJob, bool) {
	d, ok := s.dataset(c)
	if !ok {
		return nil, false
	}
	s.mu.Lock()
	i := slices.IndexFunc(s.refreshes, func(j *refreshJob) bool {
		return strings.EqualFold(j.id, c.r.PathValue("refresh")) && j.datasetID == d.ID && j.workspaceID == c.ws.ID
	})
	var j *refreshJob
	if i >= 0 {
		j = s.refreshes[i]
	}
	s.mu.Unlock()
	if j == nil {
		s.notFound(c)
	}
	return j, j != nil
}

// refreshDetails is GET .../refreshes/{refresh}: the execution details, 202
// while the refresh runs.
func (s *Server) refreshDetails(c *call) {
	j, ok := s.refreshJob(c)
	if !ok {
		return
	}
	s.mu.Lock()
	s.stepLocked(j)
	out, running := s.detailsLocked(j)
	s.mu.Unlock()
	status := http.StatusOK
	if running {
		status = http.StatusAccepted
	}
	writeJSON(c.w, status, out)
}

func (s *Server) detailsLocked(j *refreshJob) (map[string]any, bool) {
	out := map[string]any{"startTime": j.start.Format(time.RFC3339Nano), "numberOfAttempts": 1}
	if j.enhanced {
		typ, mode := j.req.Type, j.req.CommitMode
		if typ == "" {
			typ = powerbi.DatasetRefreshTypeFull
		}
		if mode == "" {
			mode = powerbi.DatasetCommitModeTransactional
		}
		out["type"], out["commitMode"], out["currentRefreshType"] = typ, mode, typ
		if len(j.req.Objects) > 0 {
			objs := make([]map[string]any, 0, len(j.req.Objects))
			for _, o := range j.req.Objects {
				objs = append(objs, map[string]any{"table": o.Table, "partition": o.Partition, "status": j.state})
			}
			out["objects"] = objs
		}
	}
	switch j.state {
	case "NotStarted", "InProgress":
		out["status"], out["extendedStatus"] = "Unknown", j.state
		return out, true
	case "Cancelled":
		out["status"], out["extendedStatus"] = "Unknown", "Cancelled"
	default:
		out["status"], out["extendedStatus"] = j.state, j.state
	}
	out["endTime"] = j.end.Format(time.RFC3339Nano)
	if msg, failed := j.cfg.Fail[j.datasetID]; failed && j.state == "Failed" {
		out["messages"] = []map[string]any{{"code": "ModelRefreshFailed", "message": msg, "type": "Error"}}
		out["serviceExceptionJson"] = exceptionJSON(msg)
	}
	return out, false
}

func exceptionJSON(msg string) string {
	b, _ := json.Marshal(map[string]string{"errorCode": "ModelRefreshFailed", "errorDescription": msg})
	return string(b)
}

// cancelRefresh is DELETE .../refreshes/{refresh}: only an enhanced refresh
// that still runs can be cancelled.
func (s *Server) cancelRefresh(c *call) {
	j, ok := s.refreshJob(c)
	if !ok {
		return
	}
	s.mu.Lock()
	enhanced, running := j.enhanced, j.state == "NotStarted" || j.state == "InProgress"
	if enhanced && running {
		j.state, j.end = "Cancelled", s.nowLocked()
	}
	s.mu.Unlock()
	switch {
	case !enhanced:
		s.badRequest(c, "only an enhanced refresh can be cancelled")
	case !running:
		s.badRequest(c, "refresh %s has already ended", j.id)
	default:
		c.w.WriteHeader(http.StatusOK)
	}
}

// refreshHistory is GET .../refreshes: newest first, each running refresh
// moved on by one step; "Unknown" while one runs, as the service says.
func (s *Server) refreshHistory(c *call) {
	d, ok := s.dataset(c)
	if !ok {
		return
	}
	top := 0
	if v := c.r.URL.Query().Get("$top"); v != "" {
		if _, err := fmt.Sscan(v, &top); err != nil || top < 1 {
			s.badRequest(c, "$top must be a positive integer")
			return
		}
	}
	s.mu.Lock()
	var out []map[string]any
	for i := len(s.refreshes) - 1; i >= 0; i-- {
		j := s.refreshes[i]
		if j.datasetID != d.ID || j.workspaceID != c.ws.ID {
			continue
		}
		s.stepLocked(j)
		e := map[string]any{"requestId": j.id, "refreshType": "ViaApi", "startTime": j.start.Format(time.RFC3339Nano)}
		if j.enhanced {
			e["refreshType"] = "ViaEnhancedApi"
		}
		switch j.state {
		case "NotStarted", "InProgress":
			e["status"] = "Unknown"
		default:
			e["status"], e["endTime"] = j.state, j.end.Format(time.RFC3339Nano)
		}
		if msg, failed := j.cfg.Fail[j.datasetID]; failed && j.state == "Failed" {
			e["serviceExceptionJson"] = exceptionJSON(msg)
		}
		out = append(out, e)
		if top > 0 && len(out) == top {
			break
		}
	}
	s.mu.Unlock()
	s.odata(c, "refreshes", orEmpty(out))
}
