package powerbi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Sentinel errors. Match them with errors.Is; the typed errors below carry the details.
var (
	// ErrInvalidArgument: an argument or request was rejected before anything was sent
	// (see *ValidationError).
	ErrInvalidArgument = errors.New("powerbi: invalid argument")
	// ErrUnauthorized: the API answered 401.
	ErrUnauthorized = errors.New("powerbi: unauthorized")
	// ErrForbidden: the API answered 403.
	ErrForbidden = errors.New("powerbi: forbidden")
	// ErrNotFound: the API answered 404.
	ErrNotFound = errors.New("powerbi: not found")
	// ErrThrottled: the API (or the token endpoint) answered 429 and the wait it
	// asked for was longer than allowed, or the retries ran out.
	ErrThrottled = errors.New("powerbi: throttled")
	// ErrTokenExpired: the API reported the access token as expired (error code
	// TokenExpired), or an Authenticator returned a token that had already expired.
	ErrTokenExpired = errors.New("powerbi: access token expired")
	// ErrUnexpectedResponse: a 2xx response whose body is empty, not JSON, too
	// large, cut short, or missing required fields where JSON was expected.
	ErrUnexpectedResponse = errors.New("powerbi: unexpected response")
	// ErrAuthentication: Entra ID refused to issue an access token (see *AuthError).
	ErrAuthentication = errors.New("powerbi: authentication failed")
)

// APIError is an error response from the Power BI REST API, or a 2xx response
// that could not be used. Its Error string is one line and never contains a
// token, a secret or a query string.
type APIError struct {
	StatusCode int
	Code       string        // error.code, pbi.error.code, or the X-PowerBI-Error-Info header
	Message    string        // the service's message, or a short sanitised snippet of a non-JSON body
	RequestID  string        // the RequestId response header: quote it to Microsoft support
	RetryAfter time.Duration // when the server said how long to wait
	Method     string
	URL        string // without query string
	Attempts   int    // requests sent for this call, retries included
	Hint       string // a likely cause and fix, for known failures

	cause error // why a 2xx response was unusable; nil for error statuses
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("powerbi: ")
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.URL)
	b.WriteString(": ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteByte(' ')
		b.WriteString(t)
	}
	if e.cause != nil {
		b.WriteString(": unexpected response: ")
		b.WriteString(oneLine(e.cause.Error(), 200))
	}
	if e.Code != "" {
		b.WriteString(": ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	var extra []string
	if e.RequestID != "" {
		extra = append(extra, "RequestId "+e.RequestID)
	}
	if e.RetryAfter > 0 {
		extra = append(extra, "retry after "+e.RetryAfter.String())
	}
	if e.Attempts > 1 {
		extra = append(extra, strconv.Itoa(e.Attempts)+" attempts")
	}
	if len(extra) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(extra, ", "))
		b.WriteByte(')')
	}
	if e.Hint != "" {
		b.WriteString(". Hint: ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// Is lets errors.Is match an *APIError against the sentinel errors by status and code.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrThrottled:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrTokenExpired:
		return e.Code == "TokenExpired"
	case ErrUnexpectedResponse:
		return e.cause != nil
	}
	return false
}

// Unwrap returns why a 2xx response was unusable (a JSON syntax error, say), or nil.
func (e *APIError) Unwrap() error { return e.cause }

// AuthError is a refusal from the Entra ID token endpoint. errors.Is(err,
// ErrAuthentication) matches it. Its Error string is one line and never
// contains the secret, password, assertion or token.
type AuthError struct {
	Host          string // the authority the token request went to, e.g. login.microsoftonline.com
	StatusCode    int    // HTTP status of the token response (0 if none came)
	ErrorCode     string // the OAuth "error", e.g. invalid_client, invalid_grant
	AADSTSCodes   []int  // error_codes, e.g. 7000215
	Description   string // first line of error_description
	TraceID       string
	CorrelationID string
	Hint          string

	cause error
}

func (e *AuthError) Error() string {
	var b strings.Builder
	b.WriteString("powerbi: Entra ID token request ")
	if e.Host != "" {
		b.WriteString("to ")
		b.WriteString(oneLine(e.Host, 100))
		b.WriteByte(' ')
	}
	b.WriteString("failed")
	if e.StatusCode != 0 {
		b.WriteString(": ")
		b.WriteString(strconv.Itoa(e.StatusCode))
	}
	if e.ErrorCode != "" {
		b.WriteString(": ")
		b.WriteString(e.ErrorCode)
	}
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(e.Description)
	} else if len(e.AADSTSCodes) > 0 {
		b.WriteString(": AADSTS")
		b.WriteString(strconv.Itoa(e.AADSTSCodes[0]))
	} else if e.cause != nil {
		b.WriteString(": ")
		b.WriteString(oneLine(e.cause.Error(), 200))
	}
	if e.TraceID != "" || e.CorrelationID != "" {
		b.WriteString(" (trace ID ")
		b.WriteString(orDash(e.TraceID))
		b.WriteString(", correlation ID ")
		b.WriteString(orDash(e.CorrelationID))
		b.WriteByte(')')
	}
	if e.Hint != "" {
		b.WriteString(". Hint: ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// Is matches ErrAuthentication, and ErrThrottled for a 429 from the token endpoint.
func (e *AuthError) Is(target error) bool {
	return target == ErrAuthentication || (target == ErrThrottled && e.StatusCode == http.StatusTooManyRequests)
}

// Unwrap returns the transport or parsing error behind the refusal, if any.
func (e *AuthError) Unwrap() error { return e.cause }

// HasCode reports whether Entra returned the AADSTS error code n.
func (e *AuthError) HasCode(n int) bool {
	for _, c := range e.AADSTSCodes {
		if c == n {
			return true
		}
	}
	return false
}

// ValidationError reports an argument or request rejected before any token was
// fetched or any byte was sent. errors.Is(err, ErrInvalidArgument) matches it.
type ValidationError struct {
	Field  string // e.g. "groupID" or "identities[0].roles"
	Reason string // what the limit is
}

func (e *ValidationError) Error() string { return "powerbi: invalid " + e.Field + ": " + e.Reason }

// Is matches ErrInvalidArgument.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidArgument }

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// pbiErrorBody covers the error shapes the Power BI API sends:
//
//	{"error":{"code":"InvalidRequest","message":"..."}}
//	{"error":{"code":"PowerBINotAuthorizedException","pbi.error":{"code":"...","details":[...]}}}
//	{"Message":"An error has occurred."}  (encoding/json matches "Message" and "message" alike)
//	{"message":"You have exceeded the amount of requests ..."}
//
// and an empty body, whose code is only in the X-PowerBI-Error-Info header.
type pbiErrorBody struct {
	Error *struct {
		Code     string `json:"code"`
		Message  string `json:"message"`
		PBIError *struct {
			Code    string `json:"code"`
			Details []struct {
				Message string `json:"message"`
				Detail  struct {
					Value string `json:"value"`
				} `json:"detail"`
			} `json:"details"`
		} `json:"pbi.error"`
	} `json:"error"`
	Message string `json:"message"`
}

// parseBody fills Code and Message from an error response's body and headers.
// secrets are removed from any text taken from the response.
func (e *APIError) parseBody(h http.Header, body []byte, secrets ...string) {
	body = trimBOM(body)
	var pb pbiErrorBody
	if len(body) > 0 && json.Unmarshal(body, &pb) == nil {
		e.Message = pb.Message
		if pe := pb.Error; pe != nil {
			e.Code = pe.Code
			if pe.Message != "" {
				e.Message = pe.Message
			}
			if pbi := pe.PBIError; pbi != nil {
				if e.Code == "" {
					e.Code = pbi.Code
				}
				for _, d := range pbi.Details {
					if e.Message != "" {
						break
					}
					e.Message = firstNonEmpty(d.Detail.Value, d.Message)
				}
			}
		}
		e.Code = oneLine(e.Code, 100, secrets...)
		e.Message = oneLine(e.Message, 300, secrets...)
	} else if len(body) > 0 {
		e.Message = snippet(h.Get("Content-Type"), body, secrets...)
	}
	if e.Code == "" {
		e.Code = oneLine(h.Get("X-PowerBI-Error-Info"), 100, secrets...)
	}
}

// snippet renders a non-JSON body as a short, single-line, tag-free excerpt
// without secrets (removed before and after the tags, which could split one).
func snippet(contentType string, body []byte, secrets ...string) string {
	if !utf8.Valid(body) {
		return fmt.Sprintf("%d bytes of non-text %s body", len(body), orDash(oneLine(contentType, 60)))
	}
	s := redact(string(body), secrets...)
	if len(s) > 4096 {
		s = s[:4096]
	}
	var b strings.Builder
	inTag := false
	for _, r := range s {
		switch {
		case r == '<':
			inTag = true
			b.WriteByte(' ')
		case r == '>':
			inTag = false
		case !inTag:
			b.WriteRune(r)
		}
	}
	ct := contentType
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return "non-JSON " + orDash(oneLine(ct, 60)) + " body: " + strconv.Quote(oneLine(b.String(), 120, secrets...))
}

// hintTokenExpired is the hint for a token the API refused as expired (401 or 403).
const hintTokenExpired = "the access token expired; the client refreshes it once and replays the call, so a repeat means the Authenticator returns stale tokens"

// apiHint names the likely cause of a known failure (see shared/POWERBI.md).
func apiHint(e *APIError) string {
	msg := strings.ToLower(e.Message)
	generateToken := strings.HasSuffix(e.URL, "/GenerateToken")
	switch {
	case strings.Contains(msg, "shouldn't have effective identity"):
		return "the dataset has no row-level security: send no identities"
	case strings.Contains(msg, "requires effective identity"):
		return "the dataset uses row-level security (or is an Analysis Services live connection or SSO): send an identity with the dataset ID"
	case strings.Contains(msg, "requires roles"):
		return "the dataset's row-level security needs roles: put the RLS role names in the identity's roles"
	case strings.Contains(msg, "multiple identities"):
		return "send at most one identity per dataset"
	}
	switch e.StatusCode {
	case http.StatusUnauthorized:
		switch e.Code {
		case "TokenExpired":
			return hintTokenExpired
		case "InvalidToken", "InvalidAuthenticationToken":
			return "the access token was rejected: its scope must match the API root (same Cloud for both), e.g. https://analysis.windows.net/powerbi/api/.default for api.powerbi.com"
		}
		return "for a service principal: add it (or its security group) to the workspace as Member or Admin, and make sure the tenant setting \"Allow service principals to use Power BI APIs\" is on and includes its security group"
	case http.StatusForbidden:
		if e.Code == "TokenExpired" {
			return hintTokenExpired
		}
		if generateToken {
			return "on shared (non-Premium) capacity the embed token quota may be exhausted: production embedding needs a Premium, Embedded or Fabric capacity; otherwise the caller lacks permission on the item"
		}
		return "the caller lacks permission on this item or workspace: check its workspace role"
	case http.StatusNotFound:
		return "wrong ID, or an ID from another workspace: check the group (workspace) ID and the item ID, and that the caller is a member of the workspace"
	case http.StatusTooManyRequests:
		return "Power BI is throttling this principal: cache embed tokens and spread calls over time"
	}
	return ""
}

// entraErrorBody is the Entra ID token endpoint's error JSON.
type entraErrorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
}

// newAuthError builds an *AuthError from a token endpoint response. secrets are
// removed from any text taken from the response, whatever the endpoint echoed.
func newAuthError(status int, contentType string, body []byte, cause error, secrets ...string) *AuthError {
	e := &AuthError{StatusCode: status, cause: cause}
	body = trimBOM(body)
	var eb entraErrorBody
	if len(body) > 0 && json.Unmarshal(body, &eb) == nil {
		e.ErrorCode = oneLine(eb.Error, 60, secrets...)
		e.Description = oneLine(firstLine(eb.ErrorDescription), 300, secrets...)
		e.AADSTSCodes = eb.ErrorCodes
		e.TraceID = oneLine(eb.TraceID, 60, secrets...)
		e.CorrelationID = oneLine(eb.CorrelationID, 60, secrets...)
		if len(e.AADSTSCodes) == 0 {
			e.AADSTSCodes = aadstsFromText(eb.ErrorDescription)
		}
	} else if len(body) > 0 {
		e.Description = snippet(contentType, body, secrets...)
	}
	e.Hint = authHint(e)
	return e
}

// aadstsHints maps Entra error codes to their usual cause (shared/POWERBI.md).
var aadstsHints = map[int]string{
	50126:   "wrong username or password for the master user",
	50076:   "the user must use multi-factor authentication, which the password flow cannot do: use a service principal",
	50079:   "the user must register for multi-factor authentication, which the password flow cannot do: use a service principal",
	50034:   "the user does not exist in this tenant: check the username and the tenant ID",
	50053:   "the account is locked after too many sign-in attempts",
	50055:   "the user's password has expired: reset it",
	53003:   "a Conditional Access policy blocked the sign-in",
	7000215: "invalid client secret: use the secret's Value, not its Secret ID",
	7000222: "the client secret has expired: create a new one in the app registration",
	700016:  "application not found in the tenant: wrong client ID or tenant ID, or the app lives in another cloud",
	90002:   "tenant not found: wrong tenant ID, or a sovereign-cloud tenant used against the public authority (set the Cloud)",
	65001:   "the app has no consent for the Power BI API permissions: grant admin consent",
	500011:  "the Power BI resource does not exist in this cloud: the scope and the authority come from different clouds (use one Cloud preset for both)",
	650057:  "the Power BI resource is not known to this app or cloud: the scope and the authority come from different clouds (use one Cloud preset for both)",
	700027:  "the certificate assertion failed validation: wrong certificate, or its thumbprint is not registered on the app",
	7000218: "the request needs a client secret or certificate: register the app as confidential or pass its credential",
}

func authHint(e *AuthError) string {
	for _, c := range e.AADSTSCodes {
		if h, ok := aadstsHints[c]; ok {
			return h
		}
	}
	var redirect *redirectError
	var netErr net.Error
	switch {
	case errors.As(e.cause, &redirect):
		return "a token request is only ever sent to the token endpoint: check the authority host (Cloud or AuthorityHost) and any proxy in between"
	case e.StatusCode == 0 && (errors.Is(e.cause, context.Canceled) || errors.Is(e.cause, context.DeadlineExceeded)):
		return ""
	case e.StatusCode == 0 && errors.As(e.cause, &netErr):
		return "the authority could not be reached: check the network, the proxy settings (HTTPS_PROXY) and the authority host (Cloud or AuthorityHost)"
	case e.StatusCode == http.StatusTooManyRequests:
		return "Entra ID is throttling token requests: the client caches tokens, so look for many Clients or Authenticators created per request"
	case e.ErrorCode == "invalid_client":
		return "check the client ID, the secret or certificate, and the tenant ID"
	case e.ErrorCode == "invalid_grant":
		return "the credentials or grant were refused: check the username, password and tenant"
	case e.StatusCode >= 200 && e.StatusCode < 300:
		return "the token endpoint answered without an access token: check the authority host (Cloud) and any proxy in between"
	case e.StatusCode != 0 && e.ErrorCode == "":
		return "the authority did not answer like Entra ID: check the authority host (Cloud) and any proxy in between"
	}
	return ""
}

// aadstsFromText finds "AADSTS12345" codes in a description when error_codes is absent.
func aadstsFromText(s string) []int {
	var codes []int
	for {
		i := strings.Index(s, "AADSTS")
		if i < 0 {
			return codes
		}
		s = s[i+len("AADSTS"):]
		j := 0
		for j < len(s) && j < 9 && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if n, err := strconv.Atoi(s[:j]); err == nil {
			codes = append(codes, n)
		}
	}
}

// oneLine makes text taken from a response or an error safe to quote on one
// line: secrets are removed (first, so that a secret with a run of spaces is
// still found), opaque runs that may be tokens are redacted (see scrubTokens),
// control characters become spaces, runs of spaces fold, and it is cut at max
// runes.
func oneLine(s string, max int, secrets ...string) string {
	s = scrubTokens(redact(s, secrets...))
	if len(s) <= max && printableASCII(s) {
		return s // the common case (a RequestId, an error code): nothing to change
	}
	return foldLine(s, max)
}

// foldLine is oneLine's slow path.
func foldLine(s string, max int) string {
	var b strings.Builder
	space := false
	n := 0
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
			n++
		}
		space = false
		if n >= max {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// printableASCII reports whether s has only visible ASCII characters and
// single inner spaces: text oneLine would return as it is.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' && i > 0 && i < len(s)-1 && s[i-1] != ' ' {
			continue
		}
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// minTokenRun is the length from which an unbroken run of base64, base64url,
// JWT or percent-encoded characters is taken for a token. Power BI embed
// tokens, Entra access tokens and client secrets are all longer; GUIDs (36)
// and error codes are shorter.
const minTokenRun = 40

func isTokenByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("+/=_.-%~", c) >= 0
}

// scrubTokens replaces every run of at least minTokenRun token characters with
// [REDACTED]. Text quoted from a response (a message, a page snippet) could
// hold a token the SDK never saw, so no known value to redact exists.
func scrubTokens(s string) string {
	var b strings.Builder
	start, done := 0, 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && isTokenByte(s[i]) {
			continue
		}
		if i-start >= minTokenRun {
			if b.Len() == 0 {
				b.Grow(len(s))
			}
			b.WriteString(s[done:start])
			b.WriteString("[REDACTED]")
			done = i
		}
		start = i + 1
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// withEncodings returns each secret as it is and as a form or query string
// encodes it ("a b&c" as "a+b%26c" and "a%20b%26c"), the forms in which a
// server may echo a request back.
func withEncodings(secrets ...string) []string {
	out := make([]string, 0, 3*len(secrets))
	for _, s := range secrets {
		q := url.QueryEscape(s)
		out = append(out, s, q, strings.ReplaceAll(q, "+", "%20"))
	}
	return out
}

// wordSecret is the length under which a secret is redacted only where it
// stands as a word of its own. A one-letter test token or a query value such
// as "Sales" also occurs inside ordinary words; a longer secret is removed
// wherever it appears, even glued to other text.
const wordSecret = 12

// redact replaces each secret in s with [REDACTED]: everywhere for secrets of
// wordSecret bytes or more, and only where it stands as a word for shorter ones.
func redact(s string, secrets ...string) string {
	for _, sec := range secrets {
		switch {
		case sec == "":
		case len(sec) >= wordSecret:
			s = strings.ReplaceAll(s, sec, "[REDACTED]")
		default:
			s = redactWord(s, sec)
		}
	}
	return s
}

// redactWord replaces sec where it is not part of a longer run of letters and
// digits. A percent escape ("q%3D1000") ends a word like punctuation does.
func redactWord(s, sec string) string {
	var b strings.Builder
	done := 0
	for from := 0; ; {
		i := strings.Index(s[from:], sec)
		if i < 0 {
			break
		}
		start, end := from+i, from+i+len(sec)
		from = start + 1
		if !wordStart(s, start) || end < len(s) && isAlnum(s[end]) && isAlnum(s[end-1]) {
			continue
		}
		b.WriteString(s[done:start])
		b.WriteString("[REDACTED]")
		done, from = end, end
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

// wordStart reports whether a word may start at s[i]: at the start, after a
// byte that is not a letter or digit, or right after a percent escape.
func wordStart(s string, i int) bool {
	return i == 0 || !isAlnum(s[i]) || !isAlnum(s[i-1]) || i >= 3 && s[i-3] == '%'
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func trimBOM(b []byte) []byte {
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		return b[3:]
	}
	return b
}
