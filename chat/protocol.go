package chat

import (
	"bytes"
	"encoding/json"
	"time"
)

// Kind names an event of the chat protocol. It is the "type" field of every JSON object on the wire.
type Kind string

// Client to server.
const (
	// KindJoin is the first message of a connection:
	// {"type":"join","room":"lobby","nick":"ada","since":41,"epoch":"...","session":"..."}.
	KindJoin Kind = "join"
	// KindSend posts a message to the room: {"type":"send","id":"k3f9-1","text":"hello"}.
	KindSend Kind = "send"
)

// Server to client.
const (
	// KindWelcome answers a successful join with the room, the accepted nickname, the member list, the
	// session token, the limits and the record's tail (every recorded event after the join's "since" that
	// fits the welcome's size bound).
	KindWelcome Kind = "welcome"
	// KindAck tells the sender of a send with an id that its message is recorded, and under which seq.
	KindAck Kind = "ack"
	// KindMessage is a chat message with its sender, server time and sequence number.
	KindMessage Kind = "message"
	// KindJoined is the system notice "nick joined"; it is recorded and numbered like a message, and it is
	// the presence delta that adds nick to the members a client keeps.
	KindJoined Kind = "joined"
	// KindLeft is the system notice "nick left", the delta that removes nick.
	KindLeft Kind = "left"
	// KindMembers is the presence delta of a room above Config.PresenceBatch members, whose joins and
	// leaves are not recorded notices: every change of one Config.PresenceInterval, sent at its end in
	// one event, unnumbered and not in the record:
	// {"type":"members","room":"lobby","time":"...","joined":["ada"],"left":["bob"],"count":812}.
	// Joined and Left are sorted; a nick that joined and left within the interval is in neither. Count
	// is the size of the member list once they are applied.
	KindMembers Kind = "members"
	// KindPresence carried the full member list after each join or leave. The server no longer sends it:
	// the welcome's Users and the joined and left deltas replace it. The name stays so that old clients'
	// code keeps compiling.
	KindPresence Kind = "presence"
	// KindError refuses one request (a taken nickname, a message too long) without closing the connection.
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
	ErrCodeTooLong       = "too_long"       // text over Limits.MaxMessage bytes
	ErrCodeBadID         = "bad_id"         // a send's id is not 1 to 64 of [A-Za-z0-9_-]
	ErrCodeRateLimited   = "rate_limited"   // too fast, or the room is overloaded: try again after RetryMS
	ErrCodeRoomFull      = "room_full"      // the room has Limits.MaxRoom members
)

// Limits tells a client, in its welcome, the bounds the server holds it to, so that a page can refuse
// a message too long before sending it and pace its sends.
type Limits struct {
	MaxMessage int64   `json:"max_message"` // bytes of a message's text, as UTF-8
	Rate       float64 `json:"rate"`        // messages per second, sustained
	Burst      int     `json:"burst"`       // messages at once
	MaxRoom    int     `json:"max_room"`    // members of a room
}

// Event is one JSON object of the protocol, in either direction. Fields that do not apply to a Kind are omitted.
type Event struct {
	Type Kind `json:"type"`
	// ID is the client's name for one send, echoed in its ack or error: 1 to 64 of [A-Za-z0-9_-].
	ID string `json:"id,omitempty"`
	// Seq numbers the recorded events of a room (messages, joined, left) from 1, without gaps.
	// In a welcome it is the room's latest sequence number, so a client that saw no history knows where it stands;
	// in an ack, the sequence number of the acknowledged message.
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
	// Session, in a welcome, is the token that resumes this membership after a dropped connection; a join
	// sends it back to resume.
	Session string `json:"session,omitempty"`
	// Limits, in a welcome, are the bounds the client is held to.
	Limits *Limits `json:"limits,omitempty"`
	// More, in a welcome, says that recorded events after Since exist that History does not hold.
	More bool `json:"more,omitempty"`
	// Users is the member list, sorted, in a welcome only. In a room above Config.PresenceBatch members
	// it is the list as of the last members event, which may lack the newest members, the newcomer
	// included: the next members event brings them.
	Users []string `json:"users,omitempty"`
	// Joined and Left, in a members event, are the nicks that joined and left since the last one.
	Joined []string `json:"joined,omitempty"`
	Left   []string `json:"left,omitempty"`
	// Count, in a members event, is the number of members once Joined and Left are applied.
	Count int `json:"count,omitempty"`
	// History holds recorded events, oldest first, exactly as they were broadcast.
	History []json.RawMessage `json:"history,omitempty"`
	// Code is the machine-readable reason of an error event.
	Code string `json:"code,omitempty"`
	// RetryMS, in a rate_limited error, is how many milliseconds the client should wait before sending again.
	RetryMS int64 `json:"retry_ms,omitempty"`
}

// encode marshals e without HTML escaping: the page renders text as text, so "<" needs no "\u003c",
// which would make a message of markup six times its size against the history's byte bound. Every field
// is a plain value, so it cannot fail; a failure would be a programming error and is reported as an
// empty object rather than a panic.
func encode(e *Event) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(e) != nil {
		return []byte("{}")
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
