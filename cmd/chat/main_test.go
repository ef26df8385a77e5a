package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"duplex/chat"
	"duplex/conn"
	"duplex/frame"
	"duplex/internal/godebug"
)

// TestMain runs the tests in a process started with GODEBUG=http2xconnect=1, as the command starts
// itself for HTTP/2 (h2.go), and fails the run if a test leaves a goroutine behind. The command's
// default data directory (under XDG_STATE_HOME) is a temporary one, so tests never touch the user's.
func TestMain(m *testing.M) {
	godebug.Main(m, godebug.XConnect, func(m *testing.M) int {
		state, err := os.MkdirTemp("", "chat-state-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(state)
		os.Setenv("XDG_STATE_HOME", state)
		return godebug.Checked(func() error { return goleak.Find() })(m)
	})
}

const wait = 10 * time.Second

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRunServesAndShutsDown runs the command as main does, with a context standing for SIGTERM: a
// connected client must receive 1001 and run must return cleanly.
func TestRunServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &syncBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-log-format", "json", "-history", "0"}, logs, func(a string) { ready <- a })
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("run returned early: %v", err)
	}

	resp, err := http.Get("http://" + addr + "/healthz")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "ok\n", string(body))

	dctx, dcancel := context.WithTimeout(context.Background(), wait)
	defer dcancel()
	c, _, err := conn.Dial(dctx, "ws://"+addr+"/ws", nil)
	require.NoError(t, err)
	defer c.CloseNow()
	join, _ := json.Marshal(chat.Event{Type: chat.KindJoin, Nick: "ada"})
	require.NoError(t, c.WriteMessage(dctx, conn.MessageText, join))
	_, b, err := c.ReadMessage(dctx)
	require.NoError(t, err)
	var welcome chat.Event
	require.NoError(t, json.Unmarshal(b, &welcome))
	assert.Equal(t, chat.KindWelcome, welcome.Type)
	assert.Empty(t, welcome.History, "a new room has no history")

	// A message acked in the room, then a second member joins: with -history 0 its welcome holds none
	// of the room's events, though the room has some.
	send, _ := json.Marshal(chat.Event{Type: chat.KindSend, ID: "m1", Text: "hello"})
	require.NoError(t, c.WriteMessage(dctx, conn.MessageText, send))
	// The ack may come before the message itself, which the room records when it comes back from its
	// stream: wait for both, so the room surely holds the message when bob joins.
	for acked, heard := false, false; !acked || !heard; {
		_, b, err := c.ReadMessage(dctx)
		require.NoError(t, err)
		var ev chat.Event
		require.NoError(t, json.Unmarshal(b, &ev))
		acked = acked || ev.Type == chat.KindAck
		heard = heard || ev.Type == chat.KindMessage
	}
	c2, _, err := conn.Dial(dctx, "ws://"+addr+"/ws", nil)
	require.NoError(t, err)
	defer c2.CloseNow()
	join2, _ := json.Marshal(chat.Event{Type: chat.KindJoin, Nick: "bob"})
	require.NoError(t, c2.WriteMessage(dctx, conn.MessageText, join2))
	_, b, err = c2.ReadMessage(dctx)
	require.NoError(t, err)
	var welcome2 chat.Event
	require.NoError(t, json.Unmarshal(b, &welcome2))
	require.Equal(t, chat.KindWelcome, welcome2.Type)
	assert.NotZero(t, welcome2.Seq, "the room has recorded events")
	assert.Empty(t, welcome2.History, "-history 0 keeps none")

	cancel() // SIGTERM
	var ce conn.CloseError
	for {
		if _, _, err := c.ReadMessage(dctx); err != nil {
			require.ErrorAs(t, err, &ce)
			break
		}
	}
	assert.Equal(t, frame.CloseGoingAway, ce.Code)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(wait):
		t.Fatal("run did not return after shutdown")
	}

	// Structured logs: one JSON object per line.
	lines := bytes.Split(bytes.TrimSpace([]byte(logs.String())), []byte("\n"))
	require.NotEmpty(t, lines)
	for _, l := range lines {
		var rec map[string]any
		assert.NoError(t, json.Unmarshal(l, &rec), "log line %s", l)
	}
	assert.Contains(t, logs.String(), `"msg":"chat: stopped"`)
}

func TestFlags(t *testing.T) {
	o, err := parseFlags(nil, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "localhost:8080", o.addr, "the README's first command serves http://localhost:8080")
	assert.Empty(t, o.cfg.OriginPatterns, "same origin only by default")
	assert.False(t, o.cfg.InsecureSkipOriginCheck)
	assert.Empty(t, o.allowedHosts)
	assert.Equal(t, 30*time.Second, o.cfg.PingInterval, "keepalive on by default")
	assert.Zero(t, o.cfg.PongTimeout, "the connection's default: the interval")
	assert.Equal(t, 10*time.Second, o.cfg.WriteTimeout)
	assert.Equal(t, time.Minute, o.idleTimeout)
	assert.Equal(t, 10*time.Second, o.cfg.Grace)
	assert.Equal(t, 10000, o.cfg.MaxRoom)
	assert.Equal(t, 256<<10, o.cfg.HistoryBytes)
	assert.Equal(t, 100, o.cfg.PresenceBatch)
	assert.Equal(t, 500*time.Millisecond, o.cfg.PresenceInterval)
	assert.Empty(t, o.tlsCert, "plain http by default")

	o, err = parseFlags([]string{"-grace", "0", "-max-room", "5", "-history-bytes", "1000", "-presence-batch", "0",
		"-presence-interval", "2s"}, io.Discard)
	require.NoError(t, err)
	assert.Negative(t, o.cfg.PresenceBatch, "-presence-batch 0 means notices only, which Config spells negative")
	assert.Equal(t, 2*time.Second, o.cfg.PresenceInterval)
	assert.Negative(t, o.cfg.Grace, "-grace 0 means none, which Config spells negative")
	assert.Equal(t, 5, o.cfg.MaxRoom)
	assert.Equal(t, 1000, o.cfg.HistoryBytes)

	o, err = parseFlags([]string{"-origins", "chat.example.com, *.example.org", "-history", "0", "-rate", "2",
		"-allowed-hosts", "chat.example.com,,[::1]:8080 ", "-ping-interval", "0", "-pong-timeout", "5s",
		"-write-timeout", "3s", "-idle-timeout", "1s"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []string{"chat.example.com", "*.example.org"}, o.cfg.OriginPatterns)
	assert.Equal(t, []string{"chat.example.com", "[::1]:8080"}, o.allowedHosts)
	assert.Equal(t, -1, o.cfg.History)
	assert.Equal(t, 2.0, o.cfg.Rate)
	assert.Negative(t, o.cfg.PingInterval, "-ping-interval 0 turns keepalive off, which Config spells negative")
	assert.Equal(t, 5*time.Second, o.cfg.PongTimeout)
	assert.Equal(t, 3*time.Second, o.cfg.WriteTimeout)
	assert.Equal(t, time.Second, o.idleTimeout)

	var usage bytes.Buffer
	_, err = parseFlags([]string{"-h"}, &usage)
	require.ErrorIs(t, err, flag.ErrHelp)
	assert.Contains(t, usage.String(), "usage: chat [flags]")
	assert.Contains(t, usage.String(), "-allowed-hosts")
	for _, args := range [][]string{
		{"-log-format", "xml"},
		{"extra"},
		{"-nope"},
		{"-allowed-hosts", "[bad"},
		{"-allowed-hosts", "host:[x"},
		{"-ping-interval", "-1s"},
		{"-pong-timeout", "-1ns"},
		{"-write-timeout", "0"},
		{"-idle-timeout", "0"},
		{"-grace", "-1s"},
		{"-presence-batch", "-1"},
		{"-presence-interval", "0"},
		{"-max-room", "0"},
		{"-history-bytes", "-1"},
		{"-max-message", "0"},
		{"-rate", "0"},
		{"-tls-cert", "cert.pem"},
		{"-tls-key", "key.pem"},
	} {
		var stderr bytes.Buffer
		_, err = parseFlags(args, &stderr)
		require.ErrorIs(t, err, errUsage, "%q", args)
		assert.Contains(t, stderr.String(), "usage: chat", "%q", args)
	}
}

func TestPageURL(t *testing.T) {
	bound := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
	for listen, want := range map[string]string{
		"localhost:8080": "http://localhost:8080",
		":8080":          "http://localhost:8080",
		"0.0.0.0:8080":   "http://localhost:8080",
		"[::]:8080":      "http://localhost:8080",
		"127.0.0.1:0":    "http://127.0.0.1:8080",
		"[::1]:8080":     "http://[::1]:8080",
	} {
		assert.Equal(t, want, pageURL("http", listen, bound), listen)
	}
	assert.Equal(t, "https://localhost:8443", pageURL("https", ":8443", &net.TCPAddr{Port: 8443}))
}
