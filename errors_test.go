package powerbi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopowerbi/powerbi/internal/spec"
)

// apiErrorFor runs one GenerateToken call against a canned response and returns its *APIError.
func apiErrorFor(t *testing.T, status int, body string, headers ...string) (*APIError, error) {
	t.Helper()
	c, mt := mockClient(t, nil, WithRetryPolicy(RetryPolicy{}))
	mt.RegisterNoResponder(func(*http.Request) (*http.Response, error) {
		resp := httpmock.NewStringResponse(status, body)
		for i := 0; i+1 < len(headers); i += 2 {
			resp.Header.Set(headers[i], headers[i+1])
		}
		return resp, nil
	})
	_, err := genToken(c)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	return apiErr, err
}

// Scenario 12: each of Power BI's five error shapes decodes into code and message.
func TestScenario12ErrorShapes(t *testing.T) {
	sw, err := spec.Load()
	require.NoError(t, err)
	gateway := sw.Operation("Gateways_GetDatasourceStatus").Examples["Gateway unreachable example"].Body("400")
	require.NotEmpty(t, gateway)
	for _, tc := range []struct {
		name     string
		status   int
		body     string
		headers  []string
		code     string
		message  string
		sentinel error
	}{
		{"1 error.code and message", 400, `{"error":{"code":"InvalidRequest","message":"Creating embed token for accessing dataset cfafbeb1 requires effective identity to be provided"}}`, nil,
			"InvalidRequest", "Creating embed token for accessing dataset cfafbeb1 requires effective identity to be provided", nil},
		{"2 pbi.error", 401, `{"error":{"code":"PowerBINotAuthorizedException","pbi.error":{"code":"PowerBINotAuthorizedException","parameters":{},"details":[],"exceptionCulprit":1}}}`, nil,
			"PowerBINotAuthorizedException", "", ErrUnauthorized},
		{"2 swagger example", 400, string(gateway), nil, "DM_GWPipeline_Client_GatewayUnreachable", "", nil},
		{"2 pbi.error details", 403, `{"error":{"code":"Forbidden","pbi.error":{"code":"X","details":[{"message":"m","detail":{"type":0,"value":"detail text"}}]}}}`, nil,
			"Forbidden", "detail text", ErrForbidden},
		{"3 capital Message", 500, `{"Message":"An error has occurred."}`, nil, "", "An error has occurred.", nil},
		{"4 lower-case message", 429, `{"message":"You have exceeded the amount of requests allowed in the current time frame and further requests will fail. Retry in 3392 seconds."}`,
			[]string{"Retry-After", "3392"}, "", "You have exceeded the amount of requests allowed in the current time frame and further requests will fail. Retry in 3392 seconds.", ErrThrottled},
		{"5 empty body, header code", 403, "", []string{"X-PowerBI-Error-Info", "TokenExpired"}, "TokenExpired", "", ErrTokenExpired},
		{"403 TokenExpired body", 403, `{"error":{"code":"TokenExpired","message":"Access token has expired, resubmit with a new access token"}}`, nil,
			"TokenExpired", "Access token has expired, resubmit with a new access token", ErrTokenExpired},
		{"404", 404, `{"error":{"code":"PowerBIEntityNotFound","pbi.error":{"code":"PowerBIEntityNotFound","parameters":{},"details":[]}}}`, nil,
			"PowerBIEntityNotFound", "", ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			apiErr, err := apiErrorFor(t, tc.status, tc.body, append([]string{"RequestId", "8f7e6d5c"}, tc.headers...)...)
			assert.Equal(t, tc.status, apiErr.StatusCode)
			assert.Equal(t, tc.code, apiErr.Code)
			assert.Equal(t, tc.message, apiErr.Message)
			assert.Equal(t, "8f7e6d5c", apiErr.RequestID)
			assert.Equal(t, "POST", apiErr.Method)
			assert.True(t, strings.HasSuffix(apiErr.URL, "/GenerateToken"))
			if tc.sentinel != nil {
				assert.ErrorIs(t, err, tc.sentinel)
			}
			assert.NotErrorIs(t, err, ErrUnexpectedResponse)
			msg := err.Error()
			assert.NotContains(t, msg, "\n")
			assert.Contains(t, msg, "RequestId 8f7e6d5c")
			if tc.code != "" {
				assert.Contains(t, msg, tc.code)
			}
		})
	}
}

// The hints of the table in docs/service.md.
func TestAPIHints(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		hint   string
	}{
		{"service principal not authorized", 401, `{"error":{"code":"PowerBINotAuthorizedException"}}`, "Allow service principals to use Power BI APIs"},
		{"shared capacity quota", 403, `{"error":{"code":"Forbidden"}}`, "capacity"},
		{"entity not found", 404, `{"error":{"code":"PowerBIEntityNotFound"}}`, "another workspace"},
		{"no RLS", 400, `{"error":{"code":"InvalidRequest","message":"Creating embed token for accessing dataset x shouldn't have effective identity"}}`, "send no identities"},
		{"RLS required", 400, `{"error":{"code":"InvalidRequest","message":"Creating embed token for accessing dataset x requires effective identity to be provided"}}`, "send an identity with the dataset ID"},
		{"multiple identities", 400, `{"error":{"code":"InvalidRequest","message":"Creating embed token with multiple identities is not supported"}}`, "at most one identity"},
		{"throttled", 429, `{"message":"Retry in 10 seconds."}`, "throttling"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			apiErr, err := apiErrorFor(t, tc.status, tc.body, "X-PowerBI-Error-Info", "", "Retry-After", "999")
			assert.Contains(t, apiErr.Hint, tc.hint)
			assert.Contains(t, err.Error(), "Hint: "+apiErr.Hint)
		})
	}
}

func TestErrorStringsAreOneLine(t *testing.T) {
	apiErr, err := apiErrorFor(t, 500, "{\"Message\":\"line one\\r\\nline two\\u0000\"}")
	assert.Equal(t, "line one line two", apiErr.Message)
	assert.NotContains(t, err.Error(), "\n")

	long := strings.Repeat("word ", 200)
	apiErr, _ = apiErrorFor(t, 400, `{"error":{"code":"X","message":"`+long+`"}}`)
	assert.LessOrEqual(t, len([]rune(apiErr.Message)), 301)

	ve := &ValidationError{Field: "groupID", Reason: "is empty"}
	assert.Equal(t, "powerbi: invalid groupID: is empty", ve.Error())
	assert.True(t, errors.Is(ve, ErrInvalidArgument))
	assert.False(t, errors.Is(ve, ErrNotFound))
}

func TestTimestampFormats(t *testing.T) {
	for _, in := range []string{`"2021-12-07T00:00:00Z"`, `"2019-04-30T21:35:15.867-07:00"`, `"10/13/2021 12:00:00 AM"`, `"2019-04-30T21:35:15.867"`} {
		var ts Timestamp
		require.NoError(t, ts.UnmarshalJSON([]byte(in)), in)
		assert.False(t, ts.IsZero(), in)
	}
	var ts Timestamp
	require.NoError(t, ts.UnmarshalJSON([]byte(`null`)))
	assert.True(t, ts.IsZero())
	assert.Error(t, ts.UnmarshalJSON([]byte(`"yesterday"`)))
}

func TestRequestIDAndAttemptsInContextError(t *testing.T) {
	c, mt := mockClient(t, nil)
	mt.RegisterNoResponder(httpmock.NewStringResponder(200, `{"value":[]}`))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Reports.GetReports(ctx)
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "/v1.0/myorg/reports")
}

// Text quoted from a response loses anything shaped like a token; GUIDs,
// codes and ordinary words stay.
func TestScrubTokens(t *testing.T) {
	guid := "cfafbeb1-8037-4d0c-896e-a46fb27ff229"
	jwt := "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2FuYWx5c2lzIn0.c2ln"
	for in, want := range map[string]string{
		"dataset " + guid + " requires effective identity": "dataset " + guid + " requires effective identity",
		"token " + jwt + " refused":                        "token [REDACTED] refused",
		jwt:                                                "[REDACTED]",
		"a " + strings.Repeat("x", 39) + " b":              "a " + strings.Repeat("x", 39) + " b",
		"a " + strings.Repeat("x", 40) + "," + jwt:         "a [REDACTED],[REDACTED]",
		"": "",
	} {
		assert.Equal(t, want, scrubTokens(in), in)
	}
}

// A short secret or a plain query value is removed only where it stands as a
// word of its own: a one-letter test token must not turn "Report not found"
// into "Repor[REDACTED] no[REDACTED] found", nor $top=1000 every "1000" of a
// message. Long secrets are removed wherever they appear.
func TestRedactionLeavesOrdinaryTextAlone(t *testing.T) {
	c, mt := mockClient(t, StaticToken("t"), WithRetryPolicy(RetryPolicy{}))
	mt.RegisterNoResponder(func(*http.Request) (*http.Response, error) {
		resp := httpmock.NewStringResponse(404, `{"error":{"code":"PowerBIEntityNotFound","message":"Report not found: at most 1000 items; token t refused"}}`)
		resp.Header.Set("RequestId", "a1000b-1000")
		return resp, nil
	})
	_, err := c.Reports.GetReport(context.Background(), reportID)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "Report not found: at most 1000 items; token [REDACTED] refused", apiErr.Message)

	_, err = c.Groups.GetGroups(context.Background(), &GetGroupsOptions{Top: 1000, Filter: "name eq 'Finance'"})
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "Report not found: at most 1000 items; token [REDACTED] refused", apiErr.Message)
	assert.Equal(t, "a1000b-1000", apiErr.RequestID)

	for _, tc := range []struct{ in, secret, want string }{
		{"Report not found", "t", "Report not found"},
		{"Bearer t.", "t", "Bearer [REDACTED]."},
		{"t", "t", "[REDACTED]"},
		{"$top=1000&x", "1000", "$top=[REDACTED]&x"},
		{"q%3D1000", "1000", "q%3D[REDACTED]"},
		{"11000 items", "1000", "11000 items"},
		{"xSENTINEL-ACCESS-TOKEN-c0de55y", "SENTINEL-ACCESS-TOKEN-c0de55", "x[REDACTED]y"},
	} {
		assert.Equal(t, tc.want, redact(tc.in, tc.secret), "%q without %q", tc.in, tc.secret)
	}
}
