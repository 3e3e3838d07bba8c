package powerbi_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"

	"github.com/gopowerbi/powerbi"
)

// exampleAPI stands in for api.powerbi.com so the examples run offline. In
// production, leave out WithBaseURL and WithHTTPClient.
func exampleAPI() *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1.0/myorg/groups/{group}/reports/{report}/GenerateToken", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"token":"H4sI....AAA=","tokenId":"49ae3742-54c0-4c29-af52-619ff93b5c80","expiration":"2030-07-29T17:58:19Z"}`)
	})
	mux.HandleFunc("GET /v1.0/myorg/groups", func(w http.ResponseWriter, r *http.Request) {
		top, _ := strconv.Atoi(r.URL.Query().Get("$top"))
		skip, _ := strconv.Atoi(r.URL.Query().Get("$skip"))
		names := []string{"Sales", "Marketing", "Finance", "Operations", "Support"}
		fmt.Fprint(w, `{"value":[`)
		for i := skip; i < len(names) && i < skip+top; i++ {
			if i > skip {
				fmt.Fprint(w, ",")
			}
			fmt.Fprintf(w, `{"id":"00000000-0000-0000-0000-00000000000%d","name":%q}`, i, names[i])
		}
		fmt.Fprint(w, `]}`)
	})
	return httptest.NewTLSServer(mux)
}

// Generate an embed token for a report, as a backend does on a page view.
func ExampleNewClient() {
	srv := exampleAPI()
	defer srv.Close()

	// In production: powerbi.NewClientSecretAuthenticator(tenantID, clientID, secret, nil).
	auth := powerbi.StaticToken("access-token")
	client, err := powerbi.NewClient(auth, powerbi.WithBaseURL(srv.URL), powerbi.WithHTTPClient(srv.Client()))
	if err != nil {
		log.Fatal(err)
	}
	tok, err := client.Reports.GenerateTokenInGroup(context.Background(),
		"f089354e-8366-4e18-aea3-4cb4a3a50b48", "5b218778-e7a5-4d73-8187-f10824047715",
		powerbi.GenerateTokenRequest{AccessLevel: powerbi.TokenAccessLevelView})
	if err != nil {
		log.Fatal(err) // the error names the status, code, RequestId and a hint
	}
	fmt.Println(tok.TokenID, tok.Expiration)
	// Output: 49ae3742-54c0-4c29-af52-619ff93b5c80 2030-07-29 17:58:19 +0000 UTC
}

// List every workspace: the iterator asks for pages ($top and $skip) until
// one comes back short. Top, if set, caps how many it yields.
func ExampleGroupsService_GetGroupsIter() {
	srv := exampleAPI()
	defer srv.Close()
	client, err := powerbi.NewClient(powerbi.StaticToken("access-token"), powerbi.WithBaseURL(srv.URL), powerbi.WithHTTPClient(srv.Client()))
	if err != nil {
		log.Fatal(err)
	}
	for group, err := range client.Groups.GetGroupsIter(context.Background(), nil) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(group.Name)
	}
	// Output:
	// Sales
	// Marketing
	// Finance
	// Operations
	// Support
}
