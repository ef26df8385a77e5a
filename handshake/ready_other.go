//go:build !unix

package handshake

import "net"

// Elsewhere than on Unix the handshake sets its deadline before any I/O: see ready_unix.go.

func pollable(net.Conn) bool { return false }

func readReady(net.Conn, []byte, *guard) int { return 0 }

func writeReady(net.Conn, []byte) int { return 0 }
