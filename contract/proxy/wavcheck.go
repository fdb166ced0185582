package proxy

import (
	"errors"
	"io"

	"github.com/cambmock/cambmock/contract/internal/media"
)

// mediaCheck reads a file's structure from the bytes written to it, in a
// goroutine of its own, as the proxy streams the audio past: a WAV's
// chunks, another audio type's first bytes (see package media).
type mediaCheck struct {
	pw   *io.PipeWriter
	done chan error
}

// newMediaCheck checks a file of the Content-Type contentType.
func newMediaCheck(contentType string) *mediaCheck {
	pr, pw := io.Pipe()
	c := &mediaCheck{pw: pw, done: make(chan error, 1)}
	go func() {
		_, err := media.Check(contentType, pr)
		io.Copy(io.Discard, pr)
		c.done <- err
	}()
	return c
}

// Write never fails, so a broken check cannot break the stream.
func (c *mediaCheck) Write(p []byte) (int, error) {
	c.pw.Write(p)
	return len(p), nil
}

// finish ends the check: streamErr is how the stream ended.
func (c *mediaCheck) finish(streamErr error) error {
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
