package powerbi

import (
	"context"
	"iter"
	"time"
)

// ActivityEventsOptions are the choices of Admin.ActivityEvents.
type ActivityEventsOptions struct {
	// Filter is an OData filter on the events, e.g. "Activity eq 'viewreport'".
	Filter string
}

// ActivityEvents yields the audit events of the organization from start up
// to end, a window of any length: the service answers one UTC day at a
// time, so the window is cut at each UTC midnight, and each day is read page
// by page, every continuation token passed back exactly as the service sent
// it. Events come in the service's order, day after day. The service keeps
// the last 30 days. The iteration stops at the first error, which it yields.
func (s *AdminService) ActivityEvents(ctx context.Context, start, end time.Time, opts *ActivityEventsOptions) iter.Seq2[map[string]any, error] {
	return func(yield func(map[string]any, error) bool) {
		if start.IsZero() || end.IsZero() || !end.After(start) {
			yield(nil, invalid("ActivityEvents", "the window needs a start before its end"))
			return
		}
		var filter string
		if opts != nil {
			filter = opts.Filter
		}
		for _, day := range utcDays(start, end) {
			o := &GetActivityEventsOptions{StartDateTime: day[0], EndDateTime: day[1], Filter: filter}
			for ev, err := range s.GetActivityEventsIter(ctx, o) {
				if !yield(ev, err) || err != nil {
					return
				}
			}
		}
	}
}

// utcDays cuts [start, end) at each UTC midnight into windows the service
// takes: each within one UTC day, its end the day's last millisecond or end.
func utcDays(start, end time.Time) [][2]time.Time {
	start, end = start.UTC(), end.UTC()
	var out [][2]time.Time
	for from := start; from.Before(end); {
		midnight := time.Date(from.Year(), from.Month(), from.Day()+1, 0, 0, 0, 0, time.UTC)
		to := midnight.Add(-time.Millisecond)
		if !end.Before(midnight) {
			out = append(out, [2]time.Time{from, to})
		} else {
			out = append(out, [2]time.Time{from, end.Add(-time.Millisecond)})
		}
		from = midnight
	}
	return out
}
