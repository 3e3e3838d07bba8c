// Command quickstart runs the embedding flow of the seed walkthrough with the
// powerbi SDK: authenticate → list the reports of a workspace → generate an
// embed token → print the configuration a web page hands to powerbi-client.
//
// With no POWERBI_* environment variables it runs on the built-in fake
// (powerbitest), in-process, with no Azure account. These switch it to the
// real service:
//
//	POWERBI_TENANT_ID       the Entra ID tenant (directory) ID
//	POWERBI_CLIENT_ID       the app registration's application (client) ID
//	POWERBI_GROUP_ID        the workspace to embed from
//	and one credential:
//	POWERBI_CLIENT_SECRET   a client secret's value (service principal), or
//	POWERBI_CERTIFICATE     a PEM file with the certificate and its private key, or
//	POWERBI_USERNAME and POWERBI_PASSWORD   a master user (discouraged; no MFA)
//	optional:
//	POWERBI_REPORT_ID       the report to embed (default: the first one listed)
//	POWERBI_CLOUD           Public (default), USGovGCC, USGovHigh, USGovDoD or China
//
// On failure it prints the SDK's error and hint and exits 1.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/gopowerbi/powerbi"
	"github.com/gopowerbi/powerbi/powerbitest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Getenv, os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, cleanup, err := configure(getenv, stdout)
	if err != nil {
		printError(stderr, err)
		return 1
	}
	defer cleanup()
	if err := embedFlow(ctx, cfg, stdout); err != nil {
		printError(stderr, err)
		return 1
	}
	return 0
}

// config is what the flow needs, on the fake or on the real service.
type config struct {
	describe string // who signs in, for the output
	auth     powerbi.Authenticator
	client   *powerbi.Client
	groupID  string
	reportID string // "" for the first report listed
	now      func() time.Time
}

var envNames = []string{"POWERBI_TENANT_ID", "POWERBI_CLIENT_ID", "POWERBI_GROUP_ID", "POWERBI_CLIENT_SECRET",
	"POWERBI_CERTIFICATE", "POWERBI_USERNAME", "POWERBI_PASSWORD", "POWERBI_REPORT_ID", "POWERBI_CLOUD"}

// configure reads the environment: none of envNames set means the fake.
func configure(getenv func(string) string, stdout io.Writer) (*config, func(), error) {
	anySet := false
	for _, n := range envNames {
		anySet = anySet || getenv(n) != ""
	}
	if !anySet {
		return configureFake(stdout)
	}
	cfg, err := configureReal(getenv)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(stdout, "Running on the real Power BI service (%s cloud).\n\n", cloudName(getenv))
	return cfg, func() {}, nil
}

func configureFake(stdout io.Writer) (*config, func(), error) {
	srv := powerbitest.NewServer()
	demo := srv.SeedDemo()
	auth, err := demo.Authenticator(srv)
	if err == nil {
		var client *powerbi.Client
		if client, err = srv.NewClient(auth); err == nil {
			fmt.Fprintln(stdout, "Running on the built-in fake Power BI service (powerbitest): no Azure account needed.")
			fmt.Fprintln(stdout, "To use the real service, set POWERBI_TENANT_ID, POWERBI_CLIENT_ID, POWERBI_GROUP_ID and")
			fmt.Fprintln(stdout, "POWERBI_CLIENT_SECRET (or POWERBI_CERTIFICATE, or POWERBI_USERNAME and POWERBI_PASSWORD);")
			fmt.Fprintln(stdout, "optionally POWERBI_REPORT_ID and POWERBI_CLOUD. See the README.")
			fmt.Fprintln(stdout)
			return &config{
				describe: "service principal " + demo.ClientID + " with a client secret",
				auth:     auth, client: client, groupID: demo.WorkspaceID, now: srv.Now,
			}, srv.Close, nil
		}
	}
	srv.Close()
	return nil, nil, err
}

func cloudName(getenv func(string) string) string {
	if n := getenv("POWERBI_CLOUD"); n != "" {
		return n
	}
	return powerbi.CloudPublic.Name
}

func configureReal(getenv func(string) string) (*config, error) {
	var missing []string
	for _, n := range []string{"POWERBI_TENANT_ID", "POWERBI_CLIENT_ID", "POWERBI_GROUP_ID"} {
		if getenv(n) == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("some POWERBI_* variables are set but %s missing; unset them all to run on the fake", strings.Join(missing, ", "))
	}
	cloud, ok := powerbi.CloudByName(cloudName(getenv))
	if !ok {
		return nil, fmt.Errorf("POWERBI_CLOUD: unknown cloud %q; use Public, USGovGCC, USGovHigh, USGovDoD or China", getenv("POWERBI_CLOUD"))
	}
	tenant, clientID := getenv("POWERBI_TENANT_ID"), getenv("POWERBI_CLIENT_ID")
	opts := &powerbi.AuthenticatorOptions{Cloud: cloud}
	var (
		auth     powerbi.Authenticator
		describe string
		err      error
	)
	switch {
	case getenv("POWERBI_CLIENT_SECRET") != "":
		describe = "service principal " + clientID + " with a client secret"
		auth, err = powerbi.NewClientSecretAuthenticator(tenant, clientID, getenv("POWERBI_CLIENT_SECRET"), opts)
	case getenv("POWERBI_CERTIFICATE") != "":
		describe = "service principal " + clientID + " with a certificate"
		pemData, rerr := os.ReadFile(getenv("POWERBI_CERTIFICATE"))
		if rerr != nil {
			return nil, fmt.Errorf("POWERBI_CERTIFICATE: %w", rerr)
		}
		certs, key, perr := powerbi.ParseCertificates(pemData)
		if perr != nil {
			return nil, fmt.Errorf("POWERBI_CERTIFICATE: %w", perr)
		}
		auth, err = powerbi.NewClientCertificateAuthenticator(tenant, clientID, certs, key, opts)
	case getenv("POWERBI_USERNAME") != "" && getenv("POWERBI_PASSWORD") != "":
		describe = "master user " + getenv("POWERBI_USERNAME")
		auth, err = powerbi.NewPasswordAuthenticator(tenant, clientID, getenv("POWERBI_USERNAME"), getenv("POWERBI_PASSWORD"), opts)
	default:
		return nil, errors.New("no credential: set POWERBI_CLIENT_SECRET, POWERBI_CERTIFICATE, or POWERBI_USERNAME and POWERBI_PASSWORD")
	}
	if err != nil {
		return nil, err
	}
	client, err := powerbi.NewClient(auth, powerbi.WithCloud(cloud), powerbi.WithUserAgent("gopowerbi-quickstart"))
	if err != nil {
		return nil, err
	}
	return &config{describe: describe, auth: auth, client: client,
		groupID: getenv("POWERBI_GROUP_ID"), reportID: getenv("POWERBI_REPORT_ID"), now: time.Now}, nil
}

// embedConfig is the configuration powerbi-client's powerbi.embed takes.
type embedConfig struct {
	Type        string    `json:"type"`
	ID          string    `json:"id"`
	EmbedURL    string    `json:"embedUrl"`
	AccessToken string    `json:"accessToken"`
	TokenType   int       `json:"tokenType"` // 1: models.TokenType.Embed
	TokenID     string    `json:"tokenId"`
	Expiration  time.Time `json:"expiration"`
}

// embedFlow is the walkthrough: authenticate, list reports, generate an embed
// token, print the embed configuration.
func embedFlow(ctx context.Context, cfg *config, out io.Writer) error {
	// 1. Authenticate. The Client does this on its own on the first call (and
	// caches and refreshes the token); asking once here makes a credential
	// problem show up as step 1, with Entra's error and a hint.
	fmt.Fprintf(out, "1. Authenticate as %s\n", cfg.describe)
	at, err := cfg.auth.Token(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "   access token valid until %s (%s)\n", at.ExpiresOn.UTC().Format(time.RFC3339), lifetime(at.ExpiresOn, cfg.now()))

	// 2. List the reports of the workspace.
	fmt.Fprintf(out, "2. Reports in workspace %s\n", cfg.groupID)
	reports, err := cfg.client.Reports.GetReportsInGroup(ctx, cfg.groupID)
	if err != nil {
		return err
	}
	var chosen *powerbi.Report
	for i, r := range reports {
		fmt.Fprintf(out, "   - %-20s %s  %s\n", r.Name, r.ID, r.ReportType)
		if chosen == nil && (cfg.reportID == "" || strings.EqualFold(r.ID, cfg.reportID)) {
			chosen = &reports[i]
		}
	}
	if chosen == nil {
		if len(reports) == 0 {
			return errors.New("the workspace has no reports (or the caller cannot see them)")
		}
		return fmt.Errorf("POWERBI_REPORT_ID %s is not in workspace %s", cfg.reportID, cfg.groupID)
	}

	// 3. Generate an embed token: V2 (report + its dataset) for Power BI
	// reports, as Microsoft recommends; V1 for paginated reports, which have
	// no dataset.
	var tok *powerbi.EmbedToken
	if chosen.ReportType == powerbi.ReportTypePaginated || chosen.DatasetID == "" {
		fmt.Fprintf(out, "3. Generate an embed token for %q (paginated report: GenerateTokenInGroup)\n", chosen.Name)
		tok, err = cfg.client.Reports.GenerateTokenInGroup(ctx, cfg.groupID, chosen.ID, powerbi.GenerateTokenRequest{AccessLevel: powerbi.TokenAccessLevelView})
	} else {
		fmt.Fprintf(out, "3. Generate an embed token for %q (report and dataset %s: GenerateToken V2)\n", chosen.Name, chosen.DatasetID)
		tok, err = cfg.client.EmbedToken.GenerateToken(ctx, powerbi.GenerateTokenRequestV2{
			Reports:  []powerbi.GenerateTokenRequestV2Report{{ID: chosen.ID}},
			Datasets: []powerbi.GenerateTokenRequestV2Dataset{{ID: chosen.DatasetID}},
		})
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "   embed token %s expires at %s (lives %s)\n", tok.TokenID, tok.Expiration.UTC().Format(time.RFC3339), lifetime(tok.Expiration, cfg.now()))

	// 4. What the web page passes to powerbi.embed(element, config).
	fmt.Fprintln(out, "4. Embed configuration for powerbi-client (accessToken shortened here):")
	conf := embedConfig{Type: "report", ID: chosen.ID, EmbedURL: chosen.EmbedURL, AccessToken: shorten(tok.Token),
		TokenType: 1, TokenID: tok.TokenID, Expiration: tok.Expiration.UTC()}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // print the embedUrl's "&" as it is
	enc.SetIndent("   ", "  ")
	if err := enc.Encode(conf); err != nil {
		return err
	}
	fmt.Fprintf(out, "   %s", b.String())
	fmt.Fprintln(out, "   The page must fetch a new token and call report.setAccessToken before the expiration.")
	return nil
}

// shorten keeps the start of a token, enough to recognise it, never the whole.
func shorten(tok string) string {
	if len(tok) <= 16 {
		return "…"
	}
	return fmt.Sprintf("%s…(%d characters)", tok[:12], len(tok))
}

func lifetime(until, now time.Time) string {
	return until.Sub(now).Round(time.Second).String()
}

// printError prints the SDK's error and, on its own line, its hint.
func printError(w io.Writer, err error) {
	var (
		apiErr  *powerbi.APIError
		authErr *powerbi.AuthError
		hint    string
	)
	switch {
	case errors.As(err, &apiErr) && apiErr.Hint != "":
		e := *apiErr
		hint, e.Hint = e.Hint, ""
		err = &e
	case errors.As(err, &authErr) && authErr.Hint != "":
		e := *authErr
		hint, e.Hint = e.Hint, ""
		err = &e
	}
	fmt.Fprintln(w, "error:", err)
	if hint != "" {
		fmt.Fprintln(w, "hint:", hint)
	}
}
