package chat_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"duplex/chat"
)

func TestValidNick(t *testing.T) {
	cases := []struct {
		nick string
		ok   bool
	}{
		{"ada", true},
		{"Ada Lovelace", true},
		{"Łukasz", true},
		{"李小龙", true},
		{"<b>x</b>", true}, // markup is just text; the page never renders it as HTML
		{strings.Repeat("é", chat.MaxNickLen), true},
		{strings.Repeat("é", chat.MaxNickLen+1), false},
		{"", false},
		{" ada", false},
		{"ada ", false},
		{"a\nb", false},
		{"a\x00b", false},
		{"a\u200bb", false}, // zero-width space, a format character
		{"a\u202eb", false}, // right-to-left override
		{"a\u00a0b", false}, // no-break space looks like a space but is not one
		{"\xff", false},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.ok, chat.ValidNick(tc.nick), "%q", tc.nick)
	}
}

func TestValidRoom(t *testing.T) {
	cases := []struct {
		room string
		ok   bool
	}{
		{"lobby", true},
		{"team-1.ops_x", true},
		{strings.Repeat("a", chat.MaxRoomLen), true},
		{strings.Repeat("a", chat.MaxRoomLen+1), false},
		{"", false},
		{"Lobby", false},
		{"a b", false},
		{"a/b", false},
		{"é", false},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.ok, chat.ValidRoom(tc.room), "%q", tc.room)
	}
}
