// Package media tells whether a file is what its Content-Type says: a
// well-formed WAV for audio/wav, a file that starts as FLAC, MP3, MP4, Ogg
// or WebM files do for those types, valid JSON for application/json. The
// suite checks the files behind an API's result URLs with it, and the
// checking proxy the audio that streams past.
package media

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"time"

	"github.com/cambmock/cambmock/contract/internal/wavinfo"
)

// Info describes a file that was checked.
type Info struct {
	// Type is the media type of the Content-Type, in lower case and
	// without parameters, such as "audio/wav"; "" when none was given.
	Type string
	// Bytes is the size of the file.
	Bytes int64
	// WAV describes a WAV file; nil for other types.
	WAV *wavinfo.Info
	// Checked is false when Check cannot tell what a file of Type holds
	// (application/octet-stream, an unknown type): it read the file but
	// checked nothing of it.
	Checked bool
}

// Duration is the length of a WAV file's audio, or 0 for other files.
func (i Info) Duration() time.Duration {
	if i.WAV == nil {
		return 0
	}
	return i.WAV.Duration()
}

// String describes the file in a few words, such as
// "audio/wav, 16000 Hz, 16-bit, 1 channel(s), 2s, 64044 bytes".
func (i Info) String() string {
	t := i.Type
	if t == "" {
		t = "no Content-Type"
	}
	if i.WAV != nil {
		return fmt.Sprintf("%s, %s, %d bytes", t, i.WAV, i.Bytes)
	}
	if !i.Checked {
		return fmt.Sprintf("%s, %d bytes, contents not checked", t, i.Bytes)
	}
	return fmt.Sprintf("%s, %d bytes", t, i.Bytes)
}

// IsWAV reports whether a Content-Type names a WAV file.
func IsWAV(contentType string) bool {
	switch mediaType(contentType) {
	case "audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave":
		return true
	}
	return false
}

// Known reports whether Check can tell what a file of the Content-Type
// holds.
func Known(contentType string) bool {
	t := mediaType(contentType)
	return IsWAV(t) || t == "application/json" || strings.HasSuffix(t, "+json") || magicOf(t) != nil
}

// magic is how the files of a media type start.
type magic struct {
	name  string
	match func(head []byte) bool
	want  string // what the file should start with, for a message
}

// magicOf returns how files of media type t start, or nil when Check
// cannot tell.
func magicOf(t string) *magic {
	switch t {
	case "audio/flac", "audio/x-flac":
		return &magic{"FLAC", func(h []byte) bool { return bytes.HasPrefix(h, []byte("fLaC")) }, `"fLaC"`}
	case "audio/mpeg", "audio/mp3":
		return &magic{"MP3", func(h []byte) bool {
			return bytes.HasPrefix(h, []byte("ID3")) || len(h) >= 2 && h[0] == 0xFF && h[1]&0xE0 == 0xE0
		}, `"ID3" or an MPEG frame header`}
	case "audio/aac", "audio/x-aac", "audio/aacp":
		return &magic{"AAC", func(h []byte) bool {
			return bytes.HasPrefix(h, []byte("ID3")) || len(h) >= 2 && h[0] == 0xFF && h[1]&0xF6 == 0xF0
		}, `"ID3" or an ADTS header`}
	case "audio/mp4", "audio/x-m4a", "audio/m4a", "video/mp4", "video/quicktime":
		return &magic{"MP4", func(h []byte) bool { return len(h) >= 8 && string(h[4:8]) == "ftyp" }, `a size and "ftyp"`}
	case "audio/ogg", "audio/opus", "video/ogg":
		return &magic{"Ogg", func(h []byte) bool { return bytes.HasPrefix(h, []byte("OggS")) }, `"OggS"`}
	case "audio/webm", "video/webm":
		return &magic{"WebM", func(h []byte) bool { return bytes.HasPrefix(h, []byte{0x1A, 0x45, 0xDF, 0xA3}) }, "the EBML header 1A 45 DF A3"}
	}
	return nil
}

func mediaType(contentType string) string {
	t, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(contentType))
	}
	return t
}

// Check reads all of r and checks that it is a file of the Content-Type
// contentType. The error says what is wrong, in a sentence that names
// no value of the file beyond its first bytes; a reading error is wrapped.
func Check(contentType string, r io.Reader) (Info, error) {
	info := Info{Type: mediaType(contentType), Checked: true}
	cr := &counter{r: r}
	switch {
	case IsWAV(info.Type):
		w, err := wavinfo.Read(cr)
		info.Bytes = cr.n
		info.WAV = &w
		if err != nil {
			return info, err
		}
		return info, nil
	case info.Type == "application/json" || strings.HasSuffix(info.Type, "+json"):
		data, err := io.ReadAll(cr)
		info.Bytes = cr.n
		if err != nil {
			return info, fmt.Errorf("reading the file after %d bytes: %w", cr.n, err)
		}
		if !json.Valid(data) {
			return info, errors.New("the file is not valid JSON, though its Content-Type says so")
		}
		return info, nil
	}
	head := make([]byte, 16)
	n, err := io.ReadFull(cr, head)
	head = head[:n]
	if err == nil {
		_, err = io.Copy(io.Discard, cr)
	} else if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = nil
	}
	info.Bytes = cr.n
	if err != nil {
		return info, fmt.Errorf("reading the file after %d bytes: %w", cr.n, err)
	}
	if info.Bytes == 0 {
		return info, errors.New("the file is empty")
	}
	m := magicOf(info.Type)
	if m == nil {
		info.Checked = false
		return info, nil
	}
	if !m.match(head) {
		return info, fmt.Errorf("the file is not %s, though its Content-Type is %s: it starts with %q, not %s", m.name, info.Type, printable(head), m.want)
	}
	return info, nil
}

func printable(b []byte) string {
	if len(b) > 8 {
		b = b[:8]
	}
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 32 || c > 126 {
			c = '.'
		}
		out[i] = c
	}
	return string(out)
}

type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
