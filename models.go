package powerbi

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// The models of the REST API are generated (models_gen.go, enums_gen.go):
// field and JSON names are the contract's. This file adds what the contract
// does not say: a date type that takes every format the service sends, the
// redaction of tokens when a model is printed, which fields a decoded
// response must have, and the names an earlier version of this package used.

// Report types, by the names this package used before the generated
// ReportTypePowerBIReport and ReportTypePaginatedReport.
const (
	ReportTypePowerBI   = ReportTypePowerBIReport
	ReportTypePaginated = ReportTypePaginatedReport // RDL
)

// Timestamp is a date-time the service sends in more than one format: RFC 3339
// ("2021-12-07T00:00:00Z"), RFC 3339 without a zone (read as UTC), or
// "10/13/2021 12:00:00 AM" (read as UTC). It marshals as RFC 3339.
type Timestamp struct{ time.Time }

var timestampLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "1/2/2006 3:04:05 PM"}

// UnmarshalJSON accepts the formats listed on Timestamp, and null or "" as zero.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("powerbi: timestamp: %w", err)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	for _, layout := range timestampLayouts {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v
			return nil
		}
	}
	return fmt.Errorf("powerbi: timestamp %q is in no known format", oneLine(s, 40))
}

// MarshalJSON writes RFC 3339.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.Time.Format(time.RFC3339Nano))
}

// GoString hides the token when the struct is printed with %#v.
func (t EmbedToken) GoString() string {
	return fmt.Sprintf("powerbi.EmbedToken{Token:%q, TokenID:%q, Expiration:%s}", "[REDACTED]", t.TokenID, t.Expiration.Format(time.RFC3339))
}

// String hides the token when the struct is printed with %v or %+v.
func (t EmbedToken) String() string {
	return fmt.Sprintf("{Token:[REDACTED] TokenID:%s Expiration:%s}", t.TokenID, t.Expiration.Format(time.RFC3339))
}

// complete reports whether a decoded response has the fields the service always
// sends, so an empty object is not passed on as a zero value.
func (t *EmbedToken) complete() bool { return t.Token != "" && !t.Expiration.IsZero() }
func (r *Report) complete() bool     { return r.ID != "" }
func (d *Dashboard) complete() bool  { return d.ID != "" }
func (t *Tile) complete() bool       { return t.ID != "" }
func (d *Dataset) complete() bool    { return d.ID != "" }
func (g *Group) complete() bool      { return g.ID != "" }

// Ptr returns a pointer to v: the optional fields of update bodies are
// pointers, so that false, 0 and "" can be sent on purpose.
func Ptr[T any](v T) *T { return &v }
