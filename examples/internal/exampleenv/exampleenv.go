// Package exampleenv sets up the examples' Power BI client: on the built-in
// fake (powerbitest) when no POWERBI_* variable is set, on the real service
// otherwise.
package exampleenv

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/gopowerbi/powerbi"
	"github.com/gopowerbi/powerbi/powerbitest"
)

// Usage names the variables that switch an example to the real service.
const Usage = `To use the real service, set POWERBI_TENANT_ID, POWERBI_CLIENT_ID, POWERBI_GROUP_ID and
POWERBI_CLIENT_SECRET (or POWERBI_CERTIFICATE, or POWERBI_USERNAME and POWERBI_PASSWORD);
optionally POWERBI_REPORT_ID and POWERBI_CLOUD. See the README.`

// Names are the variables the examples read.
var Names = []string{"POWERBI_TENANT_ID", "POWERBI_CLIENT_ID", "POWERBI_GROUP_ID", "POWERBI_CLIENT_SECRET",
	"POWERBI_CERTIFICATE", "POWERBI_USERNAME", "POWERBI_PASSWORD", "POWERBI_REPORT_ID", "POWERBI_CLOUD"}

// Setup is what an example needs, on the fake or on the real service.
type Setup struct {
	Fake     *powerbitest.Server // nil on the real service
	Demo     powerbitest.Demo    // what the fake was seeded with
	Cloud    powerbi.Cloud
	Describe string // who signs in, for the output
	Auth     powerbi.Authenticator
	Client   *powerbi.Client
	GroupID  string
	ReportID string // "" when not chosen
	Now      func() time.Time
}

// Close stops the fake, if any.
func (s *Setup) Close() {
	if s.Fake != nil {
		s.Fake.Close()
	}
}

// Load reads the environment: none of Names set means the fake, started
// with fakeOpts and seeded with powerbitest's demo.
func Load(getenv func(string) string, fakeOpts ...powerbitest.Option) (*Setup, error) {
	for _, n := range Names {
		if getenv(n) != "" {
			return loadReal(getenv)
		}
	}
	srv := powerbitest.NewServer(fakeOpts...)
	demo := srv.SeedDemo()
	auth, err := demo.Authenticator(srv)
	if err != nil {
		srv.Close()
		return nil, err
	}
	client, err := srv.NewClient(auth)
	if err != nil {
		srv.Close()
		return nil, err
	}
	return &Setup{Fake: srv, Demo: demo, Cloud: powerbi.CloudPublic, Auth: auth, Client: client,
		Describe: "service principal " + demo.ClientID + " with a client secret",
		GroupID:  demo.WorkspaceID, Now: srv.Now}, nil
}

func loadReal(getenv func(string) string) (*Setup, error) {
	var missing []string
	for _, n := range []string{"POWERBI_TENANT_ID", "POWERBI_CLIENT_ID", "POWERBI_GROUP_ID"} {
		if getenv(n) == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("some POWERBI_* variables are set but %s missing; unset them all to run on the fake", strings.Join(missing, ", "))
	}
	cloudName := getenv("POWERBI_CLOUD")
	if cloudName == "" {
		cloudName = powerbi.CloudPublic.Name
	}
	cloud, ok := powerbi.CloudByName(cloudName)
	if !ok {
		return nil, fmt.Errorf("POWERBI_CLOUD: unknown cloud %q; use Public, USGovGCC, USGovHigh, USGovDoD or China", cloudName)
	}
	tenant, clientID := getenv("POWERBI_TENANT_ID"), getenv("POWERBI_CLIENT_ID")
	opts := &powerbi.AuthenticatorOptions{Cloud: cloud}
	s := &Setup{Cloud: cloud, GroupID: getenv("POWERBI_GROUP_ID"), ReportID: getenv("POWERBI_REPORT_ID"), Now: time.Now}
	var err error
	switch {
	case getenv("POWERBI_CLIENT_SECRET") != "":
		s.Describe = "service principal " + clientID + " with a client secret"
		s.Auth, err = powerbi.NewClientSecretAuthenticator(tenant, clientID, getenv("POWERBI_CLIENT_SECRET"), opts)
	case getenv("POWERBI_CERTIFICATE") != "":
		s.Describe = "service principal " + clientID + " with a certificate"
		pemData, rerr := os.ReadFile(getenv("POWERBI_CERTIFICATE"))
		if rerr != nil {
			return nil, fmt.Errorf("POWERBI_CERTIFICATE: %w", rerr)
		}
		certs, key, perr := powerbi.ParseCertificates(pemData)
		if perr != nil {
			return nil, fmt.Errorf("POWERBI_CERTIFICATE: %w", perr)
		}
		s.Auth, err = powerbi.NewClientCertificateAuthenticator(tenant, clientID, certs, key, opts)
	case getenv("POWERBI_USERNAME") != "" && getenv("POWERBI_PASSWORD") != "":
		s.Describe = "master user " + getenv("POWERBI_USERNAME")
		s.Auth, err = powerbi.NewPasswordAuthenticator(tenant, clientID, getenv("POWERBI_USERNAME"), getenv("POWERBI_PASSWORD"), opts)
	default:
		return nil, errors.New("no credential: set POWERBI_CLIENT_SECRET, POWERBI_CERTIFICATE, or POWERBI_USERNAME and POWERBI_PASSWORD")
	}
	if err != nil {
		return nil, err
	}
	if s.Client, err = powerbi.NewClient(s.Auth, powerbi.WithCloud(cloud), powerbi.WithUserAgent("gopowerbi-example")); err != nil {
		return nil, err
	}
	return s, nil
}

// PrintError prints an error of the SDK and, on its own line, its hint.
func PrintError(w io.Writer, err error) {
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

// Banner says where an example runs.
func (s *Setup) Banner(w io.Writer) {
	if s.Fake != nil {
		fmt.Fprintln(w, "Running on the built-in fake Power BI service (powerbitest): no Azure account needed.")
		fmt.Fprintln(w, Usage)
	} else {
		fmt.Fprintf(w, "Running on the real Power BI service (%s cloud).\n", s.Cloud.Name)
	}
	fmt.Fprintln(w)
}

// PollEvery is how often an example polls a long-running operation: briskly
// on the fake, at the SDK's default on the real service.
func (s *Setup) PollEvery() time.Duration {
	if s.Fake != nil {
		return 100 * time.Millisecond
	}
	return powerbi.DefaultPollFrequency
}

// Body is what an example does once it has its setup.
type Body func(ctx context.Context, s *Setup, out io.Writer) error

// Main is an example's main: it parses the command line with the flags that
// define adds (define returns the body, which reads them), loads the setup
// from the environment, says where it runs, runs the body until it ends or
// the user interrupts, and prints an error with its hint. It returns the
// exit code: 0, 1 on an error, 2 on bad flags.
func Main(name string, define func(fs *flag.FlagSet) Body) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return Run(ctx, name, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, define)
}

// Run is Main with its inputs and outputs given, for tests.
func Run(ctx context.Context, name string, args []string, getenv func(string) string, stdout, stderr io.Writer, define func(fs *flag.FlagSet) Body) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	body := define(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	setup, err := Load(getenv)
	if err != nil {
		PrintError(stderr, err)
		return 1
	}
	defer setup.Close()
	setup.Banner(stdout)
	if err := body(ctx, setup, stdout); err != nil {
		PrintError(stderr, err)
		return 1
	}
	return 0
}
