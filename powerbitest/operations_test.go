package powerbitest

import (
	"fmt"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopowerbi/powerbi/internal/spec"
)

// Every operation of the contract is recognised from its method and path,
// whatever its parameters: the most specific route wins
// (groups/{groupId}/datasets/upstreamDataflows is not a dataset ID).
func TestEveryOperationIsRecognised(t *testing.T) {
	sw, err := spec.Load()
	require.NoError(t, err)
	param := regexp.MustCompile(`\{[^}]+\}`)
	for i, op := range sw.Operations {
		n := 0
		path := param.ReplaceAllStringFunc(op.Path, func(string) string {
			n++
			return url.PathEscape(fmt.Sprintf("%08x-0000-4000-8000-%012d", i, n))
		})
		r := httptest.NewRequest(op.Method, path, nil)
		got := operationOf(r)
		if assert.NotNil(t, got, "%s %s", op.Method, path) {
			assert.Equal(t, op.ID, got.ID, "%s %s", op.Method, path)
		}
	}
}
