package handshake_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/handshake"
)

// p builds an ExtensionParam: p("a") has no value, p("a", "1") has one.
func p(name string, value ...string) handshake.ExtensionParam {
	if len(value) == 0 {
		return handshake.ExtensionParam{Name: name}
	}
	return handshake.ExtensionParam{Name: name, Value: value[0], HasValue: true}
}

func TestParseExtensions(t *testing.T) {
	deflate := handshake.Extension{Name: "permessage-deflate", Params: []handshake.ExtensionParam{p("client_max_window_bits")}}
	tests := []struct {
		name   string
		values []string
		want   []handshake.Extension
	}{
		{name: "9.1/none", values: nil, want: nil},
		{name: "9.1/empty-value", values: []string{""}, want: nil},
		{name: "9.1/name-only", values: []string{"foo"}, want: []handshake.Extension{{Name: "foo"}}},
		{name: "9.1/rfc7692-offer", values: []string{"permessage-deflate; client_max_window_bits"},
			want: []handshake.Extension{deflate}},
		{name: "9.1/params-of-every-form", values: []string{`foo; p1; p2=v; p3="quoted"`},
			want: []handshake.Extension{{Name: "foo", Params: []handshake.ExtensionParam{p("p1"), p("p2", "v"), p("p3", "quoted")}}}},
		{name: "9.1/quoted-token", values: []string{`foo; p3="quoted"; p4="1\5"`},
			want: []handshake.Extension{{Name: "foo", Params: []handshake.ExtensionParam{p("p3", "quoted"), p("p4", "15")}}}},
		{name: "9.1/token-and-flag", values: []string{"foo; p1; p2=v"},
			want: []handshake.Extension{{Name: "foo", Params: []handshake.ExtensionParam{p("p1"), p("p2", "v")}}}},
		{name: "9.1/comma-list", values: []string{"foo, bar; x=1, baz"},
			want: []handshake.Extension{{Name: "foo"}, {Name: "bar", Params: []handshake.ExtensionParam{p("x", "1")}}, {Name: "baz"}}},
		{name: "9.1/several-lines-keep-order", values: []string{"foo; a", "bar", "foo; b"},
			want: []handshake.Extension{
				{Name: "foo", Params: []handshake.ExtensionParam{p("a")}}, {Name: "bar"},
				{Name: "foo", Params: []handshake.ExtensionParam{p("b")}},
			}},
		{name: "9.1/whitespace-everywhere", values: []string{" \tfoo \t; \ta \t= \t1 \t, \tbar\t "},
			want: []handshake.Extension{{Name: "foo", Params: []handshake.ExtensionParam{p("a", "1")}}, {Name: "bar"}}},
		{name: "rfc9110-5.6.1/empty-elements-skipped", values: []string{", ,foo,, ,bar,"},
			want: []handshake.Extension{{Name: "foo"}, {Name: "bar"}}},
		{name: "9.1/same-extension-twice-is-two-offers", values: []string{"permessage-deflate; client_max_window_bits, permessage-deflate"},
			want: []handshake.Extension{deflate, {Name: "permessage-deflate"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := handshake.ParseExtensions(tt.values)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseExtensionsErrors(t *testing.T) {
	tests := []struct {
		name  string
		value string
	}{
		{"9.1/param-without-name", "foo;"},
		{"9.1/double-semicolon", "foo;;a"},
		{"9.1/leading-semicolon", "; foo"},
		{"9.1/missing-value", "foo; a="},
		{"9.1/missing-value-before-comma", "foo; a=, bar"},
		{"9.1/name-not-token", "fo@o"},
		{"9.1/name-then-garbage", "foo bar"},
		{"9.1/param-value-then-garbage", "foo; a=1 2"},
		{"9.1/value-with-slash", "foo; a=b/c"},
		{"9.1/quoted-not-token-after-unescape", `foo; a="b c"`},
		{"9.1/quoted-escaped-quote", `foo; a="\"x"`},
		{"9.1/quoted-empty", `foo; a=""`},
		{"9.1/quoted-unterminated", `foo; a="abc`},
		{"9.1/quoted-escape-at-end", `foo; a="abc\`},
		{"9.1/quoted-then-garbage", `foo; a="abc"d`},
		{"9.1/equals-without-param", "foo=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := handshake.ParseExtensions([]string{"ok", tt.value})
			require.ErrorIs(t, err, handshake.ErrBadExtension)
			assert.Nil(t, got)
		})
	}
}

func TestAppendExtensions(t *testing.T) {
	tests := []struct {
		name string
		exts []handshake.Extension
		want string
	}{
		{"9.1/none", nil, ""},
		{"9.1/one", []handshake.Extension{{Name: "foo"}}, "foo"},
		{"9.1/params", []handshake.Extension{{Name: "foo", Params: []handshake.ExtensionParam{p("a"), p("b", "1")}}, {Name: "bar"}},
			"foo; a; b=1, bar"},
		{"9.1/non-token-value-quoted", []handshake.Extension{{Name: "foo", Params: []handshake.ExtensionParam{p("a", `x "y"\`)}}},
			`foo; a="x \"y\"\\"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := handshake.AppendExtensions([]byte("prefix:"), tt.exts)
			assert.Equal(t, "prefix:"+tt.want, string(got))
		})
	}
}

// TestExtensionsRoundTrip: what AppendExtensions writes, ParseExtensions reads back.
func TestExtensionsRoundTrip(t *testing.T) {
	exts := []handshake.Extension{
		{Name: "permessage-deflate", Params: []handshake.ExtensionParam{p("client_max_window_bits"), p("server_max_window_bits", "10")}},
		{Name: "x-webkit-deflate-frame"},
		{Name: "foo", Params: []handshake.ExtensionParam{p("a", "1"), p("a", "2")}},
	}
	got, err := handshake.ParseExtensions([]string{string(handshake.AppendExtensions(nil, exts))})
	require.NoError(t, err)
	assert.Equal(t, exts, got)
	assert.Equal(t, "permessage-deflate; client_max_window_bits; server_max_window_bits=10", exts[0].String())
}

func TestExtensionParam(t *testing.T) {
	e := handshake.Extension{Name: "foo", Params: []handshake.ExtensionParam{p("a"), p("B", "1"), p("b", "2")}}
	got, ok := e.Param("b")
	require.True(t, ok)
	assert.Equal(t, p("B", "1"), got, "the first match, ASCII case-insensitive")
	_, ok = e.Param("c")
	assert.False(t, ok)
}

// TestAcceptChecksOffersWithoutHook: with no NegotiateExtensions hook, Accept still refuses
// exactly the Sec-WebSocket-Extensions values that ParseExtensions refuses (RFC 6455,
// Section 9.1), those it recognises whole included.
func TestAcceptChecksOffersWithoutHook(t *testing.T) {
	values := []string{
		"permessage-deflate; client_max_window_bits", "permessage-deflate", "permessage-deflate;",
		"permessage-deflate; client_max_window_bits;", "permessage-deflate; client_max_window_bits=",
		" permessage-deflate", "permessage-deflate, ", "permessage-deflate; client_max_window_bits, x",
		"permessage-deflate;; client_max_window_bits", "permessage-deflate client_max_window_bits",
		"Permessage-Deflate; Client_Max_Window_Bits", ";", ",", "x; p=\"a b\"",
	}
	for _, v := range values {
		t.Run("9.1/"+v, func(t *testing.T) {
			c := &memConn{in: []byte(head(getLine, append(validFields, "Sec-WebSocket-Extensions: "+v)...))}
			_, err := handshake.Accept(context.Background(), c, nil)
			if _, perr := handshake.ParseExtensions([]string{v}); perr != nil {
				require.ErrorIs(t, err, handshake.ErrBadExtension)
			} else {
				require.NoError(t, err)
			}
		})
	}
}
