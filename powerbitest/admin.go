package powerbitest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gopowerbi/powerbi"
)

// The scanner's limits, as the service documents them.
const (
	scanBatchMax       = 100
	scanPostsPerHour   = 500
	scanResultsPerHour = 500
	scanStatusPerHour  = 10_000
	scanConcurrent     = 16
)

// ScanStats is what the fake saw of the scanner API: requests per
// operation, the most scans that ran at once, and the requests it refused
// with 429 for going over a limit.
type ScanStats struct {
	Posts, StatusRequests, ResultRequests int
	MaxConcurrent                         int
	Throttled                             int
}

// ScanStats returns the scanner API's counts so far.
func (s *Server) ScanStats() ScanStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.scanStats
}

type scanJob struct {
	id         string
	principal  string
	workspaces []string
	polls      int
	status     string // NotStarted, Running, Succeeded
	created    time.Time
	opts       url.Values
}

// overBudgetLocked tells whether one more request of kind (on the fake's
// clock, the last hour) goes over limit; if not, it counts it.
func (s *Server) overBudgetLocked(kind, principal string, limit int) (time.Duration, bool) {
	return s.overLimitLocked(kind+" "+principal, limit, time.Hour, s.nowLocked())
}

// overLimitLocked tells whether one more request under key goes over limit
// requests in the window of length per that ends at now (on the fake's
// clock), and how long until it would not; if not over, it counts the
// request.
func (s *Server) overLimitLocked(key string, limit int, per time.Duration, now time.Time) (time.Duration, bool) {
	times := s.budgets[key]
	drop := 0
	for drop < len(times) && !now.Before(times[drop].Add(per)) {
		drop++
	}
	times = times[drop:]
	if len(times) >= limit {
		s.budgets[key] = times
		return times[0].Add(per).Sub(now), true
	}
	s.budgets[key] = append(times, now)
	return 0, false
}

func (s *Server) throttle(c *call, wait time.Duration) {
	s.mu.Lock()
	s.scanStats.Throttled++
	s.mu.Unlock()
	c.w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
	s.pbiError(c.w, http.StatusTooManyRequests, "TooManyRequests", "You have exceeded the amount of requests allowed in the current time frame and further requests will fail.")
}

// scanPost is PostWorkspaceInfo: at most 100 workspaces, 500 requests an
// hour and 16 running scans per principal.
func (s *Server) scanPost(c *call) {
	var req powerbi.RequiredWorkspaces
	if err := json.NewDecoder(io.LimitReader(c.r.Body, 1<<20)).Decode(&req); err != nil || len(req.Workspaces) == 0 {
		s.badRequest(c, "the body names no workspaces")
		return
	}
	if len(req.Workspaces) > scanBatchMax {
		s.badRequest(c, "at most %d workspaces per request, got %d", scanBatchMax, len(req.Workspaces))
		return
	}
	s.mu.Lock()
	s.scanStats.Posts++
	running := 0
	for _, j := range s.scans {
		if j.principal == c.principal && j.status != "Succeeded" {
			running++
		}
	}
	if running >= scanConcurrent {
		s.mu.Unlock()
		s.throttle(c, time.Minute)
		return
	}
	if wait, over := s.overBudgetLocked("getInfo", c.principal, scanPostsPerHour); over {
		s.mu.Unlock()
		s.throttle(c, wait)
		return
	}
	j := &scanJob{id: NewGUID(), principal: c.principal, workspaces: req.Workspaces, status: "NotStarted", created: s.nowLocked(), opts: c.r.URL.Query()}
	s.scans[j.id] = j
	s.scanStats.MaxConcurrent = max(s.scanStats.MaxConcurrent, running+1)
	s.mu.Unlock()
	writeJSON(c.w, http.StatusAccepted, map[string]any{"id": j.id, "createdDateTime": j.created.Format(time.RFC3339Nano), "status": j.status})
}

func (s *Server) scanJob(c *call) *scanJob {
	s.mu.Lock()
	j := s.scans[strings.ToLower(c.r.PathValue("scan"))]
	s.mu.Unlock()
	if j == nil || j.principal != c.principal {
		s.notFound(c)
		return nil
	}
	return j
}

// scanStatus is GetScanStatus: NotStarted, Running, then Succeeded.
func (s *Server) scanStatus(c *call) {
	j := s.scanJob(c)
	if j == nil {
		return
	}
	s.mu.Lock()
	s.scanStats.StatusRequests++
	if wait, over := s.overBudgetLocked("scanStatus", c.principal, scanStatusPerHour); over {
		s.mu.Unlock()
		s.throttle(c, wait)
		return
	}
	j.polls++
	switch {
	case j.polls >= 2:
		j.status = "Succeeded"
	default:
		j.status = "Running"
	}
	out := map[string]any{"id": j.id, "createdDateTime": j.created.Format(time.RFC3339Nano), "status": j.status}
	s.mu.Unlock()
	writeJSON(c.w, http.StatusOK, out)
}

// scanResult is GetScanResult of a scan that succeeded: the workspaces that
// exist, with their items.
func (s *Server) scanResult(c *call) {
	j := s.scanJob(c)
	if j == nil {
		return
	}
	s.mu.Lock()
	s.scanStats.ResultRequests++
	if j.status != "Succeeded" {
		s.mu.Unlock()
		s.badRequest(c, "scan %s has not succeeded", j.id)
		return
	}
	if wait, over := s.overBudgetLocked("scanResult", c.principal, scanResultsPerHour); over {
		s.mu.Unlock()
		s.throttle(c, wait)
		return
	}
	var infos []map[string]any
	for _, id := range j.workspaces {
		ws := s.workspaces[strings.ToLower(id)]
		if ws == nil {
			continue
		}
		info := map[string]any{"id": ws.ID, "name": ws.Name, "type": "Workspace", "state": "Active", "isOnDedicatedCapacity": ws.OnDedicatedCapacity}
		var reports, datasets []map[string]any
		for _, r := range s.reports {
			if r.workspaceID == ws.ID {
				reports = append(reports, map[string]any{"id": r.ID, "name": r.Name, "datasetId": r.DatasetID, "reportType": r.ReportType})
			}
		}
		for _, d := range s.datasets {
			if d.workspaceID == ws.ID {
				datasets = append(datasets, map[string]any{"id": d.ID, "name": d.Name, "configuredBy": "powerbitest"})
			}
		}
		info["reports"], info["datasets"] = orEmpty(reports), orEmpty(datasets)
		infos = append(infos, info)
	}
	s.mu.Unlock()
	writeJSON(c.w, http.StatusOK, map[string]any{"workspaces": orEmpty(infos)})
}

// activityConfig is how the fake pages activity events.
type activityConfig struct {
	pageSize int
	tokens   map[string]activityCursor // by the raw query the fake handed out
}

type activityCursor struct {
	day    time.Time // the UTC day
	from   time.Time
	to     time.Time
	filter string
	offset int
}

// AddActivityEvents seeds audit events; each needs a "CreationTime" (RFC
// 3339, UTC) and may have any other fields ("Activity", "UserId", ...).
func (s *Server) AddActivityEvents(events ...map[string]any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, e := range events {
		ts, _ := e["CreationTime"].(string)
		if _, err := time.Parse(time.RFC3339, ts); err != nil {
			return fmt.Errorf("powerbitest: activity event %d: CreationTime %q is not RFC 3339", i, ts)
		}
		s.activity = append(s.activity, e)
	}
	sort.SliceStable(s.activity, func(i, j int) bool {
		a, _ := s.activity[i]["CreationTime"].(string)
		b, _ := s.activity[j]["CreationTime"].(string)
		return a < b
	})
	return nil
}

// SetActivityPageSize sets how many events a page of activity events holds
// (default 100).
func (s *Server) SetActivityPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.activityCfg.pageSize = n
}

var activityFilter = regexp.MustCompile(`^\s*(Activity|UserId|Operation)\s+eq\s+'([^']*)'\s*$`)

// activityEvents is GetActivityEvents: a window within one UTC day of the
// last 30, or a continuation token exactly as the fake handed it out.
func (s *Server) activityEvents(c *call) {
	q := c.r.URL.Query()
	var cur activityCursor
	if q.Has("continuationToken") {
		s.mu.Lock()
		got, ok := s.activityCfg.tokens[c.r.URL.RawQuery]
		s.mu.Unlock()
		if !ok {
			s.badRequest(c, "continuationToken is not one the service handed out (pass it back exactly as received)")
			return
		}
		cur = got
	} else {
		from, err1 := parseQuotedTime(q.Get("startDateTime"))
		to, err2 := parseQuotedTime(q.Get("endDateTime"))
		switch {
		case err1 != nil || err2 != nil:
			s.badRequest(c, "startDateTime and endDateTime are required, quoted, as 'yyyy-MM-ddTHH:mm:ss.fffZ'")
			return
		case !from.Truncate(24 * time.Hour).Equal(to.Truncate(24 * time.Hour)):
			s.badRequest(c, "startDateTime and endDateTime must be in the same UTC day")
			return
		case to.Before(from):
			s.badRequest(c, "endDateTime is before startDateTime")
			return
		case from.Before(s.Now().UTC().Truncate(24 * time.Hour).Add(-30 * 24 * time.Hour)):
			s.badRequest(c, "activity events are kept for 30 days")
			return
		}
		cur = activityCursor{day: from.Truncate(24 * time.Hour), from: from, to: to, filter: q.Get("$filter")}
	}
	var field, want string
	if cur.filter != "" {
		m := activityFilter.FindStringSubmatch(cur.filter)
		if m == nil {
			s.badRequest(c, "the fake understands filters of the form \"Activity eq 'viewreport'\" (also UserId, Operation)")
			return
		}
		field, want = m[1], m[2]
	}
	s.mu.Lock()
	size := s.activityCfg.pageSize
	if size <= 0 {
		size = 100
	}
	var match []map[string]any
	for _, e := range s.activity {
		t, _ := time.Parse(time.RFC3339, e["CreationTime"].(string))
		if t.Before(cur.from) || t.After(cur.to) {
			continue
		}
		if field != "" && !strings.EqualFold(fmt.Sprint(e[field]), want) {
			continue
		}
		match = append(match, e)
	}
	page := match[min(cur.offset, len(match)):min(cur.offset+size, len(match))]
	out := map[string]any{"activityEventEntities": orEmpty(slices.Clone(page)), "lastResultSet": cur.offset+size >= len(match)}
	if cur.offset+size < len(match) {
		// A token with characters a client must not re-encode.
		token := "T" + randomHex(6) + "+/=" + strconv.Itoa(cur.offset+size)
		raw := "continuationToken=" + url.QueryEscape("'"+token+"'")
		next := cur
		next.offset += size
		s.activityCfg.tokens[raw] = next
		out["continuationToken"] = token
		out["continuationUri"] = "https://" + c.r.Host + "/v1.0/myorg/admin/activityevents?" + raw
	}
	s.mu.Unlock()
	writeJSON(c.w, http.StatusOK, out)
}

func parseQuotedTime(v string) (time.Time, error) {
	v = strings.Trim(v, "'")
	t, err := time.Parse("2006-01-02T15:04:05.000Z", v)
	if err != nil {
		t, err = time.Parse(time.RFC3339Nano, v)
	}
	return t.UTC(), err
}
