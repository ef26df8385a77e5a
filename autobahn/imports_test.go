package autobahn_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The suite must not share code with the library it tests: a bug in
// duplex's codec or handshake would otherwise grade itself.
func TestSuiteImportsNoLibraryPackage(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "duplex/autobahn", "duplex/cmd/autobahn").Output()
	require.NoError(t, err)
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "duplex/autobahn")
	for _, d := range deps {
		if strings.HasPrefix(d, "duplex/") {
			assert.Contains(t, []string{"duplex/autobahn", "duplex/cmd/autobahn"}, d, "the suite imports %s", d)
		}
	}
}
