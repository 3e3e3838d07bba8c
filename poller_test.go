package powerbi_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopowerbi/powerbi"
	"github.com/gopowerbi/powerbi/powerbitest"
)

// Every kind of Wait ends within its context's deadline, whether it is
// between polls or inside one (the fake holding a status request), returns
// the context's error, and leaves no goroutine behind (goleak, TestMain).
func TestEveryWaitEndsWithItsContext(t *testing.T) {
	const deadline = 300 * time.Millisecond
	e := newE2E(t)
	e.srv.SetExports(powerbitest.Exports{Polls: 1 << 20})
	e.srv.SetRefreshes(powerbitest.Refreshes{Polls: 1 << 20})
	c := e.demoClient(t)
	ctx := context.Background()
	hold := func(path string) {
		e.srv.InjectFault(powerbitest.Fault{Method: "GET", PathContains: path, Delay: time.Hour, Times: 1000})
	}

	waits := map[string]func(context.Context) error{
		"export, between polls": func(ctx context.Context) error {
			p, err := c.Reports.BeginExportToFileInGroup(context.Background(), e.demo.WorkspaceID, e.demo.ReportID, powerbi.ExportReportRequest{Format: powerbi.FileFormatPDF})
			require.NoError(t, err)
			_, err = p.Wait(ctx, &powerbi.WaitOptions[powerbi.Export]{Frequency: 10 * time.Millisecond})
			return err
		},
		"refresh, between polls": func(ctx context.Context) error {
			p, err := c.Datasets.BeginRefreshDatasetInGroup(context.Background(), e.demo.WorkspaceID, e.demo.DatasetID, powerbi.DatasetRefreshRequest{Type: powerbi.DatasetRefreshTypeFull})
			require.NoError(t, err)
			_, err = p.Wait(ctx, &powerbi.WaitOptions[powerbi.DatasetRefreshDetail]{Frequency: time.Hour})
			return err
		},
		"import, inside a poll": func(ctx context.Context) error {
			p, err := c.Imports.BeginPostImportInGroup(context.Background(), e.demo.WorkspaceID, "Held.pbix", bytes.NewReader(pbix(100)), nil)
			require.NoError(t, err)
			hold("/imports/")
			_, err = p.Wait(ctx, nil)
			return err
		},
		"deployment, inside a poll": func(ctx context.Context) error {
			p, err := c.Pipelines.BeginDeployAll(context.Background(), e.srv.AddPipeline("Held", 2, false), powerbi.DeployAllRequest{})
			require.NoError(t, err)
			hold("/operations/")
			_, err = p.Wait(ctx, nil)
			return err
		},
		"scan, inside a poll": func(ctx context.Context) error {
			ws := e.srv.AddWorkspace(powerbitest.Workspace{Name: "held"}).ID
			hold("/scanStatus/")
			for r := range c.WorkspaceInfo.Scan(ctx, []string{ws}, nil) {
				return r.Err
			}
			return fmt.Errorf("the scan yielded nothing")
		},
	}
	for name, wait := range waits {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(ctx, deadline)
			defer cancel()
			start := time.Now()
			err := wait(ctx)
			took := time.Since(start)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Less(t, took, deadline+2*time.Second, "ended with its context")
		})
	}
}
