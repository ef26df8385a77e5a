package godebug_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/internal/godebug"
)

func TestMain(m *testing.M) {
	godebug.Main(m, godebug.XConnect, (*testing.M).Run)
}

// The re-executed binary, the one that runs the tests, has the setting in
// its environment from the start.
func TestMainReexecutesWithSetting(t *testing.T) {
	assert.True(t, godebug.Has(godebug.XConnect), "GODEBUG=%q", os.Getenv("GODEBUG"))
}

// A test run by RunWithout sees no setting, and knows why.
func TestRunWithout(t *testing.T) {
	out, err := godebug.RunWithout(godebug.XConnect, "TestWithoutChild")
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "--- PASS: TestWithoutChild")
}

func TestWithoutChild(t *testing.T) {
	if !godebug.Without(godebug.XConnect) {
		t.Skip("runs in the process TestRunWithout starts")
	}
	assert.False(t, godebug.Has(godebug.XConnect), "GODEBUG=%q", os.Getenv("GODEBUG"))
}

func TestHas(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want bool
	}{
		{"", false},
		{"http2xconnect=1", true},
		{"http2debug=1, http2xconnect=1", true},
		{"http2xconnect=0", false},
		{"xhttp2xconnect=1", false},
	} {
		t.Setenv("GODEBUG", tc.env)
		assert.Equal(t, tc.want, godebug.Has(godebug.XConnect), "GODEBUG=%q", tc.env)
	}
}
