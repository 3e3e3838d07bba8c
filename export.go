package powerbi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Exporting a report to a file is three calls (start the export, poll its
// status, download the file); these methods make it one.

// BeginExportToFile starts exporting a report in your My workspace to a
// file and returns a poller of the export. When it has succeeded,
// GetFileOfExportToFile downloads the file (or use ExportToWriter).
func (s *ReportsService) BeginExportToFile(ctx context.Context, reportID string, req ExportReportRequest) (*Poller[Export], error) {
	if err := req.check(); err != nil {
		return nil, err
	}
	exp, err := s.ExportToFile(ctx, reportID, req)
	if err != nil {
		return nil, err
	}
	return s.ResumeExportToFile(reportID, exp.ID)
}

// BeginExportToFileInGroup starts exporting a report in a workspace to a
// file (a Power BI report to PDF, PPTX or PNG; a paginated report to any
// FileFormat) and returns a poller of the export. When it has succeeded,
// GetFileOfExportToFileInGroup downloads the file (or use
// ExportToWriterInGroup). The export is started once: it is retried only
// after a 429, or when it never reached the service.
func (s *ReportsService) BeginExportToFileInGroup(ctx context.Context, groupID, reportID string, req ExportReportRequest) (*Poller[Export], error) {
	if err := req.check(); err != nil {
		return nil, err
	}
	exp, err := s.ExportToFileInGroup(ctx, groupID, reportID, req)
	if err != nil {
		return nil, err
	}
	return s.ResumeExportToFileInGroup(groupID, reportID, exp.ID)
}

// ResumeExportToFile rebuilds the poller of an export started earlier, from
// its ID (Poller.ID), without sending anything.
func (s *ReportsService) ResumeExportToFile(reportID, exportID string) (*Poller[Export], error) {
	if err := checkGUIDs("reportID", reportID); err != nil {
		return nil, err
	}
	return s.exportPoller("reports/"+reportID+"/exports/", exportID)
}

// ResumeExportToFileInGroup rebuilds the poller of an export started
// earlier, from its ID (Poller.ID), without sending anything.
func (s *ReportsService) ResumeExportToFileInGroup(groupID, reportID, exportID string) (*Poller[Export], error) {
	if err := checkGUIDs("groupID", groupID, "reportID", reportID); err != nil {
		return nil, err
	}
	return s.exportPoller("groups/"+groupID+"/reports/"+reportID+"/exports/", exportID)
}

func (s *ReportsService) exportPoller(prefix, exportID string) (*Poller[Export], error) {
	if err := checkSegment("exportID", exportID); err != nil {
		return nil, err
	}
	poll := pollJSON[Export](s.client, Request{Operation: inGroupOp("Reports_GetExportToFileStatus", prefix), Method: http.MethodGet, Path: prefix + url.PathEscape(exportID)})
	return newPoller(s.client, "export", exportID, poll, exportState), nil
}

func exportState(e *Export) (bool, *OperationError) {
	switch e.Status {
	case ExportStateSucceeded:
		return true, nil
	case ExportStateFailed:
		return true, &OperationError{Status: string(e.Status), Message: fmt.Sprintf("the export of report %q to %s failed", e.ReportName, orDash(e.ResourceFileExtension))}
	}
	return false, nil
}

// ExportToWriter exports a report in your My workspace and writes the file
// to w: BeginExportToFile, Wait (with opts), then the download, streamed. It
// returns the export's final status and the number of bytes written.
func (s *ReportsService) ExportToWriter(ctx context.Context, reportID string, req ExportReportRequest, w io.Writer, opts *WaitOptions[Export]) (*Export, int64, error) {
	if w == nil {
		return nil, 0, invalid("w", "is nil")
	}
	p, err := s.BeginExportToFile(ctx, reportID, req)
	if err != nil {
		return nil, 0, err
	}
	return writeExport(ctx, p, w, opts, func(ctx context.Context) (*File, error) { return s.GetFileOfExportToFile(ctx, reportID, p.ID()) })
}

// ExportToWriterInGroup exports a report in a workspace and writes the file
// to w: BeginExportToFileInGroup, Wait (with opts), then the download,
// streamed. It returns the export's final status and the number of bytes
// written. The file is never held in memory whole.
func (s *ReportsService) ExportToWriterInGroup(ctx context.Context, groupID, reportID string, req ExportReportRequest, w io.Writer, opts *WaitOptions[Export]) (*Export, int64, error) {
	if w == nil {
		return nil, 0, invalid("w", "is nil")
	}
	p, err := s.BeginExportToFileInGroup(ctx, groupID, reportID, req)
	if err != nil {
		return nil, 0, err
	}
	return writeExport(ctx, p, w, opts, func(ctx context.Context) (*File, error) {
		return s.GetFileOfExportToFileInGroup(ctx, groupID, reportID, p.ID())
	})
}

func writeExport(ctx context.Context, p *Poller[Export], w io.Writer, opts *WaitOptions[Export], download func(context.Context) (*File, error)) (*Export, int64, error) {
	st, err := p.Wait(ctx, opts)
	if err != nil {
		return st, 0, err
	}
	f, err := download(ctx)
	if err != nil {
		return st, 0, err
	}
	defer f.Body.Close()
	n, err := io.Copy(w, f.Body)
	if err == nil && f.ContentLength >= 0 && n != f.ContentLength {
		err = fmt.Errorf("powerbi: the exported file was cut short: %d of %d bytes: %w", n, f.ContentLength, ErrUnexpectedResponse)
	}
	if err != nil {
		return st, n, fmt.Errorf("powerbi: downloading export %s: %w", p.ID(), err)
	}
	return st, n, nil
}

// check refuses a request the service would refuse for want of a format.
func (r *ExportReportRequest) check() error {
	if r.Format == "" {
		return invalid("ExportReportRequest.Format", "is required (PDF, PPTX, PNG for a Power BI report; any FileFormat for a paginated report)")
	}
	return nil
}
