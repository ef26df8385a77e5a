package godebug_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"

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
