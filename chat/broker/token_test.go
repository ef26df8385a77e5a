package broker

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// tokenChars are the characters token may produce: safe in a stream name, a subject token and a KV key.
const tokenChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"

func TestToken(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"lobby", "lobby"},
		{"a.b", "a_2Eb"},
		{"a_2Eb", "a_5F2Eb"}, // an escape-looking name does not collide with "a.b"
		{"*>", "_2A_3E"},
		{"a b", "a_20b"},
		{"ü", "_C3_BC"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			assert.Equal(t, tc.want, token(tc.in))
			back, ok := untoken(tc.want)
			assert.True(t, ok)
			assert.Equal(t, tc.in, back)
		})
	}
	for _, bad := range []string{"_", "_4", "_4g", "a_ZZ", "_2e", "_61", "a.b", "ü"} {
		_, ok := untoken(bad)
		assert.False(t, ok, bad)
	}
}

// FuzzToken checks that token yields only safe characters, that untoken undoes it, and that untoken
// never panics on anything a KV key might hold.
func FuzzToken(f *testing.F) {
	for _, s := range []string{"", "lobby", "a.b", "_", "_2E", "ü", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok := token(s)
		if strings.Trim(tok, tokenChars) != "" {
			t.Fatalf("token(%q) = %q holds an unsafe character", s, tok)
		}
		back, ok := untoken(tok)
		if !ok || back != s {
			t.Fatalf("untoken(token(%q)) = %q, %v", s, back, ok)
		}
		if again, ok := untoken(s); ok && token(again) != s {
			t.Fatalf("untoken(%q) = %q, which does not escape back", s, again)
		}
	})
}
