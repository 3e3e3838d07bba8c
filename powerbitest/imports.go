package powerbitest

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"hash"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/gopowerbi/powerbi"
)

// ImportInfo is what the fake knows of an import: the file it received
// (never kept: its size and SHA-256) and how the import ended.
type ImportInfo struct {
	ID          string
	WorkspaceID string
	Name        string // datasetDisplayName
	Size        int64  // bytes received
	SHA256      string // of the bytes, hex; for a temporary location, of its blocks in order
	FromURL     bool   // imported from a temporary upload location
	State       powerbi.ImportState
	DatasetIDs  []string
	ReportIDs   []string
}

// Imports returns the imports the fake has received, oldest first.
func (s *Server) Imports() []ImportInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ImportInfo, 0, len(s.imports))
	for _, im := range s.imports {
		out = append(out, im.info)
	}
	return out
}

type importJob struct {
	info       ImportInfo
	mode       powerbi.ImportConflictHandlerMode
	skipReport bool
	polls      int
	errMsg     string // a failure, set when the import was received
	code       string
	result     powerbi.Import
}

// received is a file as the fake read it.
type received struct {
	size  int64
	sum   string
	magic []byte // its first bytes
}

// readFile reads a file through, keeping only its size, hash and first bytes.
func readFile(r io.Reader, h hash.Hash) (received, error) {
	var head [8]byte
	n, err := io.ReadFull(r, head[:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return received{}, err
	}
	h.Write(head[:n])
	rest, err := io.Copy(h, r)
	if err != nil {
		return received{}, err
	}
	return received{size: int64(n) + rest, sum: hex.EncodeToString(h.Sum(nil)), magic: slices.Clone(head[:n])}, nil
}

// postImport is POST .../imports: a multipart upload of the file, or JSON
// naming a temporary upload location the file was put to. 202 with the
// import's ID; the import runs on the following status requests.
func (s *Server) postImport(c *call) {
	q := c.r.URL.Query()
	name := q.Get("datasetDisplayName")
	if name == "" {
		s.badRequest(c, "datasetDisplayName is required")
		return
	}
	mode := powerbi.ImportConflictHandlerMode(q.Get("nameConflict"))
	switch mode {
	case "", powerbi.ImportConflictHandlerModeIgnore, powerbi.ImportConflictHandlerModeAbort, powerbi.ImportConflictHandlerModeOverwrite,
		powerbi.ImportConflictHandlerModeCreateOrOverwrite, powerbi.ImportConflictHandlerModeGenerateUniqueName:
	default:
		s.badRequest(c, "nameConflict %q is not a conflict mode", mode)
		return
	}
	var file received
	fromURL := false
	mt, params, _ := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	switch mt {
	case "multipart/form-data":
		mr := multipart.NewReader(c.r.Body, params["boundary"])
		part, err := mr.NextPart()
		if err != nil {
			s.badRequest(c, "the multipart form has no file: %v", err)
			return
		}
		if file, err = readFile(part, sha256.New()); err != nil {
			s.badRequest(c, "reading the uploaded file: %v", err)
			return
		}
	case "application/json":
		var info powerbi.ImportInfo
		if err := json.NewDecoder(io.LimitReader(c.r.Body, 1<<20)).Decode(&info); err != nil || info.FileURL == "" {
			s.badRequest(c, "the import request names no fileUrl")
			return
		}
		blob, ok := s.committedBlob(info.FileURL)
		if !ok {
			s.badRequest(c, "fileUrl is not a temporary upload location with a committed file")
			return
		}
		file, fromURL = blob, true
	default:
		s.badRequest(c, "an import is multipart/form-data or JSON with a fileUrl, not %q", mt)
		return
	}

	job := &importJob{mode: mode, skipReport: q.Get("skipReport") == "true",
		info: ImportInfo{ID: NewGUID(), WorkspaceID: c.ws.ID, Name: name, Size: file.size, SHA256: file.sum, FromURL: fromURL, State: powerbi.ImportStatePublishing}}
	job.code, job.errMsg = checkImportFile(name, file.magic)
	s.mu.Lock()
	s.imports = append(s.imports, job)
	s.mu.Unlock()
	writeJSON(c.w, http.StatusAccepted, map[string]string{"id": job.info.ID})
}

// checkImportFile refuses a file that is not of the kind its name says.
func checkImportFile(name string, magic []byte) (code, msg string) {
	zip := bytes.HasPrefix(magic, []byte("PK\x03\x04"))
	switch ext := strings.ToLower(path.Ext(name)); {
	case ext == ".pbix" || ext == ".xlsx":
		if !zip {
			return "PackageNotValid", "the file is not a valid " + ext + " package"
		}
	case ext == ".rdl":
		if !bytes.HasPrefix(bytes.TrimLeft(magic, "\xef\xbb\xbf \r\n\t"), []byte("<")) {
			return "RdlNotValid", "the file is not a report definition (RDL)"
		}
	case strings.EqualFold(name, "model.json"):
		if !bytes.HasPrefix(bytes.TrimLeft(magic, " \r\n\t"), []byte("{")) {
			return "ModelNotValid", "model.json is not a dataflow definition"
		}
	default:
		return "UnsupportedFileType", fmt.Sprintf("%q names no supported file type (.pbix, .rdl, .xlsx, model.json)", name)
	}
	return "", ""
}

// getImport is GET .../imports/{import}: Publishing on the first request,
// then the outcome.
func (s *Server) getImport(c *call) {
	s.mu.Lock()
	i := slices.IndexFunc(s.imports, func(j *importJob) bool {
		return strings.EqualFold(j.info.ID, c.r.PathValue("import")) && j.info.WorkspaceID == c.ws.ID
	})
	if i < 0 {
		s.mu.Unlock()
		s.notFound(c)
		return
	}
	j := s.imports[i]
	j.polls++
	if j.info.State == powerbi.ImportStatePublishing && j.polls > 1 {
		s.finishImportLocked(j)
	}
	out := j.result
	out.ID, out.Name, out.ImportState = j.info.ID, j.info.Name, j.info.State
	s.mu.Unlock()
	writeJSON(c.w, http.StatusOK, out)
}

// finishImportLocked ends an import: Failed for a bad file or a name
// conflict the mode refuses, else the dataset and report it makes (or
// replaces).
func (s *Server) finishImportLocked(j *importJob) {
	now := s.nowLocked()
	j.result.CreatedDateTime, j.result.UpdatedDateTime = powerbi.Timestamp{Time: now}, powerbi.Timestamp{Time: now}
	fail := func(code, msg string) {
		j.info.State = powerbi.ImportStateFailed
		j.result.Error = &powerbi.ImportError{Code: code, Details: []powerbi.PowerBIAPIErrorResponseDetail{{Code: code, Message: msg}}}
	}
	if j.code != "" {
		fail(j.code, j.errMsg)
		return
	}
	itemName := strings.TrimSuffix(j.info.Name, path.Ext(j.info.Name))
	var existing *dataset
	for _, d := range s.datasets {
		if d.workspaceID == j.info.WorkspaceID && d.Name == itemName {
			existing = d
			break
		}
	}
	mode, skipReport := j.mode, j.skipReport
	switch {
	case mode == powerbi.ImportConflictHandlerModeAbort && existing != nil:
		fail("DuplicatePackageNameAbort", fmt.Sprintf("a dataset named %q exists and nameConflict is Abort", itemName))
		return
	case mode == powerbi.ImportConflictHandlerModeOverwrite && existing == nil:
		fail("OverwriteTargetNotFound", fmt.Sprintf("nameConflict is Overwrite but no dataset named %q exists", itemName))
		return
	case mode == powerbi.ImportConflictHandlerModeGenerateUniqueName && existing != nil:
		for n := 2; ; n++ {
			candidate := fmt.Sprintf("%s (%d)", itemName, n)
			if !slices.ContainsFunc(sortedDatasets(s, j.info.WorkspaceID), func(d *dataset) bool { return d.Name == candidate }) {
				itemName, existing = candidate, nil
				break
			}
		}
	case mode == powerbi.ImportConflictHandlerModeIgnore || mode == "":
		existing = nil // Ignore: another with the same name
	}
	rdl := strings.EqualFold(path.Ext(j.info.Name), ".rdl")
	dataflow := strings.EqualFold(j.info.Name, "model.json")
	var ds powerbi.Dataset
	switch {
	case rdl, dataflow: // a paginated report has no dataset; a dataflow is neither
	case existing != nil: // Overwrite, CreateOrOverwrite: the same items, new content
		ds = existing.Dataset
	default:
		s.mu.Unlock()
		ds = s.AddDataset(j.info.WorkspaceID, powerbi.Dataset{Name: itemName})
		s.mu.Lock()
	}
	if ds.ID != "" {
		j.result.Datasets = []powerbi.Dataset{ds}
		j.info.DatasetIDs = []string{ds.ID}
	}
	if !skipReport && !dataflow {
		var rep powerbi.Report
		if existing != nil {
			for _, r := range s.reports {
				if r.workspaceID == j.info.WorkspaceID && r.DatasetID == ds.ID {
					rep = r.Report
					break
				}
			}
		}
		if rep.ID == "" {
			r := powerbi.Report{Name: itemName, DatasetID: ds.ID}
			if rdl {
				r.ReportType = powerbi.ReportTypePaginated
			}
			s.mu.Unlock()
			rep = s.AddReport(j.info.WorkspaceID, r)
			s.mu.Lock()
		}
		j.result.Reports = []powerbi.Report{rep}
		j.info.ReportIDs = []string{rep.ID}
	}
	j.info.State = powerbi.ImportStateSucceeded
}

func sortedDatasets(s *Server, workspaceID string) []*dataset {
	var out []*dataset
	for _, d := range s.datasets {
		if d.workspaceID == workspaceID {
			out = append(out, d)
		}
	}
	return out
}

// blob is a temporary upload location: its blocks as they came (size and
// hash only), and what was committed.
type blob struct {
	sig       string
	expires   time.Time
	blocks    map[string]received // by block ID
	committed *received
}

// createUploadLocation is POST .../imports/createTemporaryUploadLocation: a
// blob URL with a shared access signature, valid for an hour.
func (s *Server) createUploadLocation(c *call) {
	id, sig := NewGUID(), randomHex(16)
	s.mu.Lock()
	exp := s.nowLocked().Add(time.Hour)
	s.blobs[id] = &blob{sig: sig, expires: exp, blocks: map[string]received{}}
	s.mu.Unlock()
	u := "https://" + c.r.Host + "/blob/uploads/" + id + "?sv=2021-12-02&sr=b&sp=rw&se=" + url.QueryEscape(exp.Format(time.RFC3339)) + "&sig=" + sig
	writeJSON(c.w, http.StatusOK, map[string]string{"url": u, "expirationTime": exp.Format(time.RFC3339)})
}

// putBlob is Azure Storage's Put Block and Put Block List on a temporary
// upload location, with its signature checked as Storage does. A request
// with an Authorization header is refused: the signature is the credential,
// and a bearer token has no business there.
func (s *Server) putBlob(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	b := s.blobs[r.PathValue("blob")]
	s.mu.Unlock()
	storageError := func(status int, code, msg string) {
		w.Header().Set("Content-Type", "application/xml")
		w.Header().Set("x-ms-error-code", code)
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, code, msg)
	}
	switch {
	case b == nil:
		storageError(http.StatusNotFound, "ResourceNotFound", "The specified resource does not exist.")
		return
	case subtle.ConstantTimeCompare([]byte(q.Get("sig")), []byte(b.sig)) != 1 || !s.Now().Before(b.expires):
		storageError(http.StatusForbidden, "AuthenticationFailed", "Server failed to authenticate the request.")
		return
	case r.Header.Get("Authorization") != "":
		storageError(http.StatusBadRequest, "InvalidAuthenticationInfo", "Authentication information is not given in the correct format.")
		return
	case r.Header.Get("x-ms-version") == "":
		storageError(http.StatusBadRequest, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified.")
		return
	}
	switch q.Get("comp") {
	case "block":
		id := q.Get("blockid")
		if id == "" {
			storageError(http.StatusBadRequest, "InvalidQueryParameterValue", "blockid is required.")
			return
		}
		got, err := readFile(r.Body, sha256.New())
		if err != nil {
			storageError(http.StatusBadRequest, "InvalidInput", "The block could not be read.")
			return
		}
		s.mu.Lock()
		b.blocks[id] = got
		s.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	case "blocklist":
		var list struct {
			Latest []string `xml:"Latest"`
		}
		if err := xml.NewDecoder(io.LimitReader(r.Body, 8<<20)).Decode(&list); err != nil || len(list.Latest) == 0 {
			storageError(http.StatusBadRequest, "InvalidBlockList", "The specified block list is invalid.")
			return
		}
		s.mu.Lock()
		all := sha256.New()
		var total received
		for i, id := range list.Latest {
			blk, ok := b.blocks[id]
			if !ok {
				s.mu.Unlock()
				storageError(http.StatusBadRequest, "InvalidBlockList", "The specified block list is invalid.")
				return
			}
			if i == 0 {
				total.magic = blk.magic
			}
			total.size += blk.size
			all.Write([]byte(blk.sum))
		}
		total.sum = hex.EncodeToString(all.Sum(nil))
		b.committed = &total
		s.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	default:
		storageError(http.StatusBadRequest, "InvalidQueryParameterValue", "comp must be block or blocklist.")
	}
}

// committedBlob finds the file committed at a temporary upload location URL.
func (s *Server) committedBlob(raw string) (received, bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return received{}, false
	}
	id, ok := strings.CutPrefix(u.Path, "/blob/uploads/")
	if !ok {
		return received{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.blobs[id]
	if b == nil || b.committed == nil || u.Query().Get("sig") != b.sig {
		return received{}, false
	}
	return *b.committed, true
}
