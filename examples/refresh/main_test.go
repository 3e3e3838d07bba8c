package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gopowerbi/powerbi/examples/internal/exampletest"
)

// The example refreshes the demo report's dataset on the fake, plain and
// enhanced, and follows each refresh to Completed.
func TestRefreshRunsOnTheFake(t *testing.T) {
	bin := exampletest.Build(t)
	for _, args := range [][]string{nil, {"-type", "Full"}} {
		out, _ := exampletest.Run(t, bin, t.TempDir(), args...)
		t.Log(out)
		for _, want := range []string{"built-in fake", "Refreshing dataset", "started", "InProgress", ": Completed in"} {
			assert.Contains(t, out, want)
		}
	}
}
