package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/chat"
	"duplex/conn"
	"duplex/frame"
)

// selfSigned writes a certificate for 127.0.0.1 and its key to dir and returns their paths and a pool
// that trusts the certificate.
func selfSigned(t testing.TB, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "chat test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600))
	return certFile, keyFile, pool
}

// runTLS runs the command over TLS with a generated certificate, as main does, and returns its address,
// a pool that trusts its certificate, a stop that begins the shutdown (as SIGTERM does), and a wait that
// checks that run then returned cleanly.
func runTLS(t *testing.T) (addr string, pool *x509.CertPool, stop, waitRun func()) {
	t.Helper()
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-tls-cert", certFile, "-tls-key", keyFile}, io.Discard,
			func(a string) { ready <- a })
	}()
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("run returned early: %v", err)
	}
	return addr, pool, cancel, func() {
		t.Helper()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(wait):
			t.Fatal("run did not return after shutdown")
		}
	}
}

// TestTLS serves the page over https and the chat over wss with a generated certificate.
func TestTLS(t *testing.T) {
	addr, pool, stop, waitRun := runTLS(t)
	tcfg := &tls.Config{RootCAs: pool}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tcfg}, Timeout: wait}
	defer client.CloseIdleConnections()
	resp, err := client.Get("https://" + addr + "/healthz")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "ok\n", string(body))
	// Plain http on the TLS port is not served.
	plain := &http.Client{Timeout: wait}
	if resp, err := plain.Get("http://" + addr + "/healthz"); err == nil {
		assert.NotEqual(t, http.StatusOK, resp.StatusCode)
		resp.Body.Close()
	}
	plain.CloseIdleConnections()

	dctx, dcancel := context.WithTimeout(context.Background(), wait)
	defer dcancel()
	c, _, err := conn.Dial(dctx, "wss://"+addr+"/ws", &conn.DialOptions{TLSConfig: tcfg})
	require.NoError(t, err)
	defer c.CloseNow()
	join, _ := json.Marshal(chat.Event{Type: chat.KindJoin, Nick: "ada"})
	require.NoError(t, c.WriteMessage(dctx, conn.MessageText, join))
	_, b, err := c.ReadMessage(dctx)
	require.NoError(t, err)
	var welcome chat.Event
	require.NoError(t, json.Unmarshal(b, &welcome))
	assert.Equal(t, chat.KindWelcome, welcome.Type)

	stop()
	waitRun()
}

// TestTLSHTTP2 serves WebSockets on HTTP/2 streams (RFC 8441) when the process has the setting net/http
// needs for it, as TestMain gives this one, and shuts them down with 1001 like the others.
func TestTLSHTTP2(t *testing.T) {
	addr, pool, stop, waitRun := runTLS(t)
	dctx, dcancel := context.WithTimeout(context.Background(), wait)
	defer dcancel()
	c, resp, err := conn.Dial(dctx, "wss://"+addr+"/ws", &conn.DialOptions{HTTP2: true, TLSConfig: &tls.Config{RootCAs: pool}})
	require.NoError(t, err)
	defer c.CloseNow()
	assert.Equal(t, 2, resp.ProtoMajor, "an extended CONNECT on HTTP/2")
	join, _ := json.Marshal(chat.Event{Type: chat.KindJoin, Nick: "ada"})
	require.NoError(t, c.WriteMessage(dctx, conn.MessageText, join))
	_, b, err := c.ReadMessage(dctx)
	require.NoError(t, err)
	var welcome chat.Event
	require.NoError(t, json.Unmarshal(b, &welcome))
	assert.Equal(t, chat.KindWelcome, welcome.Type)

	stop()
	for err == nil {
		_, _, err = c.ReadMessage(dctx)
	}
	assert.Equal(t, frame.CloseGoingAway, conn.CloseStatus(err), "%v", err)
	waitRun()
}

func TestTLSBadFilesFailTheStart(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "missing.pem")
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-tls-cert", bad, "-tls-key", bad}, io.Discard, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-tls-cert")
}
