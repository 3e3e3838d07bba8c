package powerbi_test

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopowerbi/powerbi"
	"github.com/gopowerbi/powerbi/powerbitest"
)

// fastPolls waits between polls for a moment only, where the fake sends no
// Retry-After.
var fastPolls = &powerbi.WaitOptions[powerbi.Export]{Frequency: time.Millisecond}

// heapPeak records the largest heap in use seen while a stream ran,
// sampled every `every` bytes of it.
type heapPeak struct {
	every, next int64
	maxHeap     uint64
}

// at samples the heap once the stream has passed its next mark (n bytes so far).
func (h *heapPeak) at(n int64) {
	if n < h.next {
		return
	}
	h.next = n + h.every
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h.maxHeap = max(h.maxHeap, ms.HeapInuse)
}

// heapMeter is an io.Writer that discards what it is given, sampling the
// heap every 8 MiB.
type heapMeter struct {
	n int64
	heapPeak
}

func newHeapMeter() *heapMeter { return &heapMeter{heapPeak: heapPeak{every: 8 << 20}} }

func (m *heapMeter) Write(p []byte) (int, error) {
	m.n += int64(len(p))
	m.at(m.n)
	return len(p), nil
}

func heapInuse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// An export to PDF, waited for with progress, and its 200 MB file streamed
// with flat memory.
func TestExportToFileWithProgressAndA200MBFile(t *testing.T) {
	e := newE2E(t)
	const size = 200 << 20
	e.srv.SetExports(powerbitest.Exports{Polls: 4, FileSize: size})
	c := e.demoClient(t)
	ctx := context.Background()

	p, err := c.Reports.BeginExportToFileInGroup(ctx, e.demo.WorkspaceID, e.demo.ReportID, powerbi.ExportReportRequest{Format: powerbi.FileFormatPDF})
	require.NoError(t, err)
	require.NotEmpty(t, p.ID())
	assert.False(t, p.Done())
	var progress []int
	st, err := p.Wait(ctx, &powerbi.WaitOptions[powerbi.Export]{Frequency: time.Millisecond,
		Progress: func(st *powerbi.Export) { progress = append(progress, st.PercentComplete) }})
	require.NoError(t, err)
	assert.True(t, p.Done())
	assert.Equal(t, powerbi.ExportStateSucceeded, st.Status)
	assert.Equal(t, []int{25, 50, 75, 100}, progress, "Progress after every poll")
	assert.Equal(t, ".pdf", st.ResourceFileExtension)

	f, err := c.Reports.GetFileOfExportToFileInGroup(ctx, e.demo.WorkspaceID, e.demo.ReportID, p.ID())
	require.NoError(t, err)
	defer f.Body.Close()
	assert.Equal(t, "application/pdf", f.ContentType)
	assert.EqualValues(t, size, f.ContentLength)
	assert.Equal(t, "Sales overview.pdf", f.Name)
	before := heapInuse()
	m := newHeapMeter()
	head := make([]byte, 8)
	_, err = io.ReadFull(f.Body, head)
	require.NoError(t, err)
	assert.Equal(t, "%PDF-1.7", string(head))
	n, err := io.Copy(m, f.Body)
	require.NoError(t, err)
	assert.EqualValues(t, size-8, n)
	growth := int64(m.maxHeap) - int64(before)
	t.Logf("200 MB export downloaded: heap in use before %d KiB, at most %d KiB during (growth %d KiB)", before>>10, m.maxHeap>>10, growth>>10)
	assert.Less(t, growth, int64(16<<20), "the file is streamed, not held in memory")
}

// A poller rebuilt from the export's ID waits for the same export; a failed
// export is ErrOperationFailed with the service's status; ExportToWriter does
// it all in one call.
func TestExportResumeFailAndWriter(t *testing.T) {
	e := newE2E(t)
	e.srv.SetExports(powerbitest.Exports{Polls: 3, FileSize: 5000})
	c := e.demoClient(t)
	ctx := context.Background()

	p, err := c.Reports.BeginExportToFileInGroup(ctx, e.demo.WorkspaceID, e.demo.PaginatedReportID, powerbi.ExportReportRequest{Format: powerbi.FileFormatCSV})
	require.NoError(t, err)
	st, err := p.Poll(ctx)
	require.NoError(t, err)
	assert.Equal(t, powerbi.ExportStateRunning, st.Status)

	// The process restarts: only the ID was kept.
	resumed, err := c.Reports.ResumeExportToFileInGroup(e.demo.WorkspaceID, e.demo.PaginatedReportID, p.ID())
	require.NoError(t, err)
	st, err = resumed.Wait(ctx, fastPolls)
	require.NoError(t, err)
	assert.Equal(t, powerbi.ExportStateSucceeded, st.Status)
	assert.Equal(t, p.ID(), st.ID)

	var buf bytes.Buffer
	st, n, err := c.Reports.ExportToWriterInGroup(ctx, e.demo.WorkspaceID, e.demo.PaginatedReportID, powerbi.ExportReportRequest{Format: powerbi.FileFormatCSV}, &buf, fastPolls)
	require.NoError(t, err)
	assert.EqualValues(t, 5000, n)
	assert.Equal(t, 5000, buf.Len())
	assert.Equal(t, powerbi.ExportStateSucceeded, st.Status)

	e.srv.SetExports(powerbitest.Exports{Polls: 2, FailReports: []string{e.demo.ReportID}})
	p, err = c.Reports.BeginExportToFileInGroup(ctx, e.demo.WorkspaceID, e.demo.ReportID, powerbi.ExportReportRequest{Format: powerbi.FileFormatPPTX})
	require.NoError(t, err)
	st, err = p.Wait(ctx, fastPolls)
	require.ErrorIs(t, err, powerbi.ErrOperationFailed)
	var opErr *powerbi.OperationError
	require.ErrorAs(t, err, &opErr)
	assert.Equal(t, "export", opErr.Operation)
	assert.Equal(t, p.ID(), opErr.ID)
	assert.Equal(t, "Failed", opErr.Status)
	assert.Contains(t, err.Error(), "Sales overview")
	assert.Equal(t, powerbi.ExportStateFailed, st.Status)
	again, err2 := p.Poll(ctx)
	assert.Equal(t, err, err2, "a finished poller answers without a request")
	assert.Equal(t, st, again)
	assert.ErrorIs(t, p.Cancel(ctx), powerbi.ErrInvalidArgument, "an export cannot be cancelled")
}

// Wait honours the service's Retry-After over its own frequency, and ends
// when its context does, leaving no goroutine behind (goleak, TestMain).
func TestExportWaitRetryAfterAndDeadline(t *testing.T) {
	e := newE2E(t)
	e.srv.SetExports(powerbitest.Exports{Polls: 2, RetryAfter: time.Second})
	c := e.demoClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := c.Reports.BeginExportToFileInGroup(ctx, e.demo.WorkspaceID, e.demo.ReportID, powerbi.ExportReportRequest{Format: powerbi.FileFormatPNG})
	require.NoError(t, err)
	st, err := p.Wait(ctx, &powerbi.WaitOptions[powerbi.Export]{Frequency: time.Hour})
	require.NoError(t, err, "Retry-After (1 s), not the hour")
	assert.Equal(t, powerbi.ExportStateSucceeded, st.Status)

	e.srv.SetExports(powerbitest.Exports{Polls: 1000})
	p, err = c.Reports.BeginExportToFileInGroup(context.Background(), e.demo.WorkspaceID, e.demo.ReportID, powerbi.ExportReportRequest{Format: powerbi.FileFormatPNG})
	require.NoError(t, err)
	short, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	start := time.Now()
	st, err = p.Wait(short, &powerbi.WaitOptions[powerbi.Export]{Frequency: 20 * time.Millisecond})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 2*time.Second)
	require.NotNil(t, st, "the latest status comes with the context's error")
	assert.Equal(t, powerbi.ExportStateRunning, st.Status)
}

// What the service would refuse is refused before anything is sent, and what
// the fake refuses as the service does comes back as an APIError.
func TestExportRefusals(t *testing.T) {
	e := newE2E(t)
	c := e.demoClient(t)
	ctx := context.Background()
	before := e.srv.CountRequests("/ExportTo")
	_, err := c.Reports.BeginExportToFileInGroup(ctx, e.demo.WorkspaceID, e.demo.ReportID, powerbi.ExportReportRequest{})
	assert.ErrorIs(t, err, powerbi.ErrInvalidArgument)
	_, err = c.Reports.BeginExportToFileInGroup(ctx, "not-a-guid", e.demo.ReportID, powerbi.ExportReportRequest{Format: powerbi.FileFormatPDF})
	assert.ErrorIs(t, err, powerbi.ErrInvalidArgument)
	_, err = c.Reports.ResumeExportToFileInGroup(e.demo.WorkspaceID, e.demo.ReportID, "")
	assert.ErrorIs(t, err, powerbi.ErrInvalidArgument)
	_, _, err = c.Reports.ExportToWriterInGroup(ctx, e.demo.WorkspaceID, e.demo.ReportID, powerbi.ExportReportRequest{Format: powerbi.FileFormatPDF}, nil, nil)
	assert.ErrorIs(t, err, powerbi.ErrInvalidArgument)
	assert.Equal(t, before, e.srv.CountRequests("/ExportTo"), "nothing was sent")

	_, err = c.Reports.BeginExportToFileInGroup(ctx, e.demo.WorkspaceID, e.demo.ReportID, powerbi.ExportReportRequest{Format: powerbi.FileFormatCSV})
	var apiErr *powerbi.APIError
	require.ErrorAs(t, err, &apiErr, "a Power BI report does not export to CSV")
	assert.Equal(t, 400, apiErr.StatusCode)
}

// The page, bookmark and filter configuration of a Power BI report, and the
// parameters of a paginated one, reach the service as the contract names
// them.
func TestExportConfiguration(t *testing.T) {
	e := newE2E(t)
	c := e.demoClient(t)
	ctx := context.Background()
	_, err := c.Reports.BeginExportToFileInGroup(ctx, e.demo.WorkspaceID, e.demo.ReportID, powerbi.ExportReportRequest{
		Format: powerbi.FileFormatPDF,
		PowerBIReportConfiguration: &powerbi.PowerBIReportExportConfiguration{
			Pages:              []powerbi.ExportReportPage{{PageName: "ReportSection1", Bookmark: &powerbi.PageBookmark{Name: "Q4"}}},
			ReportLevelFilters: []powerbi.ExportFilter{{Filter: "Store/Territory eq 'NC'"}},
			DefaultBookmark:    &powerbi.PageBookmark{State: "H4sIAAAAAAAEAO1Y"},
		},
	})
	require.NoError(t, err)
	_, err = c.Reports.BeginExportToFileInGroup(ctx, e.demo.WorkspaceID, e.demo.PaginatedReportID, powerbi.ExportReportRequest{
		Format: powerbi.FileFormatXLSX,
		PaginatedReportConfiguration: &powerbi.PaginatedReportExportConfiguration{
			ParameterValues: []powerbi.ParameterValue{{Name: "Region", Value: "West"}},
		},
	})
	require.NoError(t, err)
	var bodies []string
	for _, r := range e.srv.Requests() {
		if strings.HasSuffix(r.Path, "/ExportTo") {
			bodies = append(bodies, r.Body)
		}
	}
	require.Len(t, bodies, 2)
	assert.JSONEq(t, `{"format":"PDF","powerBIReportConfiguration":{"defaultBookmark":{"state":"H4sIAAAAAAAEAO1Y"},
		"reportLevelFilters":[{"filter":"Store/Territory eq 'NC'"}],"pages":[{"pageName":"ReportSection1","bookmark":{"name":"Q4"}}]}}`, bodies[0])
	assert.JSONEq(t, `{"format":"XLSX","paginatedReportConfiguration":{"parameterValues":[{"name":"Region","value":"West"}]}}`, bodies[1])
}
