package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestImportsNoWebSocketLibrary keeps the load generator neutral: its
// build imports nothing outside the standard library, so no server's
// library shapes what the generator sends or how it reads the echoes.
func TestImportsNoWebSocketLibrary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	require.NoError(t, err)
	deps := strings.Fields(string(out))
	assert.Equal(t, []string{"duplex/bench/load"}, deps)
}
