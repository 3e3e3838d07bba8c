package powerbi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
)

// The hints an error carries: the likely cause of a known failure and what to
// fix, for the Power BI API's refusals and for Entra ID's.

// hintTokenExpired is the hint for a token the API refused as expired (401 or 403).
const hintTokenExpired = "the access token expired; the client refreshes it once and replays the call, so a repeat means the Authenticator returns stale tokens"

// apiHint names the likely cause of a known failure (docs/service.md lists them).
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

// aadstsHints maps Entra error codes to their usual cause (docs/service.md).
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
