package powerbi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
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
