package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitTimeout bounds correctness waits; generous for a loaded machine.
const waitTimeout = 10 * time.Second

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// quietLog discards the log output.
func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestFlags(t *testing.T) {
	f, err := parseFlags(nil, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:9001", f.addr)
	assert.Equal(t, defaultSettings(), f.settings)
	assert.Equal(t, int64(64<<20), f.readLimit, "the Autobahn suite's 16 MiB messages fit")
	assert.Zero(t, f.pingInterval, "no keepalive by default")
	assert.Equal(t, 10*time.Second, f.writeTimeout)
	assert.Equal(t, time.Minute, f.idleTimeout)
	assert.True(t, f.compress)

	f, err = parseFlags([]string{"-read-limit", "4096", "-ping-interval", "5s", "-pong-timeout", "2s",
		"-write-timeout", "0", "-idle-timeout", "3s", "-compress=false", "-client", "ws://h:1"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, settings{readLimit: 4096, pingInterval: 5 * time.Second, pongTimeout: 2 * time.Second,
		idleTimeout: 3 * time.Second}, f.settings)
	assert.Equal(t, "ws://h:1", f.client)
	o := f.connOptions()
	assert.Equal(t, int64(4096), o.ReadLimit)
	assert.Equal(t, 5*time.Second, o.PingInterval)
	assert.Equal(t, 2*time.Second, o.PongTimeout)
	assert.Zero(t, o.WriteTimeout)
	assert.Nil(t, o.Compression)

	var usage bytes.Buffer
	_, err = parseFlags([]string{"-h"}, &usage)
	require.ErrorIs(t, err, flag.ErrHelp)
	assert.Contains(t, usage.String(), "usage: wsecho")
	for _, args := range [][]string{
		{"-read-limit", "0"},
		{"-read-limit", "-1"},
		{"-ping-interval", "-1s"},
		{"-pong-timeout", "-1s"},
		{"-write-timeout", "-1s"},
		{"-idle-timeout", "0"},
		{"-nope"},
		{"extra"},
	} {
		var stderr bytes.Buffer
		_, err := parseFlags(args, &stderr)
		require.ErrorIs(t, err, errUsage, "%q", args)
		assert.Contains(t, stderr.String(), "usage: wsecho", "%q", args)
	}
}
