package media_test

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/cambmock/cambmock/contract/internal/media"
)

// wav is a silent 8 kHz 16-bit mono WAV of n samples.
func wav(n int) []byte {
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+2*n))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(8000), uint32(16000), uint16(2), uint16(16)} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(2*n))
	b.Write(make([]byte, 2*n))
	return b.Bytes()
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name, contentType string
		data              []byte
		want              string // the error, or ""
		checked           bool
	}{
		{"wav", "audio/wav", wav(8000), "", true},
		{"wav with parameters", "audio/x-wav; codecs=1", wav(80), "", true},
		{"wav cut off", "audio/wav", wav(8000)[:100], "the data chunk declares 16000 bytes but the file holds 56: it is cut off", true},
		{"flac", "audio/flac", []byte("fLaC\x00\x00\x00\x22rest"), "", true},
		{"wav labelled flac", "audio/flac", wav(80), `the file is not FLAC, though its Content-Type is audio/flac: it starts with "RIFF....", not "fLaC"`, true},
		{"mp3 with a tag", "audio/mpeg", []byte("ID3\x04\x00\x00"), "", true},
		{"mp3 frame", "audio/mpeg", []byte{0xFF, 0xFB, 0x90, 0x00}, "", true},
		{"mp4", "video/mp4", []byte("\x00\x00\x00\x18ftypmp42"), "", true},
		{"ogg", "audio/ogg", []byte("OggS\x00\x02"), "", true},
		{"json", "application/json", []byte(`{"a":1}`), "", true},
		{"bad json", "application/json; charset=utf-8", []byte(`{"a":`), "the file is not valid JSON, though its Content-Type says so", true},
		{"unknown type", "application/octet-stream", []byte("whatever"), "", false},
		{"empty", "audio/mpeg", nil, "the file is empty", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := media.Check(tt.contentType, bytes.NewReader(tt.data))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Check(%q) error = %q; want %q", tt.contentType, got, tt.want)
			}
			if err == nil && (info.Checked != tt.checked || info.Bytes != int64(len(tt.data))) {
				t.Errorf("Check(%q) = %+v; want checked %v, %d bytes", tt.contentType, info, tt.checked, len(tt.data))
			}
		})
	}
	info, _ := media.Check("audio/wav", bytes.NewReader(wav(4000)))
	if info.Duration() != 500*time.Millisecond || info.String() != "audio/wav, 8000 Hz, 16-bit, 1 channel(s), 500ms, 8044 bytes" {
		t.Errorf("Check(audio/wav) = %v, %s; want 500ms", info.Duration(), info)
	}
}

func TestKnown(t *testing.T) {
	for ct, want := range map[string]bool{"audio/wav": true, "AUDIO/FLAC": true, "video/mp4": true, "application/json": true, "audio/x-unknown": false, "": false} {
		if got := media.Known(ct); got != want {
			t.Errorf("Known(%q) = %v; want %v", ct, got, want)
		}
	}
}
