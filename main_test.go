package powerbi

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: a refresh, a
// retry timer, a connection or a server that outlives its call.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
