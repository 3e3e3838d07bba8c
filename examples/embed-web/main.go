// Command embed-web is a small web app that embeds a Power BI report with
// powerbi-client and keeps it working past its embed token's expiration.
//
//	npm ci                # once: installs powerbi-client into node_modules
//	go run .              # then open http://127.0.0.1:8080
//
// With no POWERBI_* environment variables it runs on the built-in fake
// (powerbitest); the quickstart's variables switch it to the real service.
// The page gets its configuration from GET /api/embed/{reportId} and asks
// for a new token -refresh-before its expiration, then calls
// report.setAccessToken. No token ever appears in a URL.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/gopowerbi/powerbi/examples/internal/exampleenv"
	"github.com/gopowerbi/powerbi/powerbitest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	lifetime := flag.Int("lifetime", 0, "embed token lifetime in minutes (0: as long as the service gives)")
	refreshBefore := flag.Duration("refresh-before", 5*time.Minute, "the page asks for a new token this long before expiration")
	margin := flag.Duration("cache-margin", 10*time.Minute, "the server's cache regenerates a token with less than this left; keep it above -refresh-before")
	staticDir := flag.String("node-modules", "node_modules", "where npm ci installed powerbi-client")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *addr, Config{LifetimeInMinutes: *lifetime, RefreshBefore: *refreshBefore, CacheMargin: *margin, NodeModules: *staticDir}, logger); err != nil {
		logger.Error("embed-web", "error", err.Error())
		os.Exit(1)
	}
}

func run(ctx context.Context, addr string, cfg Config, logger *slog.Logger) error {
	setup, err := exampleenv.Load(os.Getenv, powerbitest.WithRealClock())
	if err != nil {
		return err
	}
	defer setup.Close()
	app, err := NewApp(ctx, setup, cfg, logger)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	where := "the real Power BI service"
	if setup.Fake != nil {
		where = "the built-in fake (powerbitest); " + exampleenv.Usage
	}
	fmt.Printf("Serving report %s on http://%s, on %s\n", app.reportID, ln.Addr(), where)
	srv := &http.Server{Handler: app, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
