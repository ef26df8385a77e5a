package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/autobahn"
)

func TestRunRejectsBadArguments(t *testing.T) {
	var out bytes.Buffer
	require.ErrorIs(t, run(context.Background(), []string{"-cases", "99.*"}, &out), autobahn.ErrNoCases)
	require.Error(t, run(context.Background(), []string{"-mode", "nonsense"}, &out))
	require.Error(t, run(context.Background(), []string{"-url", "http://127.0.0.1:1/"}, &out))
}

// Against an address where nothing listens, every case fails and the
// reports say so; -strict turns that into errNotStrict.
func TestRunFuzzingclientWritesReports(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	dir := t.TempDir()
	var out bytes.Buffer
	err = run(context.Background(), []string{"-url", "ws://" + addr, "-agent", "nobody", "-cases", "1.1.1,2.*", "-exclude", "2.1*", "-out", dir, "-strict", "-q"}, &out)
	require.ErrorIs(t, err, errNotStrict)
	assert.Contains(t, out.String(), "9 of 9 cases did not pass strictly")

	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	require.NoError(t, err)
	var idx map[string]map[string]autobahn.IndexEntry
	require.NoError(t, json.Unmarshal(b, &idx))
	require.Len(t, idx["nobody"], 9, "1.1.1 and 2.2-2.9")
	assert.Equal(t, autobahn.Failed, idx["nobody"]["1.1.1"].Behavior)
	for _, f := range []string{"summary.md", "index.html", "nobody_case_2_9.json"} {
		_, err := os.Stat(filepath.Join(dir, f))
		assert.NoError(t, err, f)
	}
}
