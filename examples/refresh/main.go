// Command refresh refreshes a dataset with the powerbi SDK and follows the
// refresh to its end.
//
//	go run ./examples/refresh -dataset <id> [-type Full]
//
// With no POWERBI_* environment variables it runs on the built-in fake
// (powerbitest); the quickstart's variables switch it to the real service.
// Without -dataset it refreshes the dataset of the workspace's first report.
// -type (Full, ClearValues, Calculate, DataOnly, Automatic, Defragment) asks
// for an enhanced refresh, which a Premium, Embedded or Fabric capacity
// runs; without it the refresh is the plain one.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/gopowerbi/powerbi"
	"github.com/gopowerbi/powerbi/examples/internal/exampleenv"
)

func main() {
	os.Exit(exampleenv.Main("refresh", func(fs *flag.FlagSet) exampleenv.Body {
		datasetID := fs.String("dataset", "", "the dataset to refresh (default: the first report's dataset)")
		typ := fs.String("type", "", "an enhanced refresh's type, e.g. Full")
		return func(ctx context.Context, s *exampleenv.Setup, w io.Writer) error {
			return refresh(ctx, s, *datasetID, powerbi.DatasetRefreshType(*typ), w)
		}
	}))
}

func refresh(ctx context.Context, cfg *exampleenv.Setup, datasetID string, typ powerbi.DatasetRefreshType, w io.Writer) error {
	if datasetID == "" {
		reports, err := cfg.Client.Reports.GetReportsInGroup(ctx, cfg.GroupID)
		if err != nil {
			return err
		}
		for _, r := range reports {
			if r.DatasetID != "" {
				datasetID = r.DatasetID
				break
			}
		}
		if datasetID == "" {
			return errors.New("no report of the workspace has a dataset; pass -dataset")
		}
	}
	fmt.Fprintf(w, "Refreshing dataset %s\n", datasetID)
	p, err := cfg.Client.Datasets.BeginRefreshDatasetInGroup(ctx, cfg.GroupID, datasetID, powerbi.DatasetRefreshRequest{Type: typ})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "refresh %s started\n", p.ID())
	st, err := p.Wait(ctx, &powerbi.WaitOptions[powerbi.DatasetRefreshDetail]{Frequency: cfg.PollEvery(), Progress: func(d *powerbi.DatasetRefreshDetail) {
		fmt.Fprintf(w, "  %s\n", orStatus(d))
	}})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "refresh %s: %s in %s\n", p.ID(), st.Status, st.EndTime.Sub(st.StartTime.Time))
	return nil
}

// orStatus is the detailed status where the service gives one.
func orStatus(d *powerbi.DatasetRefreshDetail) string {
	if d.ExtendedStatus != "" {
		return string(d.ExtendedStatus)
	}
	return string(d.Status)
}
