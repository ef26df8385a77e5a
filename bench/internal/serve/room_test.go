package serve

import (
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func members(r *Room[int]) []int {
	var got []int
	r.Each(func(c int) { got = append(got, c) })
	slices.Sort(got)
	return got
}

func TestRoomJoinLeave(t *testing.T) {
	var r Room[int]
	assert.Zero(t, r.Len())
	assert.Empty(t, members(&r))
	for i := range 5 {
		r.Join(i)
	}
	r.Join(3) // twice is once
	assert.Equal(t, 5, r.Len())
	assert.Equal(t, []int{0, 1, 2, 3, 4}, members(&r))

	r.Leave(1) // from the middle: the last takes its place
	r.Leave(4) // the last
	r.Leave(7) // never joined
	r.Leave(1) // already gone
	assert.Equal(t, []int{0, 2, 3}, members(&r))
	for _, c := range []int{0, 2, 3} {
		r.Leave(c)
	}
	assert.Zero(t, r.Len())
	assert.Empty(t, members(&r))
	r.Join(9)
	assert.Equal(t, []int{9}, members(&r))
}

// TestRoomEachSnapshot checks that fn runs without the room's lock (it may
// join and leave) on the members of the moment Each began.
func TestRoomEachSnapshot(t *testing.T) {
	var r Room[int]
	r.Join(1)
	r.Join(2)
	var seen []int
	r.Each(func(c int) {
		seen = append(seen, c)
		r.Join(c + 10)
		r.Leave(c)
	})
	slices.Sort(seen)
	assert.Equal(t, []int{1, 2}, seen)
	assert.Equal(t, []int{11, 12}, members(&r))
}

// TestRoomEachKeepsNoReference checks that the reused snapshot lets go of
// its members: a connection that left must not stay reachable.
func TestRoomEachKeepsNoReference(t *testing.T) {
	var r Room[*int]
	a, b := new(int), new(int)
	r.Join(a)
	r.Join(b)
	r.Each(func(*int) {})
	r.mu.Lock()
	spare := r.spare[:cap(r.spare)]
	r.mu.Unlock()
	require.Len(t, spare, 2, "the snapshot's storage is kept for the next")
	for _, p := range spare {
		assert.Nil(t, p)
	}
	r.Leave(b)
	r.mu.Lock()
	assert.Nil(t, r.members[:cap(r.members)][1], "the slot b left is cleared")
	r.mu.Unlock()
}

func TestRoomConcurrent(t *testing.T) {
	var r Room[int]
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				c := g*1000 + i
				r.Join(c)
				r.Each(func(int) {})
				if i%2 == 0 {
					r.Leave(c)
				}
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 400, r.Len())
	for _, c := range members(&r) {
		assert.Equal(t, 1, c%2, "member %d", c)
	}
}

func TestMembersProtocol(t *testing.T) {
	assert.True(t, IsMembersQuery(true, []byte("members")))
	assert.False(t, IsMembersQuery(false, []byte("members")), "a binary message is broadcast")
	assert.False(t, IsMembersQuery(true, []byte("members ")))
	assert.Equal(t, "members 10001", string(MembersReply(10001)))
	for _, n := range []int{0, 1, 10001} {
		got, ok := ParseMembersReply(MembersReply(n))
		require.True(t, ok)
		assert.Equal(t, n, got)
	}
	for _, bad := range []string{"members", "members x", "members -1", "member 3", ""} {
		_, ok := ParseMembersReply([]byte(bad))
		assert.False(t, ok, "%q", bad)
	}
}

// TestRoomEachReusesSnapshot checks that a broadcast in a steady room
// allocates nothing: the snapshot's storage serves the next one.
func TestRoomEachReusesSnapshot(t *testing.T) {
	var r Room[int]
	for i := range 100 {
		r.Join(i)
	}
	n := 0
	count := func(int) { n++ }
	r.Each(count)
	allocs := testing.AllocsPerRun(10, func() { r.Each(count) })
	assert.Zero(t, allocs)
	assert.Equal(t, 1200, n, "one call, then AllocsPerRun's warm-up and ten")
}
