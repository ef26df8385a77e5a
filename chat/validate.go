package chat

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on names. Nicknames count characters (runes), not bytes, so every script gets the same room.
const (
	MaxNickLen = 24
	MaxRoomLen = 32
)

// ValidNick reports whether nick may be used as a nickname: 1 to MaxNickLen characters of valid UTF-8,
// no leading or trailing space, and no control or format characters. Format characters (such as the
// right-to-left override U+202E) are refused because they let one name pass for another on screen.
func ValidNick(nick string) bool {
	if nick == "" || !utf8.ValidString(nick) || utf8.RuneCountInString(nick) > MaxNickLen {
		return false
	}
	if strings.TrimSpace(nick) != nick {
		return false
	}
	for _, r := range nick {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || (unicode.IsSpace(r) && r != ' ') {
			return false
		}
	}
	return true
}

// nickKey is the form under which nicknames are compared, so "Ada" and "ada" cannot both be in a room.
func nickKey(nick string) string { return strings.ToLower(nick) }

// ValidRoom reports whether room is a valid room name: 1 to MaxRoomLen bytes of a-z, 0-9, '.', '_' and '-'.
// Names are kept to this set so that they read the same in a URL, a log line and a page title.
func ValidRoom(room string) bool {
	if room == "" || len(room) > MaxRoomLen {
		return false
	}
	for i := 0; i < len(room); i++ {
		c := room[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// validText reports whether text may be posted: not blank, valid UTF-8, and free of control characters
// except newline and tab, which multi-line messages need.
func validText(text string) bool {
	if strings.TrimSpace(text) == "" || !utf8.ValidString(text) {
		return false
	}
	for _, r := range text {
		if r == '\n' || r == '\t' {
			continue
		}
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// MaxIDLen bounds a send's id.
const MaxIDLen = 64

// validID reports whether id may name a send: 1 to MaxIDLen of A-Z a-z 0-9 _ -, which a page can make
// from a counter and a random prefix, and which never needs escaping in JSON or a log line.
func validID(id string) bool {
	if id == "" || len(id) > MaxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}
