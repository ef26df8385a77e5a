package importgraph_test

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// pkg is the part of `go list -json` output the rules need.
type pkg struct {
	ImportPath string
	Standard   bool
	Imports    []string
}

// listPackages returns every package of the module, without tests.
func listPackages(t *testing.T) map[string]pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", "duplex/...")
	out, err := cmd.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		t.Fatalf("go list: %v\n%s", err, ee.Stderr)
	}
	require.NoError(t, err)
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else {
			require.NoError(t, err)
		}
		pkgs[p.ImportPath] = p
	}
	require.Contains(t, pkgs, "duplex/frame", "go list must see the module's packages")
	return pkgs
}

// under reports whether path is dir or inside it.
func under(path, dir string) bool { return path == dir || strings.HasPrefix(path, dir+"/") }

// TestImportGraph checks the direct imports of every package against the
// layering: a lower package never imports a higher one, the frame codec
// needs nothing but the standard library, and the conformance suite
// imports none of the packages it judges (a bug there could hide itself).
func TestImportGraph(t *testing.T) {
	pkgs := listPackages(t)
	// allowed lists, per layer, the duplex packages it may import.
	allowed := map[string][]string{
		"duplex/frame":     {},
		"duplex/handshake": {"duplex/frame", "duplex/internal"},
		"duplex/internal":  {"duplex/internal"},
		"duplex/conn":      {"duplex/frame", "duplex/handshake", "duplex/internal"},
		"duplex/chat":      {"duplex/frame", "duplex/conn", "duplex/chat/broker"},
		// The NATS layer deals in rooms, ids and bytes, so the chat can be wired onto it (and it
		// tested) without any WebSocket code.
		"duplex/chat/broker":  {},
		"duplex/autobahn":     {},
		"duplex/fuzz":         {"duplex/frame", "duplex/handshake", "duplex/conn"},
		"duplex/cmd/autobahn": {"duplex/autobahn"},
		// The server the suite's HTTP/2 test runs as a separate process, as
		// it runs cmd/wsecho: a peer under test, not part of the suite.
		"duplex/autobahn/internal/h2echo": {"duplex/conn", "duplex/internal"},
		// internal/godebug: cmd/chat starts itself again with the GODEBUG HTTP/2 WebSockets need.
		"duplex/cmd": {"duplex/frame", "duplex/handshake", "duplex/conn", "duplex/chat", "duplex/chat/broker", "duplex/internal"},
	}
	for path, p := range pkgs {
		layer := ""
		for l := range allowed {
			if under(path, l) && len(l) > len(layer) {
				layer = l
			}
		}
		require.NotEmpty(t, layer, "package %s belongs to no layer: add it to the rules", path)
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, "duplex/") {
				if path == "duplex/frame" || under(path, "duplex/internal") {
					std := !strings.Contains(strings.Split(imp, "/")[0], ".")
					// The codec of permessage-deflate is klauspost/compress's.
					codec := under(path, "duplex/internal/deflate") && under(imp, "github.com/klauspost/compress")
					require.True(t, std || codec, "%s imports %s: only the standard library is allowed there", path, imp)
				}
				continue
			}
			ok := under(imp, layer) && layer != "duplex/cmd" && layer != "duplex/cmd/autobahn"
			for _, a := range allowed[layer] {
				ok = ok || under(imp, a)
			}
			require.True(t, ok, "%s imports %s, which its layer (%s) may not", path, imp, layer)
		}
	}
}
