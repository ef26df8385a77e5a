package autobahn_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/autobahn"
)

func ids(cs []*autobahn.Case) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func TestSelect(t *testing.T) {
	all, err := autobahn.Select([]string{"*"}, nil)
	require.NoError(t, err)
	assert.Equal(t, ids(autobahn.Cases()), ids(all))

	two, err := autobahn.Select([]string{"2.*"}, []string{"2.1*"})
	require.NoError(t, err)
	assert.Equal(t, []string{"2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8", "2.9"}, ids(two), "2.1, 2.10, 2.11 excluded")

	one, err := autobahn.Select([]string{"5.19", "1.1.1"}, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"1.1.1", "5.19"}, ids(one), "in ID order, not argument order")

	_, err = autobahn.Select([]string{"99.1"}, nil)
	require.Error(t, err, "a literal ID must exist")

	prefix, err := autobahn.Select([]string{"*.1"}, nil)
	require.NoError(t, err)
	assert.Contains(t, ids(prefix), "1.1.1", "as in wstest, a pattern with * matches a prefix")
	assert.Contains(t, ids(prefix), "2.10")

	dots, err := autobahn.Select([]string{"1.1*"}, nil)
	require.NoError(t, err)
	for _, id := range ids(dots) {
		assert.Regexp(t, `^1\.1`, id, "the dot is literal, not any character")
	}
}

func TestCasesOrderedNumerically(t *testing.T) {
	cs := ids(autobahn.Cases())
	i2, i10 := -1, -1
	for i, id := range cs {
		switch id {
		case "2.2":
			i2 = i
		case "2.10":
			i10 = i
		}
	}
	require.NotEqual(t, -1, i2)
	require.NotEqual(t, -1, i10)
	assert.Less(t, i2, i10, "2.2 before 2.10")
	seen := map[string]bool{}
	for _, c := range autobahn.Cases() {
		assert.False(t, seen[c.ID], "duplicate %s", c.ID)
		seen[c.ID] = true
		assert.NotEmpty(t, c.Description, c.ID)
		assert.NotEmpty(t, c.Expectation, c.ID)
		assert.NotNil(t, c.Run, c.ID)
	}
}

func TestSplitPatterns(t *testing.T) {
	assert.Equal(t, []string{"1.*", "9.7.1"}, autobahn.SplitPatterns(" 1.* ,,9.7.1 "))
	assert.Nil(t, autobahn.SplitPatterns(""))
}
