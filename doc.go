// Package powerbi is a client for the Power BI REST API, made for Go backends
// that embed Power BI content for their customers ("App Owns Data").
//
// On every page view such a backend gets an Entra ID access token, looks up the
// report it shows, generates an embed token, and hands both to powerbi-client
// in the browser. Each step is one typed call here:
//
//	auth, err := powerbi.NewClientSecretAuthenticator(tenantID, clientID, clientSecret, nil)
//	if err != nil {
//		return err
//	}
//	client, err := powerbi.NewClient(auth) // share one Client: it pools connections and caches tokens
//	if err != nil {
//		return err
//	}
//	report, err := client.Reports.GetReportInGroup(ctx, groupID, reportID)
//	if err != nil {
//		return err
//	}
//	token, err := client.EmbedToken.GenerateToken(ctx, powerbi.GenerateTokenRequestV2{
//		Reports:  []powerbi.GenerateTokenRequestV2Report{{ID: report.ID}},
//		Datasets: []powerbi.GenerateTokenRequestV2Dataset{{ID: report.DatasetID}},
//	})
//	if err != nil {
//		return err // e.g. "... 401 Unauthorized: PowerBINotAuthorizedException (RequestId ...). Hint: ..."
//	}
//	// Send report.EmbedURL, report.ID, token.Token and token.Expiration to the page.
//
// # Authentication
//
// NewClientSecretAuthenticator and NewClientCertificateAuthenticator sign in a
// service principal; NewPasswordAuthenticator signs in a "master user"
// (discouraged: no MFA). Any other source plugs in through AuthenticatorFunc.
// The Client caches tokens in front of any Authenticator: it refreshes 5
// minutes before expiry while serving the still-valid token, runs one refresh
// at a time however many goroutines ask, keeps a still-valid token when a
// refresh fails, replays a call once when the API refuses the token itself
// (401 InvalidToken, 401 or 403 TokenExpired), and makes sure the access token
// has 30 minutes left before GenerateToken calls, because an embed token never
// outlives the access token that created it.
//
// # Retries and errors
//
// Connection errors, bodies cut short and the statuses 408, 429, 500, 502,
// 503 and 504 are retried with jittered exponential backoff, honouring
// Retry-After; a Retry-After longer than RetryPolicy.MaxRetryAfter, or than
// the context allows, fails at once with ErrThrottled. Errors are typed:
// *APIError (status, code, message, RequestId, a hint for known causes),
// *AuthError (the Entra ID refusal with its AADSTS codes and a hint) and
// *ValidationError (a bad argument, refused before anything is sent). Match
// them with errors.Is against ErrNotFound, ErrUnauthorized, ErrForbidden,
// ErrThrottled, ErrTokenExpired, ErrUnexpectedResponse, ErrAuthentication and
// ErrInvalidArgument. No error string or log line carries a token, a secret or
// a query string.
//
// # Testing
//
// Pass an httpmock transport with WithHTTPClient, or point WithBaseURL at an
// httptest server; see the README.
package powerbi

//go:generate go run ./internal/cmd/gen
