package powerbitest

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gopowerbi/powerbi"
)

// Exports set how the fake's report exports behave (SetExports).
type Exports struct {
	// Polls is how many status requests an export takes to finish
	// (default 3): percentComplete grows with each.
	Polls int
	// FileSize is the size of the exported file (default 64 KiB). Files are
	// made as they are downloaded, never held in memory: any size is fine.
	FileSize int64
	// RetryAfter, when set, is sent (in whole seconds) on every status
	// response while the export runs, as the service does; the default sends
	// none.
	RetryAfter time.Duration
	// FailReports lists reports whose exports end Failed.
	FailReports []string
}

// SetExports changes how exports started from now on behave.
func (s *Server) SetExports(e Exports) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exportCfg = e
}

type exportJob struct {
	powerbi.Export
	workspaceID string
	format      powerbi.FileFormat
	cfg         Exports
	polls       int
}

// powerBIFormats are the formats a Power BI report (not a paginated one)
// exports to.
var powerBIFormats = []powerbi.FileFormat{powerbi.FileFormatPDF, powerbi.FileFormatPPTX, powerbi.FileFormatPNG}

var exportTypes = map[powerbi.FileFormat]struct{ ext, contentType string }{
	powerbi.FileFormatPDF:           {".pdf", "application/pdf"},
	powerbi.FileFormatACCESSIBLEPDF: {".pdf", "application/pdf"},
	powerbi.FileFormatPPTX:          {".pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
	powerbi.FileFormatPNG:           {".png", "image/png"},
	powerbi.FileFormatIMAGE:         {".png", "image/png"},
	powerbi.FileFormatXLSX:          {".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
	powerbi.FileFormatDOCX:          {".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
	powerbi.FileFormatCSV:           {".csv", "text/csv"},
	powerbi.FileFormatXML:           {".xml", "application/xml"},
	powerbi.FileFormatMHTML:         {".mhtml", "multipart/related"},
}

// exportTo starts an export: 202 with the export, NotStarted.
func (s *Server) exportTo(c *call) {
	rep, ok := s.report(c)
	if !ok {
		return
	}
	var req powerbi.ExportReportRequest
	if err := json.NewDecoder(io.LimitReader(c.r.Body, 1<<20)).Decode(&req); err != nil {
		s.badRequest(c, "the request body is not an export request: %v", err)
		return
	}
	typ, known := exportTypes[req.Format]
	switch {
	case req.Format == "":
		s.badRequest(c, "format is required")
		return
	case !known:
		s.badRequest(c, "format %q is not a file format", req.Format)
		return
	case rep.ReportType != powerbi.ReportTypePaginatedReport && !slices.Contains(powerBIFormats, req.Format):
		s.badRequest(c, "a Power BI report exports to PDF, PPTX or PNG, not %s", req.Format)
		return
	case rep.ReportType == powerbi.ReportTypePaginatedReport && req.PowerBIReportConfiguration != nil:
		s.badRequest(c, "powerBIReportConfiguration is for Power BI reports; a paginated report takes paginatedReportConfiguration")
		return
	}
	s.mu.Lock()
	cfg := s.exportCfg
	if cfg.Polls <= 0 {
		cfg.Polls = 3
	}
	if cfg.FileSize <= 0 {
		cfg.FileSize = 64 << 10
	}
	now := s.nowLocked()
	job := &exportJob{workspaceID: c.ws.ID, format: req.Format, cfg: cfg, Export: powerbi.Export{
		ID: strings.ToUpper(randomHex(16)), ReportID: rep.ID, ReportName: rep.Name, Status: powerbi.ExportStateNotStarted,
		CreatedDateTime: powerbi.Timestamp{Time: now}, LastActionDateTime: powerbi.Timestamp{Time: now},
		ResourceFileExtension: typ.ext, ExpirationTime: powerbi.Timestamp{Time: now.Add(24 * time.Hour)},
	}}
	s.exports[strings.ToLower(job.ID)] = job
	out := job.Export
	s.mu.Unlock()
	writeJSON(c.w, http.StatusAccepted, out)
}

// export finds the request's export, of its report in its workspace.
func (s *Server) export(c *call) (*exportJob, bool) {
	rep, ok := s.report(c)
	if !ok {
		return nil, false
	}
	s.mu.Lock()
	job := s.exports[strings.ToLower(c.r.PathValue("export"))]
	ok = job != nil && job.workspaceID == c.ws.ID && strings.EqualFold(job.ReportID, rep.ID)
	s.mu.Unlock()
	if !ok {
		s.notFound(c)
	}
	return job, ok
}

// exportStatus moves the export on by one poll and answers its status.
func (s *Server) exportStatus(c *call) {
	job, ok := s.export(c)
	if !ok {
		return
	}
	s.mu.Lock()
	if job.Status == powerbi.ExportStateNotStarted || job.Status == powerbi.ExportStateRunning {
		job.polls++
		job.Status = powerbi.ExportStateRunning
		job.PercentComplete = min(99, job.polls*100/job.cfg.Polls)
		job.LastActionDateTime = powerbi.Timestamp{Time: s.nowLocked()}
		if job.polls >= job.cfg.Polls {
			if slices.ContainsFunc(job.cfg.FailReports, func(id string) bool { return strings.EqualFold(id, job.ReportID) }) {
				job.Status = powerbi.ExportStateFailed
			} else {
				job.Status, job.PercentComplete = powerbi.ExportStateSucceeded, 100
				job.ResourceLocation = "https://" + c.r.Host + c.r.URL.Path + "/file"
			}
		}
	}
	out, running := job.Export, job.Status == powerbi.ExportStateRunning
	retry := job.cfg.RetryAfter
	s.mu.Unlock()
	if running && retry > 0 {
		c.w.Header().Set("Retry-After", strconv.Itoa(int((retry+time.Second-1)/time.Second)))
	}
	writeJSON(c.w, http.StatusOK, out)
}

// exportFile streams the exported file, made as it is sent.
func (s *Server) exportFile(c *call) {
	job, ok := s.export(c)
	if !ok {
		return
	}
	s.mu.Lock()
	status, size, format, name := job.Status, job.cfg.FileSize, job.format, job.ReportName
	s.mu.Unlock()
	if status != powerbi.ExportStateSucceeded {
		s.badRequest(c, "export %s has not succeeded (it is %s)", job.ID, status)
		return
	}
	typ := exportTypes[format]
	h := c.w.Header()
	h.Set("Content-Type", typ.contentType)
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	h.Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(name, `"`, "")+typ.ext+`"`)
	c.w.WriteHeader(http.StatusOK)
	_, _ = io.CopyN(c.w, newFileContent(format), size)
}

// fileContent is an endless, deterministic file body: a header naming the
// format, then a repeating pattern.
type fileContent struct {
	head []byte
	n    int64
}

func newFileContent(format powerbi.FileFormat) *fileContent {
	head := "powerbitest export " + string(format) + "\n"
	if format == powerbi.FileFormatPDF || format == powerbi.FileFormatACCESSIBLEPDF {
		head = "%PDF-1.7\n% powerbitest export\n"
	}
	return &fileContent{head: []byte(head)}
}

const pattern = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/\n"

func (f *fileContent) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if f.n < int64(len(f.head)) {
			k := copy(p[n:], f.head[f.n:])
			n += k
			f.n += int64(k)
			continue
		}
		k := copy(p[n:], pattern[(f.n-int64(len(f.head)))%int64(len(pattern)):])
		n += k
		f.n += int64(k)
	}
	return n, nil
}
