package conn

import (
	"duplex/frame"
	"duplex/handshake"
)

// The names a server or client needs from the lower packages, so that the
// common programs import duplex/conn alone. They are aliases: a
// conn.CloseCode is a frame.CloseCode, a *conn.HandshakeError a
// *handshake.Error, and either name works with errors.As.
type (
	// CloseCode is the status code of a close frame (RFC 6455, Section 7.4).
	CloseCode = frame.CloseCode

	// ServerOptions configure the server's opening handshake; see
	// [AcceptOptions].
	ServerOptions = handshake.ServerOptions

	// ClientOptions configure the client's opening handshake; see
	// [DialOptions].
	ClientOptions = handshake.ClientOptions

	// Limits bound the size of an HTTP head in the opening handshake.
	Limits = handshake.Limits

	// Response is the head of the server's answer to [Dial]: its status and
	// header fields, such as Set-Cookie, WWW-Authenticate or Retry-After.
	Response = handshake.Response

	// HandshakeError is a failed opening handshake with its HTTP status: the
	// refusal Accept or Upgrade sent, or the status Dial received. Match it
	// with errors.As; its cause matches the handshake's sentinels (such as
	// handshake.ErrOriginRefused) with errors.Is.
	HandshakeError = handshake.Error

	// DeflateParams are permessage-deflate parameters as agreed in the
	// opening handshake; see [Conn.Compression].
	DeflateParams = handshake.DeflateParams
)

// The close codes of RFC 6455, Section 7.4.1, for [Conn.Close],
// [CloseError] and [CloseStatus]. CloseNoStatus, CloseAbnormal and
// CloseTLSHandshake are never sent: they describe how a connection ended.
const (
	CloseNormal             = frame.CloseNormal
	CloseGoingAway          = frame.CloseGoingAway
	CloseProtocolError      = frame.CloseProtocolError
	CloseUnsupportedData    = frame.CloseUnsupportedData
	CloseNoStatus           = frame.CloseNoStatus
	CloseAbnormal           = frame.CloseAbnormal
	CloseInvalidPayload     = frame.CloseInvalidPayload
	ClosePolicyViolation    = frame.ClosePolicyViolation
	CloseTooBig             = frame.CloseTooBig
	CloseMandatoryExtension = frame.CloseMandatoryExtension
	CloseInternalError      = frame.CloseInternalError
	CloseServiceRestart     = frame.CloseServiceRestart
	CloseTryAgainLater      = frame.CloseTryAgainLater
	CloseBadGateway         = frame.CloseBadGateway
	CloseTLSHandshake       = frame.CloseTLSHandshake
)
