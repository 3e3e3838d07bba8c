package powerbi_test

import (
	"context"
	"fmt"
	"log"
	"net/http"

	"github.com/gopowerbi/powerbi"
	"github.com/gopowerbi/powerbi/powerbitest"
)

// The examples run on powerbitest, the in-memory Power BI. In production,
// sign in with powerbi.NewClientSecretAuthenticator(tenantID, clientID,
// secret, nil) and call powerbi.NewClient(auth).

// Generate an embed token for a report, as a backend does on a page view.
func ExampleNewClient() {
	srv := powerbitest.NewServer()
	defer srv.Close()
	demo := srv.SeedDemo()
	auth, err := demo.Authenticator(srv)
	if err != nil {
		log.Fatal(err)
	}
	client, err := srv.NewClient(auth) // in production: powerbi.NewClient(auth)
	if err != nil {
		log.Fatal(err)
	}
	tok, err := client.Reports.GenerateTokenInGroup(context.Background(), demo.WorkspaceID, demo.ReportID,
		powerbi.GenerateTokenRequest{AccessLevel: powerbi.TokenAccessLevelView})
	if err != nil {
		log.Fatal(err) // the error names the status, code, RequestId and a hint
	}
	fmt.Println(tok.Expiration.Sub(srv.Now()))
	// Output: 1h0m0s
}

// List every workspace: the iterator asks for pages ($top and $skip) until
// one comes back short. Top, if set, caps how many it yields.
func ExampleGroupsService_GetGroupsIter() {
	srv := powerbitest.NewServer()
	defer srv.Close()
	demo := srv.SeedDemo()
	for _, name := range []string{"Marketing", "Finance", "Operations"} {
		srv.AddWorkspace(powerbitest.Workspace{Name: name, Members: []string{demo.ClientID}})
	}
	auth, err := demo.Authenticator(srv)
	if err != nil {
		log.Fatal(err)
	}
	client, err := srv.NewClient(auth)
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
	// Contoso Embedded
	// Marketing
	// Finance
	// Operations
}

// Send a request the package has no method for yet, through the same
// authentication, retries and errors.
func ExampleClient_Do() {
	srv := powerbitest.NewServer()
	defer srv.Close()
	demo := srv.SeedDemo()
	auth, err := demo.Authenticator(srv)
	if err != nil {
		log.Fatal(err)
	}
	client, err := srv.NewClient(auth)
	if err != nil {
		log.Fatal(err)
	}
	var reports struct {
		Value []powerbi.Report `json:"value"`
	}
	_, err = client.Do(context.Background(), &powerbi.Request{Method: http.MethodGet, Path: "groups/" + demo.WorkspaceID + "/reports"}, &reports)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(reports.Value), "reports;", reports.Value[0].Name)
	// Output: 3 reports; Sales overview
}
