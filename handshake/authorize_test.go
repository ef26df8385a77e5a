package handshake_test

import (
	"context"
	"errors"
	"net/http"
	"runtime/debug"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/handshake"
)

// authRequest carries what an Authorize hook looks at: a target with a query, a cookie and
// credentials.
var authRequest = head("GET /chat?room=1 HTTP/1.1", append(validFields,
	"Cookie: session=abc",
	"Authorization: Bearer t0ken",
	"Sec-WebSocket-Protocol: chat",
)...)

// authPaths run one handshake of raw through each server path with opts, and return what
// the client saw and the server's error.
var authPaths = []struct {
	name string
	run  func(t *testing.T, opts *handshake.ServerOptions, raw string) (rawExchange, error)
}{
	{"accept", func(t *testing.T, opts *handshake.ServerOptions, raw string) (rawExchange, error) {
		x := exchangeRaw(t, opts, raw)
		return x, x.err
	}},
	{"upgrade", func(t *testing.T, opts *handshake.ServerOptions, raw string) (rawExchange, error) {
		srv, ch := upgradeServer(t, opts)
		x := sendRaw(t, dialServer(t, srv), raw)
		u := <-ch
		if u.conn != nil {
			u.conn.Close()
		}
		return x, u.err
	}},
}

// TestAuthorizeSeesRequest: the hook sees the target, the header fields and what was
// agreed, and its nil lets the handshake through.
func TestAuthorizeSeesRequest(t *testing.T) {
	for _, p := range authPaths {
		t.Run(p.name, func(t *testing.T) {
			var target, cookie, auth, subprotocol string
			var calls atomic.Int32
			opts := &handshake.ServerOptions{
				Subprotocols: []string{"chat"},
				Authorize: func(ctx context.Context, r handshake.Result) error {
					calls.Add(1)
					assert.NoError(t, ctx.Err())
					assert.Nil(t, r.Rest)
					target, cookie, auth = r.RequestTarget(), r.RequestHeader("Cookie"), r.RequestHeader("authorization")
					subprotocol = r.Subprotocol
					return nil
				},
			}
			x, err := p.run(t, opts, authRequest)
			require.NoError(t, err)
			assert.Equal(t, http.StatusSwitchingProtocols, x.resp.StatusCode)
			assert.Equal(t, int32(1), calls.Load())
			assert.Equal(t, "/chat?room=1", target)
			assert.Equal(t, "session=abc", cookie)
			assert.Equal(t, "Bearer t0ken", auth)
			assert.Equal(t, "chat", subprotocol)
		})
	}
}

var errBadToken = errors.New("token expired at 12:00 for user 42")

// TestAuthorizeRefuses: the hook's refusal is answered with its status and header fields,
// a body that does not repeat its message, and a closed connection; a hook that asks for a
// refusal HTTP forbids gets 500.
func TestAuthorizeRefuses(t *testing.T) {
	challenge := http.Header{"Www-Authenticate": {`Bearer realm="chat"`}}
	tests := []struct {
		name   string
		err    error
		status int
		cause  error       // what the server's error wraps
		header http.Header // fields the refusal carries
	}{
		{name: "plain-error-gets-403", err: errBadToken, status: 403, cause: errBadToken},
		{name: "rfc9110-15.5.2/401-with-challenge",
			err:    &handshake.Error{Status: http.StatusUnauthorized, Header: challenge, Err: errBadToken},
			status: 401, cause: errBadToken, header: challenge},
		{name: "wrapped-error-status",
			err:    errors.Join(errors.New("lookup"), &handshake.Error{Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"5"}}}),
			status: 429, cause: handshake.ErrRefused, header: http.Header{"Retry-After": {"5"}}},
		{name: "status-0-gets-403", err: &handshake.Error{Err: errBadToken}, status: 403, cause: errBadToken},
		{name: "rfc9110-15.5.2/401-without-challenge-gets-500",
			err: &handshake.Error{Status: http.StatusUnauthorized, Err: errBadToken}, status: 500, cause: handshake.ErrInvalidOptions},
		{name: "status-200-gets-500", err: &handshake.Error{Status: http.StatusOK}, status: 500, cause: handshake.ErrInvalidOptions},
		{name: "own-field-gets-500",
			err:    &handshake.Error{Status: http.StatusForbidden, Header: http.Header{"Content-Length": {"0"}}},
			status: 500, cause: handshake.ErrInvalidOptions},
		{name: "invalid-value-gets-500",
			err:    &handshake.Error{Status: http.StatusForbidden, Header: http.Header{"X-Reason": {"a\r\nb"}}},
			status: 500, cause: handshake.ErrInvalidOptions},
	}
	for _, p := range authPaths {
		for _, tc := range tests {
			t.Run(p.name+"/"+tc.name, func(t *testing.T) {
				opts := &handshake.ServerOptions{Authorize: func(context.Context, handshake.Result) error { return tc.err }}
				x, err := p.run(t, opts, authRequest)
				assertRefusal(t, x, tc.status)
				assert.Equal(t, http.StatusText(tc.status)+"\n", x.body, "the hook's message stays on the server")
				for k, vs := range tc.header {
					assert.Equal(t, vs, x.raw.Values(k), k)
				}
				var herr *handshake.Error
				require.ErrorAs(t, err, &herr)
				assert.Equal(t, tc.status, herr.Status)
				require.ErrorIs(t, err, tc.cause)
				if tc.status != 500 {
					require.ErrorIs(t, err, handshake.ErrRefused)
				}
			})
		}
	}
}

// TestAuthorizeAfterChecks: a request the handshake refuses never reaches the hook.
func TestAuthorizeAfterChecks(t *testing.T) {
	var calls atomic.Int32
	opts := &handshake.ServerOptions{Authorize: func(context.Context, handshake.Result) error {
		calls.Add(1)
		return nil
	}}
	x := exchangeRaw(t, opts, head(getLine, append(validFields, "Origin: https://evil.test")...))
	assertRefusal(t, x, http.StatusForbidden)
	require.ErrorIs(t, x.err, handshake.ErrOriginRefused)
	assert.Zero(t, calls.Load())
}

// TestAuthorizeAllocs: a hook that reads the target and a field costs Accept no
// allocation: the Result it gets is a value, over the head Accept copies anyway.
func TestAuthorizeAllocs(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	c := &memConn{in: []byte(browserRequest)}
	opts := &handshake.ServerOptions{Authorize: func(_ context.Context, r handshake.Result) error {
		if r.RequestTarget() != "/chat" || r.RequestHeader("Cookie") == "" {
			return errBadToken
		}
		return nil
	}}
	allocs := testing.AllocsPerRun(100, func() {
		c.reset()
		if _, err := handshake.Accept(context.Background(), c, opts); err != nil {
			t.Error(err)
		}
	})
	assert.LessOrEqual(t, allocs, float64(maxAcceptAllocs+raceAllocs))
}
