package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/frame"
)

// fakeFuzzingServer speaks the fuzzing server's client-driver protocol: the
// case count, cases that send messages and check the echo, and the reports.
type fakeFuzzingServer struct {
	count int

	mu      sync.Mutex
	ran     []string // "case/agent" of each runCase, in order
	echoed  []bool   // whether each case got its messages back intact
	reports []string // agents of updateReports
	wg      sync.WaitGroup
}

func startFakeFuzzingServer(t testing.TB, count int) (*fakeFuzzingServer, string) {
	t.Helper()
	f := &fakeFuzzingServer{count: count}
	mux := http.NewServeMux()
	mux.HandleFunc("/getCaseCount", f.upgraded(func(ctx context.Context, c *conn.Conn, _ *http.Request) {
		_ = c.WriteMessage(ctx, conn.MessageText, []byte(strconv.Itoa(f.count)))
	}))
	mux.HandleFunc("/runCase", f.upgraded(f.runCase))
	mux.HandleFunc("/updateReports", f.upgraded(func(_ context.Context, _ *conn.Conn, r *http.Request) {
		f.mu.Lock()
		f.reports = append(f.reports, r.URL.Query().Get("agent"))
		f.mu.Unlock()
	}))
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		f.wg.Wait()
	})
	return f, "ws" + strings.TrimPrefix(srv.URL, "http")
}

// upgraded runs fn on the upgraded connection, then closes it normally, as
// the fuzzing server does at the end of each endpoint.
func (f *fakeFuzzingServer) upgraded(fn func(context.Context, *conn.Conn, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// Counted before the hijack, while httptest's Close still waits for
		// the request, so that Add cannot race with Wait.
		f.wg.Add(1)
		defer f.wg.Done()
		c, err := conn.Upgrade(w, r, &conn.AcceptOptions{Options: conn.Options{FragmentSize: 999}})
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := context.Background()
		fn(ctx, c, r)
		_ = c.Close(frame.CloseNormal, "")
	}
}

// runCase sends a text, a binary and a longer text message, the last in
// fragments of 999 bytes that split its two-byte characters, and checks that
// each comes back with its type and bytes.
func (f *fakeFuzzingServer) runCase(ctx context.Context, c *conn.Conn, r *http.Request) {
	q := r.URL.Query()
	i, _ := strconv.Atoi(q.Get("case"))
	msgs := []struct {
		typ  conn.MessageType
		data []byte
	}{
		{conn.MessageText, []byte(fmt.Sprintf("case %d", i))},
		{conn.MessageBinary, []byte{byte(i), 0, 0xff}},
		{conn.MessageText, bytes.Repeat([]byte("ü"), 3000)},
	}
	ok := true
	for _, m := range msgs {
		if err := writeStreamed(ctx, c, m.typ, m.data); err != nil {
			ok = false
			break
		}
		typ, got, err := c.ReadMessage(ctx)
		if err != nil || typ != m.typ || !bytes.Equal(got, m.data) {
			ok = false
			break
		}
	}
	f.mu.Lock()
	f.ran = append(f.ran, q.Get("case")+"/"+q.Get("agent"))
	f.echoed = append(f.echoed, ok)
	f.mu.Unlock()
}

// writeStreamed sends data through a message writer, so that it leaves in
// fragments of the connection's FragmentSize.
func writeStreamed(ctx context.Context, c *conn.Conn, typ conn.MessageType, data []byte) error {
	w, err := c.NextWriter(ctx, typ)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	return w.Close()
}

func TestClientDriver(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spec  string
		cases []string
	}{
		{"all", "", []string{"1/duplex", "2/duplex", "3/duplex"}},
		{"range", "2..3", []string{"2/duplex", "3/duplex"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, u := startFakeFuzzingServer(t, 3)
			require.NoError(t, runClient(testCtx(t), quietLog(), defaultSettings(), u+"/", "duplex", tc.spec))

			f.mu.Lock()
			defer f.mu.Unlock()
			assert.Equal(t, tc.cases, f.ran)
			for i, ok := range f.echoed {
				assert.True(t, ok, "case %s echoed intact", f.ran[i])
			}
			assert.Equal(t, []string{"duplex"}, f.reports)
		})
	}
}

func TestParseCases(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want []int
	}{
		{"", []int{1, 2, 3, 4, 5}},
		{"2", []int{2}},
		{"2..4", []int{2, 3, 4}},
		{"4..", []int{4, 5}},
		{"1, 3..4,5", []int{1, 3, 4, 5}},
	} {
		got, err := parseCases(tc.spec, 5)
		require.NoError(t, err, tc.spec)
		assert.Equal(t, tc.want, got, tc.spec)
	}
	for _, spec := range []string{"0", "6", "3..2", "x", "1..y", "..3"} {
		_, err := parseCases(spec, 5)
		assert.Error(t, err, spec)
	}
}
