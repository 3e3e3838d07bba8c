package main

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/gopowerbi/powerbi"
	"github.com/gopowerbi/powerbi/examples/internal/exampleenv"
)

//go:embed web
var web embed.FS

var page = template.Must(template.ParseFS(web, "web/index.html"))

// Config tunes the app.
type Config struct {
	LifetimeInMinutes int           // embed token lifetime; 0: the service's
	RefreshBefore     time.Duration // the page asks for a new token this long before expiration
	CacheMargin       time.Duration // the cache regenerates tokens with less than this left
	NodeModules       string        // where npm ci installed powerbi-client
}

// App serves the page, its scripts and the embed configuration API.
type App struct {
	cache    *powerbi.EmbedCache
	groupID  string
	reportID string
	cfg      Config
	csp      string
	logger   *slog.Logger
	mux      *http.ServeMux
}

// NewApp picks the report to show (the setup's, or the workspace's first) and
// wires the routes.
func NewApp(ctx context.Context, setup *exampleenv.Setup, cfg Config, logger *slog.Logger) (*App, error) {
	if cfg.CacheMargin <= cfg.RefreshBefore {
		return nil, fmt.Errorf("the cache margin (%s) must be longer than the page's refresh-before (%s), or the page would get the same token back", cfg.CacheMargin, cfg.RefreshBefore)
	}
	lib := filepath.Join(cfg.NodeModules, "powerbi-client", "dist", "powerbi.min.js")
	if _, err := os.Stat(lib); err != nil {
		return nil, fmt.Errorf("powerbi-client is not installed (%s): run npm ci in examples/embed-web", lib)
	}
	reportID := setup.ReportID
	if reportID == "" {
		reports, err := setup.Client.Reports.GetReportsInGroup(ctx, setup.GroupID)
		if err != nil {
			return nil, err
		}
		if len(reports) == 0 {
			return nil, errors.New("the workspace has no reports")
		}
		reportID = reports[0].ID
	}
	cache, err := powerbi.NewEmbedCache(setup.Client, &powerbi.EmbedCacheOptions{RefreshMargin: cfg.CacheMargin, Now: setup.Now, Logger: logger})
	if err != nil {
		return nil, err
	}
	a := &App{cache: cache, groupID: setup.GroupID, reportID: reportID, cfg: cfg, logger: logger, mux: http.NewServeMux(),
		// Scripts only from this server, no inline code; the report's iframe only from the cloud's app host.
		csp: "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
			"frame-src " + setup.Cloud.AppHost + "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"}
	a.mux.HandleFunc("GET /{$}", a.index)
	a.mux.HandleFunc("GET /api/embed/{reportId}", a.embedConfig)
	static, err := fs.Sub(web, "web/static")
	if err != nil {
		return nil, err
	}
	a.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	a.mux.HandleFunc("GET /lib/powerbi.min.js", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, lib) })
	return a, nil
}

func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", a.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	a.mux.ServeHTTP(w, r)
}

func (a *App) index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	err := page.Execute(w, map[string]any{
		"ReportID":        a.reportID,
		"RefreshBeforeMs": a.cfg.RefreshBefore.Milliseconds(),
	})
	if err != nil {
		a.logger.Error("rendering the page", "error", err.Error())
	}
}

// embedConfig answers the report's embed configuration, from the cache.
func (a *App) embedConfig(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store") // it carries a token
	conf, err := a.cache.Report(r.Context(), a.groupID, r.PathValue("reportId"), &powerbi.EmbedOptions{LifetimeInMinutes: a.cfg.LifetimeInMinutes})
	if err != nil {
		status := http.StatusBadGateway
		switch {
		case errors.Is(err, powerbi.ErrInvalidArgument), errors.Is(err, powerbi.ErrNotFound):
			status = http.StatusNotFound
		case errors.Is(err, powerbi.ErrThrottled):
			status = http.StatusServiceUnavailable
		}
		// The SDK's errors carry no secret; the browser gets only the status.
		a.logger.Warn("embed config", "error", err.Error())
		http.Error(w, http.StatusText(status), status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(conf)
}
