package chat

import (
	"encoding/json"
	"time"
)

// Kind names an event of the chat protocol. It is the "type" field of every JSON object on the wire.
type Kind string

// Client to server.
const (
	// KindJoin is the first message of a connection: {"type":"join","room":"lobby","nick":"ada","since":41}.
	KindJoin Kind = "join"
	// KindSend posts a message to the room: {"type":"send","text":"hello"}.
	KindSend Kind = "send"
)

// Server to client.
const (
	// KindWelcome answers a successful join with the room, the accepted nickname, the presence list and the
	// record's tail (every recorded event after the join's "since").
	KindWelcome Kind = "welcome"
	// KindMessage is a chat message with its sender, server time and sequence number.
	KindMessage Kind = "message"
	// KindJoined is the system notice "nick joined"; it is recorded and numbered like a message.
	KindJoined Kind = "joined"
	// KindLeft is the system notice "nick left".
	KindLeft Kind = "left"
	// KindPresence carries the room's current members after each join or leave.
	KindPresence Kind = "presence"
	// KindError refuses one request (a taken nickname, an empty message) without closing the connection.
	KindError Kind = "error"
)

// Error codes sent in a KindError event.
const (
	ErrCodeBadRequest    = "bad_request"    // not JSON, unknown type, or a field of the wrong type
	ErrCodeNotJoined     = "not_joined"     // "send" before a successful "join"
	ErrCodeAlreadyJoined = "already_joined" // a second "join" on one connection
	ErrCodeBadNick       = "bad_nick"       // nickname empty, too long, or with control characters
	ErrCodeNickTaken     = "nick_taken"     // another member of the room uses the nickname
	ErrCodeBadRoom       = "bad_room"       // room name empty, too long, or with characters outside [a-z0-9._-]
	ErrCodeBadText       = "bad_text"       // message empty or with control characters other than newline and tab
)

// Event is one JSON object of the protocol, in either direction. Fields that do not apply to a Kind are omitted.
type Event struct {
	Type Kind `json:"type"`
	// Seq numbers the recorded events of a room (messages, joined, left) from 1, without gaps.
	// In a welcome it is the room's latest sequence number, so a client that saw no history knows where it stands.
	Seq  uint64    `json:"seq,omitempty"`
	Time time.Time `json:"time,omitzero"`
	Room string    `json:"room,omitempty"`
	Nick string    `json:"nick,omitempty"`
	Text string    `json:"text,omitempty"`
	// Epoch names one life of a room: sequence numbers restart when a room is created again (after a server
	// restart, say). A welcome carries it; a join may send back the one it knew, with Since.
	Epoch string `json:"epoch,omitempty"`
	// Since, in a join, asks for the recorded events after this sequence number (0: the whole kept history).
	Since uint64 `json:"since,omitempty"`
	// Users is the presence list, sorted, in welcome and presence events.
	Users []string `json:"users,omitempty"`
	// History holds recorded events, oldest first, exactly as they were broadcast.
	History []json.RawMessage `json:"history,omitempty"`
	// Code is the machine-readable reason of an error event.
	Code string `json:"code,omitempty"`
}

// encode marshals e. Every field is a plain value, so it cannot fail; a failure would be a programming error
// and is reported as an empty object rather than a panic.
func encode(e *Event) []byte {
	b, err := json.Marshal(e)
	if err != nil {
		return []byte("{}")
	}
	return b
}
