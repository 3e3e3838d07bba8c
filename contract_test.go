package powerbi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopowerbi/powerbi/internal/spec"
)

// exampleArgs are the parameters of one x-ms-examples entry, read as the
// arguments of the operation's method (see contract_gen_test.go).
type exampleArgs struct {
	op     *spec.Operation
	params map[string]json.RawMessage
}

func (a *exampleArgs) raw(name string) (string, bool) {
	v, ok := a.params[name]
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s, true
	}
	return string(v), true
}

func (a *exampleArgs) str(name string) string {
	s, _ := a.raw(name)
	return s
}

func (a *exampleArgs) int(name string) int {
	s, ok := a.raw(name)
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(fmt.Sprintf("parameter %s is not an integer: %v", name, err))
	}
	return n
}

func (a *exampleArgs) bool(name string) bool {
	s, ok := a.raw(name)
	return ok && s == "true"
}

func (a *exampleArgs) time(name string) time.Time {
	s, ok := a.raw(name)
	if !ok {
		return time.Time{}
	}
	v, err := time.Parse(time.RFC3339, strings.Trim(s, "'"))
	if err != nil {
		panic(fmt.Sprintf("parameter %s is not a date: %v", name, err))
	}
	return v
}

// bodyParam is the raw body parameter of the example, nil when it has none.
// Some examples give the body under another name than the contract's: then
// it is the one object parameter the operation does not declare.
func (a *exampleArgs) bodyParam() json.RawMessage {
	declared := map[string]bool{}
	for _, p := range a.op.Parameters {
		declared[p.Name] = true
		if p.In == "body" {
			if b, ok := a.params[p.Name]; ok {
				return b
			}
		}
	}
	if !hasBody(a.op) {
		return nil
	}
	var found json.RawMessage
	for name, v := range a.params {
		if !declared[name] && bytes.HasPrefix(bytes.TrimSpace(v), []byte("{")) {
			if found != nil {
				return nil
			}
			found = v
		}
	}
	return found
}

func hasBody(op *spec.Operation) bool {
	for _, p := range op.Parameters {
		if p.In == "body" {
			return true
		}
	}
	return false
}

func body[T any](a *exampleArgs) T {
	var v T
	if err := json.Unmarshal(a.bodyParam(), &v); err != nil {
		panic(fmt.Sprintf("the example's body does not decode into %T: %v", v, err))
	}
	return v
}

func bodyPtr[T any](a *exampleArgs) *T {
	if a.bodyParam() == nil {
		return nil
	}
	v := body[T](a)
	return &v
}

// withPlaceholders fills in the path parameters and required query
// parameters an example leaves out (many list examples give no IDs), so that
// the call can be made; the expected request uses the same values.
func withPlaceholders(op *spec.Operation, params map[string]json.RawMessage) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for k, v := range params {
		out[k] = v
	}
	for i, p := range op.Parameters {
		if _, ok := out[p.Name]; ok || !p.Required || p.In != "path" && p.In != "query" {
			continue
		}
		switch {
		case p.Type == "integer":
			out[p.Name] = json.RawMessage("100")
		case p.Format == "uuid":
			out[p.Name] = json.RawMessage(fmt.Sprintf(`"00000000-0000-4000-8000-%012d"`, i))
		case p.Format == "date-time":
			out[p.Name] = json.RawMessage(`"2026-01-02T03:04:05Z"`)
		default:
			out[p.Name] = json.RawMessage(`"placeholder"`)
		}
	}
	return out
}

var pathParamRE = regexp.MustCompile(`\{([^}]+)\}`)

// expectedPath is the operation's path with the example's parameters in it,
// escaped the way a path segment (or an OData string literal) is.
func expectedPath(op *spec.Operation, a *exampleArgs) string {
	return pathParamRE.ReplaceAllStringFunc(op.Path, func(m string) string {
		v := a.str(m[1 : len(m)-1])
		if i := strings.Index(op.Path, m); i > 0 && op.Path[i-1] == '\'' {
			return url.PathEscape(strings.ReplaceAll(v, "'", "''"))
		}
		return url.PathEscape(v)
	})
}

// TestEveryContractExample drives every x-ms-examples entry of the contract
// through the SDK, against an httpmock transport that answers with the
// example's own response: the method, the escaped path, the query and the
// JSON body must be the example's, and the decoded result must re-encode
// with every key of the example's response. An example that cannot pass,
// because of a quirk of the contract, must say why in the overlay
// (exampleNotes); it is then required to fail, so no note goes stale.
func TestEveryContractExample(t *testing.T) {
	sw, err := spec.Load()
	require.NoError(t, err)
	notes := overlayNotes(t)
	var passed, noted, total int
	for _, op := range sw.Operations {
		call := contractCalls[op.ID]
		require.NotNil(t, call, "%s has no call", op.ID)
		for _, name := range op.ExampleKeys {
			total++
			key := op.ID + "/" + name
			var failure string
			t.Run(key, func(t *testing.T) {
				failure = runExample(t, op, op.Examples[name], call)
				note, isNoted := notes[key]
				switch {
				case failure == "" && isNoted:
					t.Errorf("passes, but the overlay notes why it should not: %s", note)
				case failure != "" && !isNoted:
					t.Errorf("%s", failure)
				case failure != "":
					noted++
				default:
					passed++
				}
			})
		}
	}
	t.Logf("contract examples: %d of %d passed; %d fail for a reason written in the overlay", passed, total, noted)
	assert.Equal(t, total, passed+noted)
}

func overlayNotes(t *testing.T) map[string]string {
	b, err := spec.Overlay()
	require.NoError(t, err)
	var ov struct {
		ExampleNotes map[string]string `json:"exampleNotes"`
	}
	require.NoError(t, json.Unmarshal(b, &ov))
	return ov.ExampleNotes
}

// runExample runs one example and returns what did not match, or "".
func runExample(t *testing.T, op *spec.Operation, ex *spec.Example, call func(context.Context, *Client, *exampleArgs) (any, error)) (failure string) {
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	defer func() {
		if r := recover(); r != nil {
			fail("panic: %v", r)
		}
		failure = strings.Join(problems, "; ")
	}()
	status := ""
	for _, code := range sortedKeys(ex.Responses) {
		if status == "" || strings.HasPrefix(code, "2") && !strings.HasPrefix(status, "2") {
			status = code
		}
	}
	code, _ := strconv.Atoi(status)
	respBody := ex.Body(status)
	c, mt := mockClient(t, StaticToken("test-token"), WithRetryPolicy(RetryPolicy{}))
	var got *http.Request
	var gotBody []byte
	mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		got = r
		if r.Body != nil {
			gotBody, _ = io.ReadAll(r.Body)
		}
		resp := httpmock.NewBytesResponse(code, respBody)
		resp.Header.Set("Content-Type", "application/json")
		for k, v := range ex.Headers(status) {
			resp.Header.Set(k, v)
		}
		return resp, nil
	})
	a := &exampleArgs{op: op, params: withPlaceholders(op, ex.Parameters)}
	result, err := call(context.Background(), c, a)
	if got == nil {
		fail("no request was sent: %v", err)
		return
	}
	if got.Method != op.Method {
		fail("method %s, want %s", got.Method, op.Method)
	}
	if want := expectedPath(op, a); got.URL.EscapedPath() != want {
		fail("path %s, want %s", got.URL.EscapedPath(), want)
	}
	checkQuery(op, a, got.URL.Query(), fail)
	if want := a.bodyParam(); want != nil {
		if !jsonEqual(want, gotBody) {
			var compact bytes.Buffer
			_ = json.Compact(&compact, want)
			fail("body %s, want %s", gotBody, compact.Bytes())
		}
	} else if len(gotBody) > 0 {
		fail("a body %s where the example has none", gotBody)
	}
	switch {
	case code >= 300:
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != code {
			fail("want an *APIError with status %d, got %v", code, err)
		}
	case err != nil:
		fail("error: %v", err)
	default:
		checkResult(result, respBody, fail)
	}
	return
}

// checkQuery compares the query the SDK sent with the example's query
// parameters, value by value. A parameter sent as an OData literal (quoted in
// the overlay) is compared without its quotes.
func checkQuery(op *spec.Operation, a *exampleArgs, got url.Values, fail func(string, ...any)) {
	want := url.Values{}
	for _, p := range op.Parameters {
		if v, ok := a.raw(p.Name); ok && p.In == "query" {
			want.Set(p.Name, v)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			fail("query parameter %s=%s that the example does not have", name, got.Get(name))
		}
	}
	for name := range want {
		g, w := strings.Trim(got.Get(name), "'"), strings.Trim(want.Get(name), "'")
		if unescaped, err := url.QueryUnescape(w); err == nil && g != w && g == unescaped {
			w = unescaped // a token the example gives encoded, as the service sends it
		}
		gt, errG := time.Parse(time.RFC3339, g)
		wt, errW := time.Parse(time.RFC3339, w)
		if g != w && (errG != nil || errW != nil || !gt.Equal(wt)) {
			fail("query %s=%q, want %q", name, g, w)
		}
	}
}

// checkResult checks that the decoded result re-encodes with every key of
// the example's response (a key the Go value omits must be a zero value).
func checkResult(result any, respBody []byte, fail func(string, ...any)) {
	if len(bytes.TrimSpace(respBody)) == 0 || result == nil {
		return
	}
	if f, ok := result.(*File); ok {
		b, _ := io.ReadAll(f.Body)
		f.Body.Close()
		if !bytes.Equal(b, respBody) {
			fail("the file's content differs from the example's body")
		}
		return
	}
	var want any
	if err := json.Unmarshal(respBody, &want); err != nil {
		fail("the example's response is not JSON: %v", err)
		return
	}
	if m, ok := want.(map[string]any); ok {
		if v, isList := m["value"]; isList && len(m) <= 2 {
			want = v // an OData list: the method returns the items
		}
	}
	gb, err := json.Marshal(result)
	if err != nil {
		fail("the result does not encode: %v", err)
		return
	}
	var got any
	_ = json.Unmarshal(gb, &got)
	coversJSON("$", want, got, fail)
}

func coversJSON(at string, want, got any, fail func(string, ...any)) {
	switch w := want.(type) {
	case map[string]any:
		g, _ := got.(map[string]any)
		for k, wv := range w {
			if strings.Contains(k, "odata.") {
				continue // an OData annotation, not data
			}
			gv, ok := g[k]
			if !ok {
				// encoding/json matches names whatever their case, and the
				// examples do not always write them as the contract does.
				for gk, v := range g {
					if strings.EqualFold(gk, k) {
						gv, ok = v, true
					}
				}
			}
			if !ok {
				if !isZeroJSON(wv) {
					fail("%s.%s: the result drops %v", at, k, wv)
				}
				continue
			}
			coversJSON(at+"."+k, wv, gv, fail)
		}
	case []any:
		g, _ := got.([]any)
		if len(g) != len(w) {
			fail("%s: %d items, want %d", at, len(g), len(w))
			return
		}
		for i := range w {
			coversJSON(fmt.Sprintf("%s[%d]", at, i), w[i], g[i], fail)
		}
	case string:
		gs, ok := got.(string)
		if ok && gs == w {
			return
		}
		// Dates are re-rendered as RFC 3339: compare them as instants.
		var wt, gt Timestamp
		if ok && wt.UnmarshalJSON([]byte(strconv.Quote(w))) == nil && gt.UnmarshalJSON([]byte(strconv.Quote(gs))) == nil && wt.Equal(gt.Time) && !wt.IsZero() {
			return
		}
		fail("%s: got %v, want %q", at, got, w)
	default:
		if want != got {
			fail("%s: got %v, want %v", at, got, want)
		}
	}
}

// jsonEqual compares two JSON documents, their object keys whatever their
// case: the service reads names that way, and some examples write them
// otherwise than the contract.
func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xb, _ := json.Marshal(foldKeys(x))
	yb, _ := json.Marshal(foldKeys(y))
	return bytes.Equal(xb, yb)
}

func foldKeys(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[strings.ToLower(k)] = foldKeys(e)
		}
		return out
	case []any:
		for i := range x {
			x[i] = foldKeys(x[i])
		}
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
