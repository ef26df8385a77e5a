// Command h2echo is the server the HTTP/2 conformance test of duplex/autobahn
// runs: duplex's echo, with the options of cmd/wsecho, served by one handler
// on a plain HTTP/1.1 listener (-addr) and on a TLS listener that offers h2
// and http/1.1 in ALPN (-tls-addr), so the suite's results over an RFC 8441
// stream and over an HTTP/1.1 upgrade come from the same server. It makes a
// self-signed certificate for 127.0.0.1 at start and writes it, PEM, to
// -cert. It must be started with GODEBUG=http2xconnect=1 and refuses to run
// without it: net/http would not advertise extended CONNECT.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"duplex/conn"
	"duplex/internal/godebug"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "plain HTTP/1.1 listen address")
	tlsAddr := flag.String("tls-addr", "127.0.0.1:0", "TLS (h2, http/1.1) listen address")
	certOut := flag.String("cert", "", "file to write the certificate to, PEM")
	flag.Parse()
	if err := run(*addr, *tlsAddr, *certOut); err != nil {
		fmt.Fprintln(os.Stderr, "h2echo:", err)
		os.Exit(1)
	}
}

func run(addr, tlsAddr, certOut string) error {
	if !godebug.Has(godebug.XConnect) {
		return errors.New("start with GODEBUG=" + godebug.XConnect)
	}
	cert, der, err := selfSigned()
	if err != nil {
		return err
	}
	if certOut != "" {
		if err := os.WriteFile(certOut, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
			return err
		}
	}
	plain, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	secure, err := net.Listen("tcp", tlsAddr)
	if err != nil {
		return err
	}
	mk := func() *http.Server {
		return &http.Server{
			Handler:           http.HandlerFunc(serve),
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          log.New(io.Discard, "", 0),
			TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}},
		}
	}
	fmt.Printf("listening %s %s\n", plain.Addr(), secure.Addr())
	errs := make(chan error, 2)
	go func() { errs <- mk().Serve(plain) }()
	go func() { errs <- mk().ServeTLS(secure, "", "") }()
	return <-errs
}

// opts are cmd/wsecho's: messages up to 64 MiB (the suite sends 16 MiB),
// 32 KiB fragments, every permessage-deflate parameter honoured and every
// message compressed at level 1, any origin (a test server).
var opts = &conn.AcceptOptions{
	ServerOptions: conn.ServerOptions{InsecureSkipOriginCheck: true},
	Options: conn.Options{
		ReadLimit:    64 << 20,
		FragmentSize: 32 << 10,
		WriteTimeout: 10 * time.Second,
		Compression:  &conn.CompressionOptions{Threshold: -1, Level: 1},
	},
}

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// serve upgrades (HTTP/1.1) or accepts the extended CONNECT (HTTP/2) and
// echoes every message, streamed, until the connection ends; over HTTP/2
// the handler holds the stream until then.
func serve(w http.ResponseWriter, r *http.Request) {
	c, err := conn.Upgrade(w, r, opts)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := context.Background()
	for {
		t, rd, err := c.NextReader(ctx)
		if err != nil {
			return
		}
		wr, err := c.NextWriter(ctx, t)
		if err != nil {
			return
		}
		bp := copyBuffers.Get().(*[]byte)
		_, err = io.CopyBuffer(wr, rd, *bp)
		copyBuffers.Put(bp)
		if err != nil || wr.Close() != nil {
			return
		}
	}
}

// selfSigned makes a certificate for 127.0.0.1, valid for a day.
func selfSigned() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "h2echo"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, der, nil
}
