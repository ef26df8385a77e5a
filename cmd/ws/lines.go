package main

import (
	"bufio"
	"bytes"
	"io"
)

// maxLine bounds one line of standard input, hence one message.
const maxLine = 16 << 20

// line is one line of standard input without its end of line, or the error
// that ended the input (io.EOF at its end).
type line struct {
	b   []byte
	err error
}

// readLines sends the lines of r on the returned channel, then one line
// carrying the error that ended r, until done closes. Reading a terminal
// cannot be interrupted, so the goroutine may stay blocked in Read until r
// ends; a process exiting does not wait for it.
func readLines(r io.Reader, done <-chan struct{}) <-chan line {
	ch := make(chan line)
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), maxLine)
		for sc.Scan() {
			b := bytes.TrimSuffix(sc.Bytes(), []byte("\r"))
			select {
			case ch <- line{b: bytes.Clone(b)}:
			case <-done:
				return
			}
		}
		err := sc.Err()
		if err == nil {
			err = io.EOF
		}
		select {
		case ch <- line{err: err}:
		case <-done:
		}
	}()
	return ch
}
