// Package exampletest builds and runs the examples in their tests, as a
// newcomer's `go run` would.
package exampletest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Build compiles the command in the current directory and returns the
// binary's path.
func Build(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), filepath.Base(mustGetwd(t)))
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

func mustGetwd(t *testing.T) string {
	wd, err := os.Getwd()
	require.NoError(t, err)
	return wd
}

// EnvWithout is the environment without any POWERBI_* variable: the
// examples then run on the fake.
func EnvWithout() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "POWERBI_") {
			env = append(env, kv)
		}
	}
	return env
}

// Run runs bin with args in dir, on the fake, and returns what it printed;
// the test fails if it does not exit 0.
func Run(t *testing.T, bin, dir string, args ...string) (stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env, cmd.Dir = EnvWithout(), dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	require.NoError(t, cmd.Run(), "stderr: %s", errOut.String())
	return out.String(), errOut.String()
}
