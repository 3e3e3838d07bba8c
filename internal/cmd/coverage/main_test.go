package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Every operation has a method, and the README's table says so as this
// program counts it today.
func TestEveryOperationHasAMethodAndTheReadmeSaysSo(t *testing.T) {
	var summary, table bytes.Buffer
	require.NoError(t, run(&summary, "../../..", false))
	assert.Contains(t, summary.String(), "259 of 259 non-preview operations have a method")
	assert.Contains(t, summary.String(), "28 of 28 preview operations")
	require.NoError(t, run(&table, "../../..", true))
	readme, err := os.ReadFile("../../../README.md")
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(readme), table.String()), "README.md's table differs from go run ./internal/cmd/coverage -markdown:\n%s", table.String())
}
