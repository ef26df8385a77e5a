package deadline_test

import (
	"context"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/internal/deadline"
)

func TestBound(t *testing.T) {
	const def = time.Hour
	near, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ctxDeadline, _ := near.Deadline()
	tests := []struct {
		name    string
		ctx     context.Context
		timeout time.Duration
		want    time.Duration // from now; 0: ctx's deadline; -1: none
	}{
		{"zero-no-ctx-deadline-takes-default", context.Background(), 0, def},
		{"zero-with-ctx-deadline-takes-ctx", near, 0, 0},
		{"negative-no-ctx-deadline-is-none", context.Background(), -1, -1},
		{"negative-with-ctx-deadline-takes-ctx", near, -1, 0},
		{"positive-earlier-than-ctx", near, time.Second, time.Second},
		{"positive-later-than-ctx", near, 2 * time.Hour, 0},
		{"positive-no-ctx-deadline", context.Background(), time.Second, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Now()
			got := deadline.Bound(tt.ctx, tt.timeout, def)
			switch tt.want {
			case -1:
				assert.True(t, got.IsZero())
			case 0:
				assert.Equal(t, ctxDeadline, got)
			default:
				assert.WithinDuration(t, now.Add(tt.want), got, time.Second)
			}
		})
	}
}

// TestWatch checks that a context's end interrupts a blocked read, that
// Disarm reports it, and that a context that does not end leaves the
// connection alone.
func TestWatch(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	var w deadline.Watch
	w.Init(a, deadline.Read)

	ctx, cancel := context.WithCancel(context.Background())
	w.Arm(ctx)
	go cancel()
	_, err := a.Read(make([]byte, 1))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.True(t, w.Ended())
	assert.True(t, w.Disarm())
	require.NoError(t, a.SetReadDeadline(time.Time{}))

	w.Arm(context.Background())
	assert.False(t, w.Ended())
	go func() { _, _ = b.Write([]byte{1}) }()
	_, err = a.Read(make([]byte, 1))
	require.NoError(t, err)
	assert.False(t, w.Disarm())
}
