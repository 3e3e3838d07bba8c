package powerbi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"

	"github.com/hashicorp/go-retryablehttp"
)

// Importing a file (.pbix, .rdl, .xlsx, a dataflow's model.json) is a
// multipart upload that answers 202 and an import that runs at the service;
// a file over 1 GB goes to a temporary blob first. These methods do either
// and return a poller of the import.

const (
	// largeImport is the size above which a file is uploaded to a temporary
	// location instead of in the import request (the service's limit for
	// the multipart form).
	largeImport = 1 << 30
	// blobBlock is the size of one block of an upload to a temporary
	// location: the memory an upload holds, and what one retry re-sends.
	blobBlock = 8 << 20
	// blobVersion is the Azure Storage REST version of the block upload.
	blobVersion = "2021-12-02"
)

// BeginPostImport imports a file into your My workspace (see
// BeginPostImportInGroup).
func (s *ImportsService) BeginPostImport(ctx context.Context, datasetDisplayName string, file io.Reader, opts *PostImportOptions) (*Poller[Import], error) {
	q, err := queryOf(opts, "datasetDisplayName", datasetDisplayName)
	if err != nil {
		return nil, err
	}
	return s.beginImport(ctx, "", q, datasetDisplayName, file, func(ctx context.Context, fileURL string) (*Import, error) {
		return s.PostImport(ctx, datasetDisplayName, ImportInfo{FileURL: fileURL}, opts)
	})
}

// BeginPostImportInGroup imports a file into a workspace and returns a
// poller of the import, whose ID is the import's. datasetDisplayName names
// the result and, by its extension, the kind of file: "Sales.pbix",
// "Invoice.rdl", "Book.xlsx", or "model.json" for a dataflow; opts holds the
// name-conflict mode (Ignore, Abort, Overwrite, CreateOrOverwrite,
// GenerateUniqueName) and skipReport.
//
// The file is streamed, never held in memory whole. A file of known size up
// to 1 GB (an *os.File, a *bytes.Reader, anything with Seek or Len) goes in
// the import request as multipart/form-data; a larger one, or one whose size
// cannot be told, is uploaded in 8 MiB blocks to a temporary location the
// service creates (no bearer token goes to it; each block is retried on its
// own), then imported from there. The import request is sent once: after a
// 429 it is sent again only if file can seek back to where it started, and
// never after a 5xx or a response cut short, which may have started the
// import already.
func (s *ImportsService) BeginPostImportInGroup(ctx context.Context, groupID, datasetDisplayName string, file io.Reader, opts *PostImportInGroupOptions) (*Poller[Import], error) {
	if err := checkGUIDs("groupID", groupID); err != nil {
		return nil, err
	}
	q, err := queryOf(opts, "datasetDisplayName", datasetDisplayName)
	if err != nil {
		return nil, err
	}
	return s.beginImport(ctx, groupID, q, datasetDisplayName, file, func(ctx context.Context, fileURL string) (*Import, error) {
		return s.PostImportInGroup(ctx, groupID, datasetDisplayName, ImportInfo{FileURL: fileURL}, opts)
	})
}

// ResumeImport rebuilds the poller of an import into your My workspace,
// from its ID (Poller.ID), without sending anything.
func (s *ImportsService) ResumeImport(importID string) (*Poller[Import], error) {
	return s.importPoller("", importID)
}

// ResumeImportInGroup rebuilds the poller of an import into a workspace,
// from its ID (Poller.ID), without sending anything.
func (s *ImportsService) ResumeImportInGroup(groupID, importID string) (*Poller[Import], error) {
	if err := checkGUIDs("groupID", groupID); err != nil {
		return nil, err
	}
	return s.importPoller(groupID, importID)
}

func (s *ImportsService) importPoller(groupID, importID string) (*Poller[Import], error) {
	if err := checkGUID("importID", importID); err != nil {
		return nil, err
	}
	path := "imports/" + importID
	if groupID != "" {
		path = "groups/" + groupID + "/" + path
	}
	return newPoller(s.client, "import", importID, pollJSON[Import](s.client, Request{Operation: inGroupOp("Imports_GetImport", path), Method: http.MethodGet, Path: path}), importState), nil
}

func importState(im *Import) (bool, *OperationError) {
	switch im.ImportState {
	case ImportStateSucceeded:
		return true, nil
	case ImportStateFailed:
		e := &OperationError{Status: string(im.ImportState)}
		if im.Error != nil {
			e.Code = im.Error.Code
			var msgs []string
			for _, d := range im.Error.Details {
				msgs = append(msgs, strings.TrimSpace(d.Code+": "+d.Message))
			}
			e.Message = strings.Join(msgs, "; ")
		}
		return true, e
	}
	return false, nil
}

// beginImport sends file in the import request, or through a temporary
// location when it is large or of unknown size, and returns the poller.
func (s *ImportsService) beginImport(ctx context.Context, groupID, query, name string, file io.Reader, fromURL func(context.Context, string) (*Import, error)) (*Poller[Import], error) {
	if file == nil {
		return nil, invalid("file", "is nil")
	}
	if name == "" {
		return nil, invalid("datasetDisplayName", "is empty")
	}
	size, seeker, start, err := sizeOf(file)
	if err != nil {
		return nil, err
	}
	if size == 0 {
		return nil, invalid("file", "is empty")
	}
	var im *Import
	if size > 0 && size <= largeImport {
		im, err = s.postMultipart(ctx, groupID, query, name, file, size, seeker, start)
	} else {
		im, err = s.postLarge(ctx, groupID, file, fromURL)
	}
	if err != nil {
		return nil, err
	}
	return s.importPoller(groupID, im.ID)
}

// sizeOf tells how many bytes are left in r, or -1, and whether (and from
// where) r can be read again.
func sizeOf(r io.Reader) (size int64, seeker io.Seeker, start int64, err error) {
	if sk, ok := r.(io.Seeker); ok {
		if start, err = sk.Seek(0, io.SeekCurrent); err == nil {
			var end int64
			if end, err = sk.Seek(0, io.SeekEnd); err == nil {
				_, err = sk.Seek(start, io.SeekStart)
				if err == nil {
					return end - start, sk, start, nil
				}
			}
		}
		return 0, nil, 0, fmt.Errorf("powerbi: telling the size of the file to import: %w", err)
	}
	if l, ok := r.(interface{ Len() int }); ok {
		return int64(l.Len()), nil, 0, nil
	}
	return -1, nil, 0, nil
}

// postMultipart sends the import request with file as its multipart form,
// streamed: the form's head, the file, the form's tail.
func (s *ImportsService) postMultipart(ctx context.Context, groupID, query, name string, file io.Reader, size int64, seeker io.Seeker, start int64) (*Import, error) {
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	if _, err := mw.CreateFormFile("file", name); err != nil {
		return nil, err
	}
	head := bytes.Clone(form.Bytes())
	form.Reset()
	if err := mw.Close(); err != nil {
		return nil, err
	}
	tail := bytes.Clone(form.Bytes())
	body := &multipartFile{head: head, tail: tail, file: file, size: size, seeker: seeker, start: start}
	up := &upload{
		replayable:  seeker != nil,
		length:      int64(len(head)) + size + int64(len(tail)),
		contentType: mw.FormDataContentType(),
		open:        func() (io.Reader, error) { return &attemptBody{form: body}, nil },
	}
	path := "imports"
	if groupID != "" {
		path = "groups/" + groupID + "/imports"
	}
	return callJSON[Import](ctx, s.client, &Request{Operation: inGroupOp("Imports_PostImport", path), Method: http.MethodPost, Path: path, rawQuery: query, upload: up})
}

// multipartFile is the import request's body: the form's head, the file,
// the form's tail. Each attempt reads it from the start; a file that cannot
// seek back can be read by one attempt only.
type multipartFile struct {
	head, tail []byte
	file       io.Reader
	size       int64
	seeker     io.Seeker
	start      int64
	read       bool // an attempt has started reading the file
}

func (m *multipartFile) begin() (io.Reader, error) {
	if m.read {
		if m.seeker == nil {
			return nil, errors.New("powerbi: the file cannot be read again")
		}
		if _, err := m.seeker.Seek(m.start, io.SeekStart); err != nil {
			return nil, fmt.Errorf("powerbi: seeking back to send the file again: %w", err)
		}
	}
	m.read = true
	return io.MultiReader(bytes.NewReader(m.head), io.LimitReader(m.file, m.size), bytes.NewReader(m.tail)), nil
}

// attemptBody is one attempt's body. It claims the file when it is first
// read, not when it is made: the retry loop makes one to look at before any
// attempt, and never reads it.
type attemptBody struct {
	form *multipartFile
	r    io.Reader
}

func (a *attemptBody) Read(p []byte) (int, error) {
	if a.r == nil {
		r, err := a.form.begin()
		if err != nil {
			return 0, err
		}
		a.r = r
	}
	return a.r.Read(p)
}

// postLarge uploads file to a temporary location in blocks and imports it
// from there. The first block is read before anything is sent, so an empty
// file is refused without a call.
func (s *ImportsService) postLarge(ctx context.Context, groupID string, file io.Reader, fromURL func(context.Context, string) (*Import, error)) (*Import, error) {
	buf := make([]byte, blobBlock)
	n, err := io.ReadFull(file, buf)
	switch {
	case n == 0 && (err == io.EOF || err == nil):
		return nil, invalid("file", "is empty")
	case err != nil && err != io.ErrUnexpectedEOF && err != io.EOF:
		return nil, fmt.Errorf("powerbi: reading the file to import: %w", err)
	}
	first, last := buf[:n], err != nil
	var loc *TemporaryUploadLocation
	if groupID == "" {
		loc, err = s.CreateTemporaryUploadLocation(ctx)
	} else {
		loc, err = s.CreateTemporaryUploadLocationInGroup(ctx, groupID)
	}
	if err != nil {
		return nil, err
	}
	b, err := s.client.newBlobUpload(loc.URL)
	if err != nil {
		return nil, err
	}
	for block := first; ; {
		if err := b.putBlock(ctx, block); err != nil {
			return nil, err
		}
		if last {
			break
		}
		n, err := io.ReadFull(file, buf)
		if n == 0 && err == io.EOF {
			break
		}
		if err != nil && err != io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("powerbi: reading the file to import: %w", err)
		}
		block, last = buf[:n], err != nil
	}
	if err := b.commit(ctx); err != nil {
		return nil, err
	}
	return fromURL(ctx, loc.URL)
}

// blobUpload puts blocks to a temporary location, a blob with a shared
// access signature in its URL: the SDK's transport and retry policy, never
// its bearer token, and the signature never in an error or a log line.
type blobUpload struct {
	c      *Client
	url    *url.URL
	retry  *retryablehttp.Client
	blocks []string
}

func (c *Client) newBlobUpload(raw string) (*blobUpload, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(c.allowHTTP && u.Scheme == "http")) {
		return nil, fmt.Errorf("powerbi: the temporary upload location is not an https URL: %w", ErrUnexpectedResponse)
	}
	hc := &http.Client{Transport: c.base, Timeout: c.timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
		return errors.New("a temporary upload location is not redirected")
	}}
	return &blobUpload{c: c, url: u, retry: newRetryClient(hc, c.retryPolicy)}, nil
}

func (b *blobUpload) putBlock(ctx context.Context, data []byte) error {
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return err
	}
	blockID := base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(id[:])))
	if err := b.put(ctx, "comp=block&blockid="+url.QueryEscape(blockID), "application/octet-stream", data, fmt.Sprintf("block %d", len(b.blocks))); err != nil {
		return err
	}
	b.blocks = append(b.blocks, blockID)
	return nil
}

func (b *blobUpload) commit(ctx context.Context) error {
	var x strings.Builder
	x.WriteString(`<?xml version="1.0" encoding="utf-8"?><BlockList>`)
	for _, id := range b.blocks {
		x.WriteString("<Latest>" + id + "</Latest>")
	}
	x.WriteString("</BlockList>")
	return b.put(ctx, "comp=blocklist", "application/xml", []byte(x.String()), "the block list")
}

// put sends one request to the blob, retried by the SDK's policy (a block
// is in memory: it can be sent again).
func (b *blobUpload) put(ctx context.Context, params, contentType string, body []byte, what string) error {
	u := *b.url
	u.RawQuery = strings.TrimPrefix(u.RawQuery+"&"+params, "&")
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPut, u.String(), body)
	if err != nil {
		return fmt.Errorf("powerbi: uploading %s: %w", what, err)
	}
	req.Header.Set("x-ms-version", blobVersion)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", b.c.userAgent)
	resp, err := b.retry.Do(req)
	secrets := querySecrets(b.url)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("powerbi: uploading %s to %s: %s", what, redactedURL(b.url), oneLine(err.Error(), 200, secrets...))
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("powerbi: uploading %s to %s: %s: %s", what, redactedURL(b.url), resp.Status, oneLine(snippetOf(msg), 200, secrets...))
	}
	return nil
}

// snippetOf is the readable part of a storage error: its <Message>, else the
// body as text.
func snippetOf(b []byte) string {
	s := string(b)
	if i := strings.Index(s, "<Message>"); i >= 0 {
		s = s[i+len("<Message>"):]
		if j := strings.Index(s, "</Message>"); j >= 0 {
			s = s[:j]
		}
	}
	return s
}
