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

	"github.com/gopowerbi/powerbi"
)

// Handler serves the embed configurations of the reports of one workspace.
type Handler struct {
	Client  *powerbi.Client
	GroupID string
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reportID := strings.TrimPrefix(r.URL.Path, "/embed/")
	conf, err := h.Client.ReportEmbedConfig(r.Context(), h.GroupID, reportID, nil)
	if err != nil {
		fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store") // it carries a token
	_ = json.NewEncoder(w).Encode(conf)
}

// fail maps the SDK's errors to statuses; the browser gets no details (a real
// server would log err, which carries no secret).
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
