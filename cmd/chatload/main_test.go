package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The server child is this test binary, run again with serveEnv set.
	if os.Getenv(serveEnv) != "" {
		if err := serveChild(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// TestSmallRun runs the benchmark small (20 clients, 2 s) against a server it starts and checks that the
// figures add up: every acked message reached all 20 members, each latency is positive, and the
// server's memory was read.
func TestSmallRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	res, err := run(ctx, []string{"-clients", "20", "-interval", "200ms", "-duration", "2s"}, &out)
	require.NoError(t, err)
	t.Log("\n" + out.String())
	assert.Equal(t, 20, res.Clients)
	assert.Positive(t, res.Acked, "messages were sent and acked")
	assert.LessOrEqual(t, res.Acked, res.Sent)
	assert.Equal(t, res.Acked*20, res.Expected)
	assert.Equal(t, res.Expected, res.Got, "every acked message reached every member")
	assert.Positive(t, res.P50)
	assert.LessOrEqual(t, res.P50, res.P99)
	assert.LessOrEqual(t, res.P99, res.PMax)
	assert.Positive(t, res.RSSBeforeKiB)
	assert.Positive(t, res.RSSJoinedKiB)
	assert.Positive(t, res.SendWrites, "the server wrote what it delivered")
	assert.Contains(t, out.String(), "delivered          ")
}

func TestFlagsBoundTheRun(t *testing.T) {
	for _, args := range [][]string{
		{"-clients", "0"},
		{"-clients", "10001"},
		{"-duration", "1h"},
		{"-duration", "0s"},
		{"-interval", "0s"},
		{"-addr", "example.com:80"},
		{"-addr", "10.0.0.1:8080"},
		{"-addr", "nonsense"},
		{"-presence-batch", "-1"},
	} {
		_, err := parseFlags(args, &bytes.Buffer{})
		assert.Error(t, err, "%q", args)
	}
	o, err := parseFlags([]string{"-addr", "127.0.0.1:8080"}, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, 100, o.clients)
}
