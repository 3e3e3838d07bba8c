// Package embedhandler is the small backend of the README's "Testing your
// code" section: GET /embed/{reportId} answers the embed configuration of a
// report for powerbi-client. Its test shows how to unit-test such a handler
// with powerbitest.
package embedhandler

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gopowerbi/powerbi"
)

// Handler serves the embed configurations of the reports of one workspace.
type Handler struct {
	Client  *powerbi.Client
	GroupID string
}

// Config is what the page passes to powerbi.embed.
type Config struct {
	Type        string    `json:"type"`
	ID          string    `json:"id"`
	EmbedURL    string    `json:"embedUrl"`
	AccessToken string    `json:"accessToken"`
	TokenType   int       `json:"tokenType"` // 1: embed token
	Expiration  time.Time `json:"expiration"`
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reportID := strings.TrimPrefix(r.URL.Path, "/embed/")
	report, err := h.Client.Reports.GetReportInGroup(r.Context(), h.GroupID, reportID)
	if err != nil {
		fail(w, err)
		return
	}
	tok, err := h.Client.Reports.GenerateTokenInGroup(r.Context(), h.GroupID, report.ID,
		powerbi.GenerateTokenRequest{AccessLevel: powerbi.TokenAccessLevelView})
	if err != nil {
		fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(Config{Type: "report", ID: report.ID, EmbedURL: report.EmbedURL,
		AccessToken: tok.Token, TokenType: 1, Expiration: tok.Expiration})
}

// fail maps the SDK's errors to statuses; the details stay in the server's log.
func fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, powerbi.ErrInvalidArgument), errors.Is(err, powerbi.ErrNotFound):
		http.Error(w, "no such report", http.StatusNotFound)
	case errors.Is(err, powerbi.ErrThrottled):
		http.Error(w, "try again later", http.StatusServiceUnavailable)
	default:
		http.Error(w, "Power BI is unavailable", http.StatusBadGateway)
	}
}
