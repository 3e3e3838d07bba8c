package powerbitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/gopowerbi/powerbi/internal/spec"
)

// route is one operation of the REST API contract, as the fake recognises it.
type route struct {
	op      *spec.Operation
	method  string
	pattern *regexp.Regexp // matches the escaped path
	params  int            // how many path parameters: fewer is more specific
	literal int            // how many literal characters: more is more specific
}

var (
	routesOnce sync.Once
	routes     []route
	routesErr  error
)

var templateParam = regexp.MustCompile(`\{[^}]+\}`)

// contractRoutes are the contract's operations, most specific first, so that
// groups/{groupId}/datasets/upstreamDataflows wins over
// groups/{groupId}/datasets/{datasetId}.
func contractRoutes() ([]route, error) {
	routesOnce.Do(func() {
		sw, err := spec.Load()
		if err != nil {
			routesErr = err
			return
		}
		for _, op := range sw.Operations {
			parts := templateParam.Split(op.Path, -1)
			for i, p := range parts {
				parts[i] = regexp.QuoteMeta(p)
			}
			// A parameter is one path segment, or what stands between an OData
			// segment's parentheses or quotes.
			expr := "^" + strings.Join(parts, `([^/()']+)`) + "$"
			routes = append(routes, route{op: op, method: op.Method, pattern: regexp.MustCompile(expr),
				params: len(parts) - 1, literal: len(templateParam.ReplaceAllString(op.Path, ""))})
		}
		sort.SliceStable(routes, func(i, j int) bool {
			if routes[i].params != routes[j].params {
				return routes[i].params < routes[j].params
			}
			return routes[i].literal > routes[j].literal
		})
	})
	return routes, routesErr
}

// operationOf is the contract operation a request is for, or nil.
func operationOf(r *http.Request) *spec.Operation {
	rs, err := contractRoutes()
	if err != nil {
		return nil
	}
	path := r.URL.EscapedPath()
	for _, rt := range rs {
		if rt.method == r.Method && rt.pattern.MatchString(path) {
			return rt.op
		}
	}
	return nil
}

// HandleOperation makes the fake answer the operation with the given ID (as
// in the REST reference and the contract: "Reports_CloneReportInGroup") with
// h, to script answers in your own tests. The caller's access token is
// checked first, as for every call; h then writes the whole answer. A handler
// takes precedence over the fake's own rules and over the contract's
// example. It panics for an operation ID the contract does not have.
func (s *Server) HandleOperation(operationID string, h http.HandlerFunc) {
	sw, err := spec.Load()
	if err != nil || sw.Operation(operationID) == nil {
		panic(fmt.Sprintf("powerbitest: HandleOperation: the contract has no operation %q", operationID))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.handlers == nil {
		s.handlers = map[string]http.HandlerFunc{}
	}
	s.handlers[operationID] = h
}

// handlerFor returns the handler registered for the request's operation.
func (s *Server) handlerFor(r *http.Request) http.HandlerFunc {
	s.mu.Lock()
	n := len(s.handlers)
	s.mu.Unlock()
	if n == 0 {
		return nil
	}
	op := operationOf(r)
	if op == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.handlers[op.ID]
}

// answerFromContract answers an operation the fake has no rule for with the
// contract's own example of it: its status, headers and body. An operation
// without an example, or a path that is no operation, is a 404 NoRoute that
// says so.
func (s *Server) answerFromContract(c *call) {
	op := operationOf(c.r)
	if op == nil {
		s.pbiError(c.w, http.StatusNotFound, "NoRoute", "The fake has no route for "+c.r.Method+" "+c.r.URL.Path+", and the contract no such operation")
		return
	}
	if len(op.ExampleKeys) == 0 {
		s.pbiError(c.w, http.StatusNotFound, "NoRoute", "The fake has no rule for "+op.ID+" and the contract no example of it: script it with HandleOperation")
		return
	}
	ex := op.Examples[op.ExampleKeys[0]]
	status := op.SuccessStatus()
	if _, ok := ex.Responses[status]; !ok {
		for code := range ex.Responses {
			if strings.HasPrefix(code, "2") {
				status = code
			}
		}
	}
	code, _ := strconv.Atoi(status)
	for k, v := range ex.Headers(status) {
		c.w.Header().Set(k, v)
	}
	body := ex.Body(status)
	if len(body) == 0 {
		c.w.WriteHeader(code)
		return
	}
	var v any
	if json.Unmarshal(body, &v) != nil {
		c.w.WriteHeader(code)
		_, _ = c.w.Write(body)
		return
	}
	writeJSON(c.w, code, v)
}
