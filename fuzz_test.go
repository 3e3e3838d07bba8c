package powerbi

// Fuzz targets for everything the SDK parses from the network or from its
// callers. Each target's seed corpus is built from the contract's examples
// and the error shapes of docs/service.md; crashes the
// fuzzer found are kept in testdata/fuzz/<target>/ and run with go test.
//
// Run one for a while with, e.g.:
//
//	go test -run '^$' -fuzz '^FuzzAPIErrorResponse$' -fuzztime 10m .

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jarcoal/httpmock"

	"github.com/gopowerbi/powerbi/internal/spec"
)

// Sentinels: values that must never reach an error text. Both are long opaque
// runs, the shape of real tokens; fuzzPassword is short and has spaces, the
// shape of a real password.
const (
	fuzzAccessToken = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.ZnV6ei1hY2Nlc3MtdG9rZW4tc2VudGluZWw.c2lnbmF0dXJl"
	fuzzEmbedToken  = "H4sIAAAAAAAEAB2Wt67ERhJF_2VTCqB3C2zwhm7ovUtmpHzaRCQ2SRRG3OBN-fUZentinel0123"
	fuzzSecret      = "Zq38Q~fuzz.client-secret_value-sentinel-0000"
	fuzzPassword    = "p@ss  w<0>rd!"
)

var fuzzSentinels = []string{fuzzAccessToken, fuzzEmbedToken, fuzzSecret, fuzzPassword}

// httpStatus maps a fuzzed number to a status a server can send, 200 to 599,
// keeping those already in range so that the seeds mean what they say.
func httpStatus(n uint16) int {
	if n >= 200 && n <= 599 {
		return int(n)
	}
	return 200 + int(n)%400
}

// answer makes mt answer every request with status, header and body; the
// fuzz targets never touch a socket.
func answer(mt *httpmock.MockTransport, status int, header http.Header, body []byte) {
	mt.RegisterNoResponder(func(*http.Request) (*http.Response, error) {
		resp := httpmock.NewBytesResponse(status, body)
		resp.Header = header
		return resp, nil
	})
}

// checkErrorText fails if err's text, in any of the ways users print errors,
// is more than one line, is not UTF-8, or holds a sentinel.
func checkErrorText(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	if strings.ContainsAny(msg, "\r\n") {
		t.Fatalf("error text is not one line: %q", msg)
	}
	if !utf8.ValidString(msg) {
		t.Fatalf("error text is not UTF-8: %q", msg)
	}
	if len(msg) > 4096 {
		t.Fatalf("error text is %d bytes long", len(msg))
	}
	for _, form := range []string{msg, fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), fmt.Sprintf("%v", errors.Unwrap(err))} {
		for _, s := range fuzzSentinels {
			if strings.Contains(form, s) {
				t.Fatalf("error text holds the sentinel %q: %s", s, form)
			}
		}
	}
}

// exampleBodies returns every request and response body of the contract's examples.
func exampleBodies(f *testing.F) [][]byte {
	f.Helper()
	sw, err := spec.Load()
	if err != nil {
		f.Fatal(err)
	}
	var out [][]byte
	for _, op := range sw.Operations {
		for _, name := range op.ExampleKeys {
			ex := op.Examples[name]
			for _, p := range ex.Parameters {
				if len(p) > 0 && p[0] == '{' {
					out = append(out, p)
				}
			}
			for status := range ex.Responses {
				if b := ex.Body(status); len(b) > 0 {
					out = append(out, b)
				}
			}
		}
	}
	return out
}

// powerBIErrorBodies are the five error shapes of docs/service.md, some
// quoting a sentinel the way a careless proxy or service message might.
var powerBIErrorBodies = []string{
	`{"error":{"code":"InvalidRequest","message":"Creating embed token for accessing dataset cfafbeb1-8037-4d0c-896e-a46fb27ff229 requires effective identity to be provided"}}`,
	`{"error":{"code":"PowerBINotAuthorizedException","pbi.error":{"code":"PowerBINotAuthorizedException","parameters":{},"details":[],"exceptionCulprit":1}}}`,
	`{"error":{"code":"Forbidden","pbi.error":{"code":"X","details":[{"message":"m","detail":{"type":0,"value":"detail text"}}]}}}`,
	`{"Message":"An error has occurred."}`,
	`{"message":"You have exceeded the amount of requests allowed in the current time frame and further requests will fail. Retry in 3392 seconds."}`,
	``,
	`{"error":{"code":"TokenExpired","message":"Access token has expired, resubmit with a new access token"}}`,
	`{"error":{"code":"BadRequest","message":"token ` + fuzzAccessToken + ` refused"}}`,
	`{"error":{"code":"` + fuzzEmbedToken + `"}}`,
	"\xef\xbb\xbf" + `{"error":{"code":"InvalidRequest","message":"BOM first"}}`,
	`<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1><p>` + fuzzEmbedToken + `</p></body></html>`,
	` {"token":"` + fuzzEmbedToken + `","tokenId":"49ae3742-54c0-4c29-af52-619ff93b5c80","expiration":"2018-07-29T17:58:19Z"`,
	`{"token":"` + fuzzEmbedToken + `","tokenId":"49ae3742-54c0-4c29-af52-619ff93b5c80","expiration":"2018-07-29T17:58:19Z"} trailing`,
	`{"token":"` + fuzzEmbedToken + `","tokenId":"49ae3742-54c0-4c29-af52-619ff93b5c80","expiration":"` + fuzzEmbedToken + `"}`,
}

// FuzzAPIErrorResponse sends one GenerateToken call and answers it with a
// fuzzed status, headers and body: Power BI error body parsing, the 2xx
// decoding path, Retry-After on 429/503, and the error text built from all of them.
func FuzzAPIErrorResponse(f *testing.F) {
	for _, b := range exampleBodies(f) {
		f.Add(uint16(200), "application/json; charset=utf-8", "", "", "8f7e6d5c-0a1b-4c2d-9e8f-1a2b3c4d5e6f", b)
	}
	for i, b := range powerBIErrorBodies {
		status := []uint16{400, 401, 403, 404, 429, 500, 502, 503, 200}[i%9]
		f.Add(status, "application/json", "", "", "", []byte(b))
		f.Add(status, "text/html", "TokenExpired", "3392", "rid", []byte(b))
	}
	f.Add(uint16(403), "", "TokenExpired", "", "", []byte(nil))
	f.Add(uint16(429), "application/json", "", "Wed, 21 Oct 2015 07:28:00 GMT", "", []byte(`{"message":"slow down"}`))

	f.Fuzz(func(t *testing.T, status uint16, contentType, errorInfo, retryAfterValue, requestID string, body []byte) {
		code := httpStatus(status)
		h := http.Header{}
		for k, v := range map[string]string{"Content-Type": contentType, "X-PowerBI-Error-Info": errorInfo, "Retry-After": retryAfterValue, "RequestId": requestID} {
			if v != "" {
				h[k] = []string{v}
			}
		}
		c, mt := mockClient(t, StaticToken(fuzzAccessToken), WithRetryPolicy(RetryPolicy{}))
		answer(mt, code, h, body)
		tok, err := c.Reports.GenerateTokenInGroup(context.Background(), groupID, reportID, GenerateTokenRequest{AccessLevel: "View"})
		wantCalls := 1
		if code == http.StatusUnauthorized || code == http.StatusForbidden && errors.Is(err, ErrTokenExpired) {
			wantCalls = 2 // a refused token is dropped and the call replayed once
		}
		if calls := mt.GetTotalCallCount(); calls != wantCalls {
			t.Fatalf("%d requests for status %d, want %d", calls, code, wantCalls)
		}
		if err == nil {
			if code < 200 || code > 299 || tok == nil || tok.Token == "" || tok.Expiration.IsZero() {
				t.Fatalf("status %d gave success with %+v", code, tok)
			}
			return
		}
		if tok != nil {
			t.Fatalf("both a token and an error: %v", err)
		}
		var apiErr *APIError
		if !errors.As(err, &apiErr) {
			t.Fatalf("%T is not an *APIError: %v", err, err)
		}
		if apiErr.StatusCode != code {
			t.Fatalf("StatusCode %d, want %d", apiErr.StatusCode, code)
		}
		if code >= 200 && code <= 299 && !errors.Is(err, ErrUnexpectedResponse) {
			t.Fatalf("an unusable 2xx is not ErrUnexpectedResponse: %v", err)
		}
		if apiErr.RetryAfter < 0 || apiErr.RetryAfter > maxHeaderWait {
			t.Fatalf("RetryAfter %s out of range", apiErr.RetryAfter)
		}
		checkErrorText(t, err)
	})
}

// entraErrorBodies are token endpoint answers: Entra's JSON errors, and what a
// proxy or a wrong authority host sends instead.
var entraErrorBodies = []string{
	`{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '3fa85f64-5717-4562-b3fc-2c963f66afa6'.\r\nTrace ID: 0c9e\r\nCorrelation ID: 1d2e","error_codes":[7000215],"timestamp":"2024-01-01 00:00:00Z","trace_id":"0c9e4d1c-93c1-4b0a-8f7a-5b1d2e3f4a5b","correlation_id":"1d2e3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f6"}`,
	`{"error":"invalid_client","error_description":"AADSTS7000222: The provided client secret keys for app are expired.","error_codes":[7000222]}`,
	`{"error":"unauthorized_client","error_description":"AADSTS700016: Application with identifier '3fa85f64' was not found in the directory 'contoso'.","error_codes":[700016]}`,
	`{"error":"invalid_grant","error_description":"AADSTS50126: Error validating credentials due to invalid username or password.","error_codes":[50126]}`,
	`{"error":"invalid_grant","error_description":"AADSTS50076: Due to a configuration change made by your administrator, you must use multi-factor authentication.","error_codes":[50076]}`,
	`{"error":"invalid_request","error_description":"AADSTS90002: Tenant 'contoso' not found."}`,
	`{"error":"invalid_client","error_description":"client_secret ` + fuzzSecret + ` is wrong"}`,
	`{"error":"invalid_grant","error_description":"password ` + fuzzPassword + ` is wrong","trace_id":"` + fuzzAccessToken + `"}`,
	`{"error":"invalid_grant","error_description":"password p@ss \u0020w\u003c0\u003erd! is wrong"}`,
	`<html><body>Sign in<input value="p@ss  w<0>rd!"></body></html>`,
	`<html><body>Sign in <b>p@ss </b> w<0>rd!</body></html>`,
	`{"token_type":"Bearer","expires_in":3599}`,
	`{"error":`,
	"\xef\xbb\xbf" + `{"error":"temporarily_unavailable","error_codes":[500011]}`,
}

// FuzzEntraError parses fuzzed token endpoint error responses into *AuthError.
func FuzzEntraError(f *testing.F) {
	for i, b := range entraErrorBodies {
		f.Add(uint16([]int{400, 401, 200, 500, 429, 502}[i%6]), []string{"application/json; charset=utf-8", "text/html"}[i%2], []byte(b))
	}
	f.Fuzz(func(t *testing.T, status uint16, contentType string, body []byte) {
		e := newAuthError(int(status), contentType, body, nil, fuzzSecret, fuzzPassword)
		if !errors.Is(e, ErrAuthentication) {
			t.Fatal("an *AuthError is not ErrAuthentication")
		}
		if e.StatusCode != int(status) {
			t.Fatalf("StatusCode %d, want %d", e.StatusCode, status)
		}
		var eb entraErrorBody
		if json.Unmarshal(trimBOM(body), &eb) == nil {
			for _, c := range eb.ErrorCodes {
				if !e.HasCode(c) {
					t.Fatalf("error_codes %v not kept: %v", eb.ErrorCodes, e.AADSTSCodes)
				}
			}
		}
		checkErrorText(t, e)
		// oneLine's fast path returns what its slow path would.
		if text := string(body); printableASCII(text) && len(text) <= 300 && foldLine(text, 300) != text {
			t.Fatalf("oneLine's fast path differs for %q", text)
		}
	})
}

// FuzzTokenResponse answers a client-secret token request with a fuzzed
// response and checks what the Authenticator makes of it: a usable token or an
// *AuthError, never a token without value and never a secret in the error.
func FuzzTokenResponse(f *testing.F) {
	ok := func(expiresIn string) []byte {
		return []byte(`{"token_type":"Bearer","expires_in":` + expiresIn + `,"ext_expires_in":3599,"access_token":"` + fuzzAccessToken + `"}`)
	}
	for _, e := range []string{`3599`, `"3599"`, `0`, `-5`, `null`, `"soon"`, `1e3`, `99999999999`} {
		f.Add(uint16(200), "application/json; charset=utf-8", ok(e))
	}
	f.Add(uint16(200), "application/json", []byte(`{"token_type":"Bearer","access_token":"`+fuzzAccessToken+`"}`))
	f.Add(uint16(200), "application/json", []byte(`{"token_type":"Bearer","expires_in":3599}`))
	f.Add(uint16(200), "application/x-www-form-urlencoded", []byte("access_token="+fuzzAccessToken+"&expires_in=3599&token_type=Bearer"))
	f.Add(uint16(200), "text/html", []byte(`<html>login</html>`))
	for i, b := range entraErrorBodies {
		f.Add(uint16([]int{400, 401, 200}[i%3]), "application/json", []byte(b))
	}
	f.Fuzz(func(t *testing.T, status uint16, contentType string, body []byte) {
		code := httpStatus(status)
		h := http.Header{}
		if contentType != "" {
			h.Set("Content-Type", contentType)
		}
		mt := httpmock.NewMockTransport()
		answer(mt, code, h, body)
		a, err := NewClientSecretAuthenticator(tenantID, clientID, fuzzSecret, &AuthenticatorOptions{
			HTTPClient: &http.Client{Transport: mt}, RetryPolicy: &RetryPolicy{},
		})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := a.Token(context.Background())
		after := time.Now()
		if calls := mt.GetTotalCallCount(); calls != 1 {
			t.Fatalf("%d token requests, want 1", calls)
		}
		if err == nil {
			if code < 200 || code > 299 || tok.Token == "" {
				t.Fatalf("status %d gave a token %q", code, tok.Token)
			}
			// A non-positive expires_in gives a zero or past expiry, which the
			// cache never keeps (scenario 19); a positive one is never beyond
			// what expires_in can say.
			if tok.ExpiresOn.After(after.Add(math.MaxInt32 * time.Second)) {
				t.Fatalf("expiry %s is beyond any expires_in", tok.ExpiresOn)
			}
			return
		}
		if tok.Token != "" {
			t.Fatalf("both a token and an error: %v", err)
		}
		var authErr *AuthError
		if !errors.As(err, &authErr) || !errors.Is(err, ErrAuthentication) {
			t.Fatalf("%T is not an *AuthError: %v", err, err)
		}
		checkErrorText(t, err)
	})
}

// FuzzRetryAfter parses fuzzed Retry-After, retry-after-ms and
// x-ms-retry-after-ms values and checks the wait the policy derives from them.
func FuzzRetryAfter(f *testing.F) {
	for _, v := range []string{"2", "0", "-1", "1.5", "3600", "3392", "garbage", "", " 7 ", "1e9", "NaN", "Inf", "0x10",
		"Wed, 21 Oct 2015 07:28:00 GMT", "Wednesday, 21-Oct-15 07:28:00 GMT", "Wed Oct 21 07:28:00 2015",
		"Sun, 06 Nov 2094 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 2094"} {
		f.Add(v, "", "")
	}
	f.Add("", "250", "")
	f.Add("", "", "1200")
	f.Add("5", "0.001", "-3")
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	p := DefaultRetryPolicy()
	f.Fuzz(func(t *testing.T, retryAfterValue, ms, xms string) {
		h := http.Header{}
		for k, v := range map[string]string{"Retry-After": retryAfterValue, "Retry-After-Ms": ms, "X-Ms-Retry-After-Ms": xms} {
			if v != "" {
				h[k] = []string{v}
			}
		}
		d := retryAfter(h, now)
		if d < 0 || d > maxHeaderWait {
			t.Fatalf("retryAfter = %s, out of [0, %s]", d, maxHeaderWait)
		}
		if d != retryAfter(h, now) {
			t.Fatal("retryAfter is not deterministic")
		}
		if ms == "" && xms == "" {
			if n, err := strconv.Atoi(strings.TrimSpace(retryAfterValue)); err == nil && n > 0 && n < 1<<20 && d != time.Duration(n)*time.Second {
				t.Fatalf("Retry-After %q gave %s", retryAfterValue, d)
			}
			if tm, err := http.ParseTime(strings.TrimSpace(retryAfterValue)); err == nil && tm.After(now) {
				if want := min(tm.Sub(now), maxHeaderWait); d != want {
					t.Fatalf("Retry-After %q gave %s, want %s", retryAfterValue, d, want)
				}
			}
		}
		// Whatever the headers say, a retry waits at least the floor (never a
		// hot loop) and no more than the server asked plus 10% jitter.
		for attempt := range 3 {
			wait := p.backoff(p.WaitMin, p.WaitMax, attempt, &http.Response{Header: h})
			ceiling := p.WaitMax
			if d > 0 {
				ceiling = max(d, p.WaitMin) * 11 / 10
			}
			if wait < p.WaitMin || wait > ceiling {
				t.Fatalf("attempt %d waits %s for %s; want [%s, %s]", attempt, wait, d, p.WaitMin, ceiling)
			}
		}
	})
}

// FuzzIDsAndPaths passes fuzzed IDs to calls that put them in the request path.
// A bad ID is refused before any token is asked for or any request sent; a
// good one lands in the path as exactly one segment, with no query or fragment.
func FuzzIDsAndPaths(f *testing.F) {
	for _, id := range []string{groupID, reportID, "../admin/groups", "abc?$top=1", "a#b", "a/b", "%2e%2e", "", " ", "with space",
		strings.Repeat("a", 10240), "F089354E-8366-4E18-AEA3-4CB4A3A50B48", "f089354e-8366-4e18-aea3-4cb4a3a50b4", "f089354e_8366_4e18_aea3_4cb4a3a50b48",
		"..", ".", "cfafbeb1-8037-4d0c-896e-a46fb27ff229", "dataset;x", "ünïcode", "a\x00b", "a\\b", "é" + groupID[2:]} {
		f.Add(id, id)
		f.Add(groupID, id)
	}
	f.Fuzz(func(t *testing.T, group, item string) {
		var requests []*http.Request
		var tokens int
		auth := AuthenticatorFunc(func(context.Context) (AccessToken, error) {
			tokens++
			return AccessToken{Token: fuzzAccessToken, ExpiresOn: time.Now().Add(time.Hour)}, nil
		})
		c, mt := mockClient(t, auth, WithRetryPolicy(RetryPolicy{}))
		mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
			requests = append(requests, r)
			return httpmock.NewBytesResponse(404, nil), nil
		})
		calls := []struct {
			name   string
			segs   []string // the path after /v1.0/myorg/, item IDs in place
			strict bool     // item must be a GUID (else: a dataset ID, path-escaped)
			do     func() error
		}{
			{"GetReportInGroup", []string{"groups", group, "reports", item}, true,
				func() error { _, err := c.Reports.GetReportInGroup(context.Background(), group, item); return err }},
			{"GetDatasetInGroup", []string{"groups", group, "datasets", item}, false,
				func() error { _, err := c.Datasets.GetDatasetInGroup(context.Background(), group, item); return err }},
		}
		for _, call := range calls {
			requests, tokens = nil, 0
			err := call.do()
			groupOK := isGUID(group)
			itemOK := isGUID(item)
			if !call.strict {
				itemOK = checkDatasetID("datasetID", item) == nil
			}
			if !groupOK || !itemOK {
				if !errors.Is(err, ErrInvalidArgument) {
					t.Fatalf("%s(%q, %q): %v, want ErrInvalidArgument", call.name, group, item, err)
				}
				if len(requests) != 0 || tokens != 0 {
					t.Fatalf("%s(%q, %q): refused, yet %d requests and %d token fetches", call.name, group, item, len(requests), tokens)
				}
				checkErrorText(t, err)
				continue
			}
			if len(requests) != 1 {
				t.Fatalf("%s(%q, %q): %d requests, want 1 (err %v)", call.name, group, item, len(requests), err)
			}
			u := requests[0].URL
			if u.Host != "api.powerbi.com" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
				t.Fatalf("%s: request went to %s", call.name, u.Redacted())
			}
			segs := strings.Split(strings.TrimPrefix(u.EscapedPath(), "/v1.0/myorg/"), "/")
			if len(segs) != len(call.segs) {
				t.Fatalf("%s(%q, %q): path %s has %d segments, want %d", call.name, group, item, u.EscapedPath(), len(segs), len(call.segs))
			}
			for i, s := range segs {
				got, err := url.PathUnescape(s)
				if err != nil || got != call.segs[i] {
					t.Fatalf("%s: path segment %d is %q (%q), want %q", call.name, i, s, got, call.segs[i])
				}
			}
		}
	})
}

// models are fresh values of every type the SDK decodes from JSON or sends as
// JSON (models.go, and embed.go's EmbedConfig a web page receives).
var models = []func() any{
	func() any { return new(Report) }, func() any { return new(Dashboard) }, func() any { return new(Tile) },
	func() any { return new(Dataset) }, func() any { return new(Group) }, func() any { return new(EmbedToken) },
	func() any { return new(User) }, func() any { return new(ReportUser) }, func() any { return new(DashboardUser) },
	func() any { return new(DatasetUser) }, func() any { return new(Subscription) }, func() any { return new(SubscriptionUser) },
	func() any { return new(ServicePrincipalProfile) }, func() any { return new(AzureResource) }, func() any { return new(Encryption) },
	func() any { return new(DependentDataflow) }, func() any { return new(DatasetQueryScaleOutSettings) },
	func() any { return new(Timestamp) }, func() any { return new(GenerateTokenRequest) }, func() any { return new(GenerateTokenRequestV2) },
	func() any { return new(EffectiveIdentity) }, func() any { return new(IdentityBlob) }, func() any { return new(DatasourceIdentity) },
	func() any { return new(GenerateTokenRequestV2Dataset) }, func() any { return new(GenerateTokenRequestV2Report) },
	func() any { return new(GenerateTokenRequestV2TargetWorkspace) }, func() any { return new(DatasourceSelector) },
	func() any { return new(DatasourceConnectionDetails) }, func() any { return new(EmbedConfig) }, func() any { return new(EmbedOptions) },
	func() any { return new(list[Report]) }, func() any { return new(list[Group]) }, func() any { return new(list[Dataset]) },
	func() any { return new(list[Dashboard]) }, func() any { return new(list[Tile]) },
}

// FuzzModelJSON decodes fuzzed JSON into every model. What decodes must encode
// again, and decoding that encoding must give the same encoding: no field is
// lost or changed on the way through the SDK's types (a Timestamp, say).
func FuzzModelJSON(f *testing.F) {
	for _, b := range exampleBodies(f) {
		f.Add(b)
		// Each item of a list response alone, as the single-item calls return it.
		var l struct{ Value []json.RawMessage }
		if json.Unmarshal(b, &l) == nil {
			for _, v := range l.Value {
				f.Add([]byte(v))
			}
		}
	}
	for _, ts := range []string{`"2021-12-07T00:00:00Z"`, `"2021-12-07T00:00:00.1234567"`, `"10/13/2021 12:00:00 AM"`, `null`, `""`, `"  "`, `"2021-12-07T00:00:00+05:30"`} {
		f.Add([]byte(ts))
		f.Add([]byte(`{"token":"x","tokenId":"y","expiration":` + ts + `}`))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, newModel := range models {
			v := newModel()
			if err := json.Unmarshal(data, v); err != nil {
				checkErrorText(t, err)
				continue
			}
			first, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("%T decoded %q but does not encode: %v", v, data, err)
			}
			w := newModel()
			if err := json.Unmarshal(first, w); err != nil {
				t.Fatalf("%T: its own encoding %s does not decode: %v", v, first, err)
			}
			second, err := json.Marshal(w)
			if err != nil {
				t.Fatal(err)
			}
			if string(first) != string(second) {
				t.Fatalf("%T changes on a round trip:\n%s\n%s", v, first, second)
			}
		}
	})
}
