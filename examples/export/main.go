// Command export exports a report to a file with the powerbi SDK: it starts
// the export, shows its progress on the terminal, and streams the file to
// disk.
//
//	go run ./examples/export -format PDF -out report.pdf
//
// With no POWERBI_* environment variables it runs on the built-in fake
// (powerbitest); the quickstart's variables switch it to the real service
// (POWERBI_REPORT_ID chooses the report, else the workspace's first). A Power
// BI report exports to PDF, PPTX or PNG, a paginated report to any format;
// exporting a Power BI report needs a workspace on a Premium, Embedded or
// Fabric capacity.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gopowerbi/powerbi"
	"github.com/gopowerbi/powerbi/examples/internal/exampleenv"
)

func main() {
	os.Exit(exampleenv.Main("export", func(fs *flag.FlagSet) exampleenv.Body {
		format := fs.String("format", "PDF", "the file format: PDF, PPTX, PNG (any FileFormat for a paginated report)")
		out := fs.String("out", "", "the file to write (default: the report's name and the format's extension)")
		return func(ctx context.Context, s *exampleenv.Setup, w io.Writer) error {
			return export(ctx, s, powerbi.FileFormat(strings.ToUpper(*format)), *out, w)
		}
	}))
}

func export(ctx context.Context, cfg *exampleenv.Setup, format powerbi.FileFormat, out string, w io.Writer) error {
	report, err := chooseReport(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Exporting %q (%s) to %s\n", report.Name, report.ID, format)
	p, err := cfg.Client.Reports.BeginExportToFileInGroup(ctx, cfg.GroupID, report.ID, powerbi.ExportReportRequest{Format: format})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "export %s started\n", p.ID())
	st, err := p.Wait(ctx, &powerbi.WaitOptions[powerbi.Export]{Frequency: cfg.PollEvery(), Progress: func(st *powerbi.Export) {
		fmt.Fprintf(w, "\r%s %3d%% %s", bar(st.PercentComplete, 30), st.PercentComplete, st.Status)
	}})
	fmt.Fprintln(w)
	if err != nil {
		return err
	}
	if out == "" {
		out = report.Name + st.ResourceFileExtension
	}
	f, err := cfg.Client.Reports.GetFileOfExportToFileInGroup(ctx, cfg.GroupID, report.ID, p.ID())
	if err != nil {
		return err
	}
	defer f.Body.Close()
	file, err := os.Create(out)
	if err != nil {
		return err
	}
	n, err := io.Copy(file, f.Body)
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	fmt.Fprintf(w, "wrote %d bytes (%s) to %s\n", n, f.ContentType, out)
	return nil
}

// chooseReport is POWERBI_REPORT_ID's report, else the workspace's first.
func chooseReport(ctx context.Context, cfg *exampleenv.Setup) (*powerbi.Report, error) {
	if cfg.ReportID != "" {
		return cfg.Client.Reports.GetReportInGroup(ctx, cfg.GroupID, cfg.ReportID)
	}
	reports, err := cfg.Client.Reports.GetReportsInGroup(ctx, cfg.GroupID)
	if err != nil {
		return nil, err
	}
	if len(reports) == 0 {
		return nil, errors.New("the workspace has no reports (or the caller cannot see them)")
	}
	return &reports[0], nil
}

// bar draws a progress bar of width characters.
func bar(percent, width int) string {
	done := max(0, min(width, percent*width/100))
	return "[" + strings.Repeat("#", done) + strings.Repeat(".", width-done) + "]"
}
