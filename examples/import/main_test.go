package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopowerbi/powerbi/examples/internal/exampletest"
)

// The example imports a generated .pbix, and a file from disk, on the fake
// and prints the dataset and report the imports made.
func TestImportRunsOnTheFake(t *testing.T) {
	bin := exampletest.Build(t)
	dir := t.TempDir()
	out, _ := exampletest.Run(t, bin, dir)
	t.Log(out)
	for _, want := range []string{"built-in fake", `Importing "Imported sales.pbix"`, "Publishing", "Succeeded", `dataset "Imported sales"`, `report  "Imported sales"`} {
		assert.Contains(t, out, want)
	}

	file := filepath.Join(dir, "Budget 2027.pbix")
	require.NoError(t, os.WriteFile(file, append([]byte("PK\x03\x04"), make([]byte, 10000)...), 0o600))
	out, _ = exampletest.Run(t, bin, dir, "-file", file, "-conflict", "GenerateUniqueName")
	assert.Contains(t, out, `dataset "Budget 2027"`)
}
