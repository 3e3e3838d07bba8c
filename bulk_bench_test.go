package powerbi_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/gopowerbi/powerbi"
	"github.com/gopowerbi/powerbi/powerbitest"
)

// BenchmarkBulk is a bulk job against a rate limit: W workers make C calls
// each of one operation on powerbitest, which refuses more than R calls in
// any second (429 with Retry-After), with the Client's budget set to the
// same R and without a budget. The figures are the job's wall time against
// the least the limit allows (N/R for N calls), the 429s the fake answered,
// and the calls that failed. ns/op is one whole job. BULK_WORKERS,
// BULK_CALLS and BULK_RATE change W, C and R (default 64, 5000, 8000).
func BenchmarkBulk(b *testing.B) {
	workers, calls, limit := envInt("BULK_WORKERS", 64), envInt("BULK_CALLS", 5000), envInt("BULK_RATE", 8000)
	for _, budget := range []bool{true, false} {
		b.Run(fmt.Sprintf("budget=%t", budget), func(b *testing.B) {
			for range b.N {
				srv := powerbitest.NewServer(powerbitest.WithRealClock())
				demo := srv.SeedDemo()
				srv.SetRateLimit(listReports, limit, time.Second)
				auth, err := demo.Authenticator(srv)
				if err != nil {
					b.Fatal(err)
				}
				opts := []powerbi.Option{powerbi.WithRetryPolicy(powerbi.RetryPolicy{MaxRetries: 8, WaitMin: 10 * time.Millisecond, WaitMax: 2 * time.Second, MaxRetryAfter: 10 * time.Second})}
				if budget {
					opts = append(opts, powerbi.WithRateLimits(powerbi.RateLimit{Class: listReports, Requests: limit, Per: time.Second}))
				}
				c, err := srv.NewClient(auth, opts...)
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				failed := hammer(workers, calls, func() error {
					_, err := c.Reports.GetReportsInGroup(context.Background(), demo.WorkspaceID)
					return err
				})
				wall := time.Since(start)
				n := workers * calls
				ideal := time.Duration(float64(n) / float64(limit) * float64(time.Second))
				b.ReportMetric(wall.Seconds(), "wall-s")
				b.ReportMetric(ideal.Seconds(), "N/R-s")
				b.ReportMetric(wall.Seconds()/ideal.Seconds(), "wall/(N/R)")
				b.ReportMetric(float64(srv.RateLimited(listReports)), "429s")
				b.ReportMetric(100*float64(srv.RateLimited(listReports))/float64(n), "429%")
				b.ReportMetric(float64(failed), "failed")
				c.CloseIdleConnections()
				srv.Close()
			}
		})
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
