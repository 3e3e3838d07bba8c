package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopowerbi/powerbi"
	"github.com/gopowerbi/powerbi/examples/internal/exampleenv"
	"github.com/gopowerbi/powerbi/examples/internal/exampletest"
	"github.com/gopowerbi/powerbi/powerbitest"
)

func TestQuickstartRunsOnTheFake(t *testing.T) {
	cmd := exec.Command(exampletest.Build(t))
	cmd.Env = exampletest.EnvWithout()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "stderr: %s", stderr.String())
	out := stdout.String()
	t.Log(out)

	for _, want := range []string{
		"built-in fake", "POWERBI_TENANT_ID", "POWERBI_CLIENT_SECRET", "POWERBI_GROUP_ID",
		"1. Authenticate as service principal", "2. Reports in workspace", "Sales overview",
		"3. Generate an embed token", "4. Embed configuration",
	} {
		assert.Contains(t, out, want)
	}
	m := regexp.MustCompile(`expires at (\S+) \(lives (\S+)\)`).FindStringSubmatch(out)
	require.NotNil(t, m, "the embed token's expiration is printed")
	exp, err := time.Parse(time.RFC3339, m[1])
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(time.Hour), exp, 2*time.Minute, "the fake's tokens live an hour")
	assert.Equal(t, "1h0m0s", m[2])

	// The configuration is JSON powerbi-client takes, with the token shortened.
	start := strings.Index(out, "{")
	end := strings.LastIndex(out, "}")
	require.True(t, start > 0 && end > start)
	var conf map[string]any
	require.NoError(t, json.Unmarshal([]byte(out[start:end+1]), &conf))
	assert.Equal(t, "report", conf["type"])
	assert.EqualValues(t, 1, conf["tokenType"])
	assert.Contains(t, conf["embedUrl"], "https://app.powerbi.com/reportEmbed?reportId=")
	assert.Contains(t, conf["accessToken"], "…", "never the whole token")
	assert.Empty(t, stderr.String())
}

func TestQuickstartExitsOneOnIncompleteEnvironment(t *testing.T) {
	cmd := exec.Command(exampletest.Build(t))
	cmd.Env = append(exampletest.EnvWithout(), "POWERBI_TENANT_ID=72f988bf-86f1-41af-91ab-2d7cd011db47")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "%v", err)
	assert.Equal(t, 1, exit.ExitCode())
	assert.Contains(t, stderr.String(), "POWERBI_CLIENT_ID, POWERBI_GROUP_ID missing")
}

// A failure prints the SDK's error and, on its own line, its hint.
func TestQuickstartPrintsTheHint(t *testing.T) {
	cfg, err := exampleenv.Load(func(string) string { return "" })
	require.NoError(t, err)
	defer cfg.Close()
	cfg.ReportID = cfg.Demo.RLSReportID
	var out, errOut bytes.Buffer
	err = embedFlow(context.Background(), cfg, &out)
	require.Error(t, err, "the RLS report needs an identity")
	exampleenv.PrintError(&errOut, err)
	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	require.Len(t, lines, 2, errOut.String())
	assert.True(t, strings.HasPrefix(lines[0], "error: powerbi: POST "), lines[0])
	assert.Contains(t, lines[0], "requires effective identity")
	assert.NotContains(t, lines[0], "Hint", "the hint is printed once, on its own line")
	assert.True(t, strings.HasPrefix(lines[1], "hint: the dataset uses row-level security"), lines[1])
}

func TestQuickstartWrongSecretPrintsEntraHint(t *testing.T) {
	srv := powerbitest.NewServer()
	defer srv.Close()
	demo := srv.SeedDemo()
	demo.ClientSecret = "a-secret-id-not-its-value"
	auth, err := demo.Authenticator(srv)
	require.NoError(t, err)
	client, err := srv.NewClient(auth)
	require.NoError(t, err)
	cfg := &exampleenv.Setup{Describe: "test", Auth: auth, Client: client, GroupID: demo.WorkspaceID, Now: srv.Now}
	var out, errOut bytes.Buffer
	err = embedFlow(context.Background(), cfg, &out)
	require.Error(t, err)
	exampleenv.PrintError(&errOut, err)
	assert.Contains(t, errOut.String(), "AADSTS7000215")
	assert.Contains(t, errOut.String(), "hint: ")
	assert.NotContains(t, errOut.String(), demo.ClientSecret)
	assert.NotContains(t, out.String(), "2. Reports", "the flow stops at step 1")
}

// An authority that cannot be reached: the quickstart prints which host it
// tried and, on its own line, what to check.
func TestQuickstartUnreachableAuthorityPrintsHostAndHint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	host := ln.Addr().String()
	require.NoError(t, ln.Close())
	auth, err := powerbi.NewClientSecretAuthenticator(powerbitest.NewGUID(), powerbitest.NewGUID(), "s3cr3t",
		&powerbi.AuthenticatorOptions{AuthorityHost: "https://" + host, RetryPolicy: &powerbi.RetryPolicy{}})
	require.NoError(t, err)
	client, err := powerbi.NewClient(auth)
	require.NoError(t, err)
	cfg := &exampleenv.Setup{Describe: "test", Auth: auth, Client: client, GroupID: powerbitest.NewGUID(), Now: time.Now}
	var out, errOut bytes.Buffer
	err = embedFlow(context.Background(), cfg, &out)
	require.Error(t, err)
	exampleenv.PrintError(&errOut, err)
	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	require.Len(t, lines, 2, errOut.String())
	assert.Contains(t, lines[0], host)
	assert.NotContains(t, lines[0], "[REDACTED]")
	assert.True(t, strings.HasPrefix(lines[1], "hint: the authority could not be reached"), lines[1])
}

// TestQuickstartLive runs the flow on the real service when the quickstart's
// variables are set; without them there is nothing to run against.
func TestQuickstartLive(t *testing.T) {
	if os.Getenv("POWERBI_TENANT_ID") == "" {
		t.Skip("POWERBI_TENANT_ID not set: no real Power BI tenant to run against")
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), os.Getenv, &stdout, &stderr)
	require.Equal(t, 0, code, "stderr: %s", stderr.String())
	assert.Contains(t, stdout.String(), "Running on the real Power BI service")
}
