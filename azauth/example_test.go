package azauth_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/gopowerbi/powerbi/azauth"
	"github.com/gopowerbi/powerbi/powerbitest"
)

// A pod with AKS workload identity signs in with the federated token its
// service account is given. On AKS the webhook sets AZURE_CLIENT_ID,
// AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE and AZURE_AUTHORITY_HOST, and
// azidentity.NewWorkloadIdentityCredential(nil) reads them; here the same
// credential signs in at the fake's Entra ID endpoint instead.
func Example_workloadIdentity() {
	fake := powerbitest.NewServer(powerbitest.WithRealClock())
	defer fake.Close()
	demo := fake.SeedDemo()
	const issuer, subject = "https://oidc.example.test/cluster/", "system:serviceaccount:reports:embed-api"
	clientID := powerbitest.NewGUID()
	fake.AddWorkloadIdentity(demo.TenantID, clientID, issuer, subject)
	fake.AddMember(demo.WorkspaceID, clientID)
	federated, err := fake.FederatedToken(issuer, subject)
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "workload-identity")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(federated), 0o600); err != nil {
		log.Fatal(err)
	}

	cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
		ClientID: clientID, TenantID: demo.TenantID, TokenFilePath: tokenFile, DisableInstanceDiscovery: true,
		ClientOptions: azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: fake.URL() + "/"}, Transport: fake.HTTPClient()},
	})
	if err != nil {
		log.Fatal(err)
	}
	auth, err := azauth.New(cred, nil) // the Power BI scope of the public cloud
	if err != nil {
		log.Fatal(err)
	}
	client, err := fake.NewClient(auth) // on Azure: powerbi.NewClient(auth)
	if err != nil {
		log.Fatal(err)
	}
	reports, err := client.Reports.GetReportsInGroup(context.Background(), demo.WorkspaceID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed in with workload identity; reports:", len(reports) > 0)
	// Output: signed in with workload identity; reports: true
}
