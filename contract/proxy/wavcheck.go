package proxy

import (
	"errors"
	"io"

	"github.com/cambmock/cambmock/contract/internal/wavinfo"
)

// wavCheck reads a WAV's structure from the bytes written to it, in a
// goroutine of its own, as the proxy streams the audio past.
type wavCheck struct {
	pw   *io.PipeWriter
	done chan error
}

func newWAVCheck() *wavCheck {
	pr, pw := io.Pipe()
	c := &wavCheck{pw: pw, done: make(chan error, 1)}
	go func() {
		_, err := wavinfo.Read(pr)
		io.Copy(io.Discard, pr)
		c.done <- err
	}()
	return c
}

// Write never fails, so a broken check cannot break the stream.
func (c *wavCheck) Write(p []byte) (int, error) {
	c.pw.Write(p)
	return len(p), nil
}

// finish ends the check: streamErr is how the stream ended.
func (c *wavCheck) finish(streamErr error) error {
	if streamErr != nil {
		c.pw.CloseWithError(streamErr)
	} else {
		c.pw.Close()
	}
	err := <-c.done
	if streamErr != nil && errors.Is(err, streamErr) {
		return nil
	}
	return err
}
