// Command quickstart runs the embedding flow of docs/embedding.md with the
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
	"github.com/gopowerbi/powerbi/examples/internal/exampleenv"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Getenv, os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) int {
	setup, err := exampleenv.Load(getenv)
	if err != nil {
		exampleenv.PrintError(stderr, err)
		return 1
	}
	defer setup.Close()
	setup.Banner(stdout)
	if err := embedFlow(ctx, setup, stdout); err != nil {
		exampleenv.PrintError(stderr, err)
		return 1
	}
	return 0
}

// embedFlow is the walkthrough: authenticate, list reports, generate an embed
// token, print the embed configuration.
func embedFlow(ctx context.Context, cfg *exampleenv.Setup, out io.Writer) error {
	// 1. Authenticate. The Client does this on its own on the first call (and
	// caches and refreshes the token); asking once here makes a credential
	// problem show up as step 1, with Entra's error and a hint.
	fmt.Fprintf(out, "1. Authenticate as %s\n", cfg.Describe)
	at, err := cfg.Auth.Token(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "   access token valid until %s (%s)\n", at.ExpiresOn.UTC().Format(time.RFC3339), lifetime(at.ExpiresOn, cfg.Now()))

	// 2. List the reports of the workspace.
	fmt.Fprintf(out, "2. Reports in workspace %s\n", cfg.GroupID)
	reports, err := cfg.Client.Reports.GetReportsInGroup(ctx, cfg.GroupID)
	if err != nil {
		return err
	}
	var chosen *powerbi.Report
	for i, r := range reports {
		fmt.Fprintf(out, "   - %-20s %s  %s\n", r.Name, r.ID, r.ReportType)
		if chosen == nil && (cfg.ReportID == "" || strings.EqualFold(r.ID, cfg.ReportID)) {
			chosen = &reports[i]
		}
	}
	if chosen == nil {
		if len(reports) == 0 {
			return errors.New("the workspace has no reports (or the caller cannot see them)")
		}
		return fmt.Errorf("POWERBI_REPORT_ID %s is not in workspace %s", cfg.ReportID, cfg.GroupID)
	}

	// 3. Generate an embed token: V2 (report + its dataset) for Power BI
	// reports, as Microsoft recommends; V1 for paginated reports, which have
	// no dataset.
	var tok *powerbi.EmbedToken
	if chosen.ReportType == powerbi.ReportTypePaginated || chosen.DatasetID == "" {
		fmt.Fprintf(out, "3. Generate an embed token for %q (paginated report: GenerateTokenInGroup)\n", chosen.Name)
		tok, err = cfg.Client.Reports.GenerateTokenInGroup(ctx, cfg.GroupID, chosen.ID, powerbi.GenerateTokenRequest{AccessLevel: powerbi.TokenAccessLevelView})
	} else {
		fmt.Fprintf(out, "3. Generate an embed token for %q (report and dataset %s: GenerateToken V2)\n", chosen.Name, chosen.DatasetID)
		tok, err = cfg.Client.EmbedToken.GenerateToken(ctx, powerbi.GenerateTokenRequestV2{
			Reports:  []powerbi.GenerateTokenRequestV2Report{{ID: chosen.ID}},
			Datasets: []powerbi.GenerateTokenRequestV2Dataset{{ID: chosen.DatasetID}},
		})
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "   embed token %s expires at %s (lives %s)\n", tok.TokenID, tok.Expiration.UTC().Format(time.RFC3339), lifetime(tok.Expiration, cfg.Now()))

	// 4. What the web page passes to powerbi.embed(element, config).
	fmt.Fprintln(out, "4. Embed configuration for powerbi-client (accessToken shortened here):")
	conf := powerbi.EmbedConfig{Type: powerbi.EmbedTypeReport, ID: chosen.ID, EmbedURL: chosen.EmbedURL, AccessToken: shorten(tok.Token),
		TokenType: powerbi.TokenTypeEmbed, TokenID: tok.TokenID, Expiration: tok.Expiration.UTC()}
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
