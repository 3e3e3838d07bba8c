package powerbitest

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/gopowerbi/powerbi"
)

// The service's limits on one executeQueries answer: past them it stops,
// without saying so.
const (
	daxMaxRows   = 100_000
	daxMaxValues = 1_000_000
)

type daxTable struct {
	name string
	rows []map[string]any // by column name, without the table
}

type daxAnswer struct {
	rows        []map[string]any // as they are to be sent
	code, error string           // an error in the 200, when set
}

// AddTable seeds a table of a dataset for DAX queries: `EVALUATE 'Name'`
// (or `EVALUATE Name`) answers its rows, keyed "Name[Column]" as the
// service keys them.
func (s *Server) AddTable(datasetID, name string, rows ...map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := strings.ToLower(datasetID)
	s.daxTables[id] = append(s.daxTables[id], &daxTable{name: name, rows: rows})
}

// SetQueryRows makes a query text (exactly as sent) answer rows, keyed as
// given ("Sales[Amount]", "[Total]").
func (s *Server) SetQueryRows(datasetID, query string, rows []map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.daxAnswers[strings.ToLower(datasetID)+"\x00"+query] = &daxAnswer{rows: rows}
}

// SetQueryError makes a query text answer 200 with an error in its result,
// as the service does for some failures.
func (s *Server) SetQueryError(datasetID, query, code, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.daxAnswers[strings.ToLower(datasetID)+"\x00"+query] = &daxAnswer{code: code, error: message}
}

var evaluateTable = regexp.MustCompile(`(?is)^\s*EVALUATE\s+(?:'([^']+)'|([A-Za-z_][A-Za-z0-9_]*))\s*$`)

// executeQueries is Datasets_ExecuteQueriesInGroup: one query, answered from
// the seeded tables or the registered answers, cut at the service's limits.
func (s *Server) executeQueries(c *call) {
	d, ok := s.dataset(c)
	if !ok {
		return
	}
	var req powerbi.DatasetExecuteQueriesRequest
	if err := json.NewDecoder(io.LimitReader(c.r.Body, 1<<20)).Decode(&req); err != nil {
		s.badRequest(c, "the body is not a query request: %v", err)
		return
	}
	if len(req.Queries) != 1 {
		s.badRequest(c, "exactly one query per request, got %d", len(req.Queries))
		return
	}
	query := req.Queries[0].Query
	s.mu.Lock()
	answer := s.daxAnswers[d.ID+"\x00"+query]
	var rows []map[string]any
	found := answer != nil
	if answer != nil {
		rows = answer.rows
	} else if m := evaluateTable.FindStringSubmatch(query); m != nil {
		name := m[1] + m[2]
		for _, t := range s.daxTables[d.ID] {
			if strings.EqualFold(t.name, name) {
				found = true
				for _, r := range t.rows {
					out := make(map[string]any, len(r))
					for k, v := range r {
						out[t.name+"["+k+"]"] = v
					}
					rows = append(rows, out)
				}
			}
		}
	}
	s.mu.Unlock()
	if !found {
		writeJSON(c.w, http.StatusBadRequest, map[string]any{"error": map[string]any{
			"code": "DatasetExecuteQueriesError",
			"pbi.error": map[string]any{"code": "DatasetExecuteQueriesError", "parameters": map[string]any{}, "details": []map[string]any{
				{"code": "DetailsMessage", "detail": map[string]any{"type": 1, "value": "Query (1, 10) Cannot find table or query: powerbitest answers EVALUATE of a table added with AddTable, or a query registered with SetQueryRows."}},
			}},
		}})
		return
	}
	if answer != nil && answer.code != "" {
		writeJSON(c.w, http.StatusOK, map[string]any{"results": []map[string]any{{"error": map[string]any{"code": answer.code, "message": answer.error}}}})
		return
	}
	values, n := 0, 0
	for ; n < len(rows) && n < daxMaxRows; n++ {
		if values+len(rows[n]) > daxMaxValues {
			break
		}
		values += len(rows[n])
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"results": []map[string]any{{"tables": []map[string]any{{"rows": orEmpty(rows[:n])}}}}})
}
