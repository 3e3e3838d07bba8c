package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopowerbi/powerbi/examples/internal/exampletest"
)

// The example exports the demo report to PDF on the fake, drawing its
// progress, and writes the file.
func TestExportRunsOnTheFake(t *testing.T) {
	dir := t.TempDir()
	out, _ := exampletest.Run(t, exampletest.Build(t), dir, "-format", "pdf")
	t.Log(out)
	for _, want := range []string{"built-in fake", `Exporting "Sales overview"`, "started", "100% Succeeded", "[##############################]",
		"wrote 65536 bytes (application/pdf) to Sales overview.pdf"} {
		assert.Contains(t, out, want)
	}
	assert.Contains(t, out, "\r", "the progress bar redraws in place")
	b, err := os.ReadFile(filepath.Join(dir, "Sales overview.pdf"))
	require.NoError(t, err)
	assert.Len(t, b, 65536)
	assert.True(t, strings.HasPrefix(string(b), "%PDF-"))
}
