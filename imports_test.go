package powerbi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopowerbi/powerbi"
	"github.com/gopowerbi/powerbi/powerbitest"
)

var fastImportPolls = &powerbi.WaitOptions[powerbi.Import]{Frequency: time.Millisecond}

// pbix is a file that starts as a .pbix (a zip) does, of n bytes.
func pbix(n int) []byte {
	b := bytes.Repeat([]byte("powerbitest pbix content "), n/25+1)[:n]
	copy(b, "PK\x03\x04")
	return b
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (e *e2e) imports(t *testing.T) []powerbitest.ImportInfo {
	t.Helper()
	return e.srv.Imports()
}

func (e *e2e) posts(path string) int {
	n := 0
	for _, r := range e.srv.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, path) {
			n++
		}
	}
	return n
}

// A .pbix of known size goes up as a multipart form, streamed; the import
// creates a dataset and a report named after it.
func TestImportPBIX(t *testing.T) {
	e := newE2E(t)
	c := e.demoClient(t)
	ctx := context.Background()
	file := pbix(3 << 20)
	p, err := c.Imports.BeginPostImportInGroup(ctx, e.demo.WorkspaceID, "Quarterly.pbix", bytes.NewReader(file), nil)
	require.NoError(t, err)
	im, err := p.Wait(ctx, fastImportPolls)
	require.NoError(t, err)
	assert.Equal(t, powerbi.ImportStateSucceeded, im.ImportState)
	require.Len(t, im.Datasets, 1)
	require.Len(t, im.Reports, 1)
	assert.Equal(t, "Quarterly", im.Datasets[0].Name)
	assert.Equal(t, im.Datasets[0].ID, im.Reports[0].DatasetID)
	got := e.imports(t)
	require.Len(t, got, 1)
	assert.EqualValues(t, len(file), got[0].Size)
	assert.Equal(t, sha(file), got[0].SHA256, "the bytes arrived as they are")
	assert.False(t, got[0].FromURL)

	report, err := c.Reports.GetReportInGroup(ctx, e.demo.WorkspaceID, im.Reports[0].ID)
	require.NoError(t, err)
	assert.Equal(t, "Quarterly", report.Name)

	resumed, err := c.Imports.ResumeImportInGroup(e.demo.WorkspaceID, p.ID())
	require.NoError(t, err)
	again, err := resumed.Wait(ctx, fastImportPolls)
	require.NoError(t, err)
	assert.Equal(t, im.Reports[0].ID, again.Reports[0].ID)
}

// After a 429 the import is sent again, the same bytes from the start of a
// reader that seeks back; after a 503 it is not sent again (the service may
// have started the import: exactly one exists).
func TestImportRetrySafety(t *testing.T) {
	e := newE2E(t)
	c := e.demoClient(t)
	ctx := context.Background()
	file := pbix(1 << 20)
	e.srv.InjectFault(powerbitest.Fault{Method: "POST", PathContains: "/imports", Status: 429, RetryAfter: "0"})
	r := bytes.NewReader(file)
	p, err := c.Imports.BeginPostImportInGroup(ctx, e.demo.WorkspaceID, "Replayed.pbix", r, nil)
	require.NoError(t, err)
	_, err = p.Wait(ctx, fastImportPolls)
	require.NoError(t, err)
	assert.Equal(t, 2, e.posts("/imports"), "sent again after the 429")
	got := e.imports(t)
	require.Len(t, got, 1)
	assert.Equal(t, sha(file), got[0].SHA256, "identical bytes the second time")

	e.srv.InjectFault(powerbitest.Fault{Method: "POST", PathContains: "/imports", Status: 503, AfterWork: true})
	_, err = c.Imports.BeginPostImportInGroup(ctx, e.demo.WorkspaceID, "Once.pbix", bytes.NewReader(file), nil)
	var apiErr *powerbi.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 503, apiErr.StatusCode)
	assert.Equal(t, 1, apiErr.Attempts, "not sent again after a 5xx")
	assert.Equal(t, 3, e.posts("/imports"))
	once := 0
	for _, im := range e.imports(t) {
		if im.Name == "Once.pbix" {
			once++
		}
	}
	assert.Equal(t, 1, once, "one import exists, from the one request")

	// A reader that cannot seek back is not sent again, even after a 429.
	e.srv.InjectFault(powerbitest.Fault{Method: "POST", PathContains: "/imports", Status: 429, RetryAfter: "0"})
	_, err = c.Imports.BeginPostImportInGroup(ctx, e.demo.WorkspaceID, "Stream.pbix", bytes.NewBuffer(file), nil)
	require.ErrorIs(t, err, powerbi.ErrThrottled, "%v", err)
	assert.Equal(t, 4, e.posts("/imports"))
}

// A file that is not what its name says fails the import with the
// service's code; name conflicts follow the mode; an .rdl is a paginated
// report; skipReport imports the dataset alone.
func TestImportOutcomes(t *testing.T) {
	e := newE2E(t)
	c := e.demoClient(t)
	ctx := context.Background()
	wait := func(name string, file []byte, opts *powerbi.PostImportInGroupOptions) (*powerbi.Import, error) {
		t.Helper()
		p, err := c.Imports.BeginPostImportInGroup(ctx, e.demo.WorkspaceID, name, bytes.NewReader(file), opts)
		require.NoError(t, err)
		return p.Wait(ctx, fastImportPolls)
	}

	_, err := wait("Broken.pbix", []byte("this is not a zip"), nil)
	require.ErrorIs(t, err, powerbi.ErrOperationFailed)
	var opErr *powerbi.OperationError
	require.ErrorAs(t, err, &opErr)
	assert.Equal(t, "import", opErr.Operation)
	assert.Equal(t, "PackageNotValid", opErr.Code)
	assert.Contains(t, err.Error(), "not a valid .pbix")

	first, err := wait("Sales.pbix", pbix(1000), nil) // the demo's dataset is named Sales
	require.NoError(t, err)
	assert.NotEqual(t, e.demo.DatasetID, first.Datasets[0].ID, "Ignore (the default): another dataset with the same name")

	_, err = wait("Sales.pbix", pbix(1000), &powerbi.PostImportInGroupOptions{NameConflict: powerbi.ImportConflictHandlerModeAbort})
	require.ErrorIs(t, err, powerbi.ErrOperationFailed)

	over, err := wait("Sales overview data.pbix", pbix(1000), nil)
	require.NoError(t, err)
	again, err := wait("Sales overview data.pbix", pbix(2000), &powerbi.PostImportInGroupOptions{NameConflict: powerbi.ImportConflictHandlerModeOverwrite})
	require.NoError(t, err)
	assert.Equal(t, over.Datasets[0].ID, again.Datasets[0].ID, "Overwrite keeps the dataset")
	assert.Equal(t, over.Reports[0].ID, again.Reports[0].ID, "and its report")

	_, err = wait("Nothing here.pbix", pbix(1000), &powerbi.PostImportInGroupOptions{NameConflict: powerbi.ImportConflictHandlerModeOverwrite})
	require.ErrorIs(t, err, powerbi.ErrOperationFailed, "Overwrite with nothing to overwrite")

	unique, err := wait("Sales overview data.pbix", pbix(1000), &powerbi.PostImportInGroupOptions{NameConflict: powerbi.ImportConflictHandlerModeGenerateUniqueName})
	require.NoError(t, err)
	assert.Equal(t, "Sales overview data (2)", unique.Datasets[0].Name)

	alone, err := wait("Model only.pbix", pbix(1000), &powerbi.PostImportInGroupOptions{SkipReport: true})
	require.NoError(t, err)
	assert.Len(t, alone.Datasets, 1)
	assert.Empty(t, alone.Reports)

	rdl, err := wait("Invoice.rdl", []byte(`<?xml version="1.0"?><Report/>`), nil)
	require.NoError(t, err)
	require.Len(t, rdl.Reports, 1)
	assert.Equal(t, powerbi.ReportTypePaginated, rdl.Reports[0].ReportType)
	assert.Empty(t, rdl.Datasets)

	flow, err := wait("model.json", []byte(`{"name":"Sales dataflow","version":"1.0","entities":[]}`), nil)
	require.NoError(t, err, "a dataflow's definition")
	assert.Empty(t, flow.Datasets)
	assert.Empty(t, flow.Reports)
	_, err = wait("model.json", []byte(`<not json>`), nil)
	require.ErrorIs(t, err, powerbi.ErrOperationFailed)
	book, err := wait("Budget.xlsx", pbix(500), nil)
	require.NoError(t, err, "a workbook is a zip too")
	assert.Len(t, book.Datasets, 1)

	// Refused before anything is sent.
	before := e.posts("/imports")
	_, err = c.Imports.BeginPostImportInGroup(ctx, e.demo.WorkspaceID, "Empty.pbix", bytes.NewReader(nil), nil)
	assert.ErrorIs(t, err, powerbi.ErrInvalidArgument)
	_, err = c.Imports.BeginPostImportInGroup(ctx, e.demo.WorkspaceID, "Empty.pbix", io.MultiReader(), nil)
	assert.ErrorIs(t, err, powerbi.ErrInvalidArgument, "an empty stream of unknown size")
	_, err = c.Imports.BeginPostImportInGroup(ctx, e.demo.WorkspaceID, "", bytes.NewReader(pbix(10)), nil)
	assert.ErrorIs(t, err, powerbi.ErrInvalidArgument)
	_, err = c.Imports.BeginPostImportInGroup(ctx, e.demo.WorkspaceID, "Nil.pbix", nil, nil)
	assert.ErrorIs(t, err, powerbi.ErrInvalidArgument)
	assert.Equal(t, before, e.posts("/imports"))
	assert.Zero(t, e.posts("/createTemporaryUploadLocation"))
}

// alphabet repeats the letters: a stream made of it is made by copies.
var alphabet = bytes.Repeat([]byte("abcdefghijklmnopqrstuvwxyz"), 1024)

// generated is a .pbix-shaped stream of n bytes made as it is read; it
// samples the heap every 64 MiB.
type generated struct {
	n, read int64
	heapPeak
}

func (g *generated) Read(p []byte) (int, error) {
	if g.read >= g.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), g.n-g.read)]
	for i := 0; i < len(p); {
		off := (g.read + int64(i)) % 26
		i += copy(p[i:], alphabet[off:])
	}
	if g.read == 0 && len(p) >= 4 {
		copy(p, "PK\x03\x04")
	}
	g.read += int64(len(p))
	g.at(g.read)
	return len(p), nil
}

// A 2 GB stream (of a size nobody can tell in advance) goes through a
// temporary upload location in blocks, with flat memory, and no bearer token
// reaches the blob; a block that fails is sent again on its own.
func TestImportLargeFileThroughTemporaryLocation(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 2 GB")
	}
	e := newE2E(t)
	c := e.demoClient(t)
	ctx := context.Background()
	e.srv.InjectFault(powerbitest.Fault{Method: "PUT", PathContains: "/blob/", Status: 503, Times: 1})
	const size = 2 << 30
	g := &generated{n: size, heapPeak: heapPeak{every: 64 << 20}}
	before := heapInuse()
	p, err := c.Imports.BeginPostImportInGroup(ctx, e.demo.WorkspaceID, "Big.pbix", g, nil)
	require.NoError(t, err)
	growth := int64(g.maxHeap) - int64(before)
	t.Logf("2 GB import uploaded: heap in use before %d KiB, at most %d KiB during (growth %d KiB)", before>>10, g.maxHeap>>10, growth>>10)
	assert.Less(t, growth, int64(64<<20), "streamed in blocks, not held")
	im, err := p.Wait(ctx, fastImportPolls)
	require.NoError(t, err)
	assert.Equal(t, "Big", im.Datasets[0].Name)

	got := e.imports(t)
	require.Len(t, got, 1)
	assert.True(t, got[0].FromURL)
	assert.EqualValues(t, size, got[0].Size)
	blobPuts := 0
	for _, r := range e.srv.Requests() {
		if strings.HasPrefix(r.Path, "/blob/") {
			blobPuts++
			assert.Empty(t, r.Header.Get("Authorization"), "no bearer token to the blob host")
		}
	}
	assert.Equal(t, size/(8<<20)+1+1, blobPuts, "every block once, the failed one twice, then the block list")
	assert.Equal(t, 1, e.posts("/createTemporaryUploadLocation"))
}
