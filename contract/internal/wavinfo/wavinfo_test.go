package wavinfo_test

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/cambmock/cambmock/contract/internal/wavinfo"
)

// build writes a WAV with the given chunks between the header and data.
func build(rate uint32, channels, bits uint16, samples int, extra []byte, declared int64) []byte {
	var b bytes.Buffer
	data := int(channels) * int(bits/8) * samples
	if declared < 0 {
		declared = int64(data)
	}
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+len(extra)+data))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, binary.LittleEndian, uint32(16))
	binary.Write(&b, binary.LittleEndian, uint16(1))
	binary.Write(&b, binary.LittleEndian, channels)
	binary.Write(&b, binary.LittleEndian, rate)
	binary.Write(&b, binary.LittleEndian, rate*uint32(channels)*uint32(bits/8))
	binary.Write(&b, binary.LittleEndian, channels*bits/8)
	binary.Write(&b, binary.LittleEndian, bits)
	b.Write(extra)
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(declared))
	b.Write(make([]byte, data))
	return b.Bytes()
}

func TestRead(t *testing.T) {
	list := []byte("LIST\x04\x00\x00\x00INFO")
	tests := []struct {
		name    string
		data    []byte
		want    time.Duration
		wantErr string
	}{
		{name: "mono 16-bit", data: build(22050, 1, 16, 22050*2, nil, -1), want: 2 * time.Second},
		{name: "stereo 44.1k with a LIST chunk", data: build(44100, 2, 16, 44100/2, list, -1), want: 500 * time.Millisecond},
		{name: "streamed size", data: build(8000, 1, 8, 8000, nil, 0), want: time.Second},
		{name: "not RIFF", data: []byte(`{"detail":"Not found"}`), wantErr: `not a WAV file: it starts with "{\"detail\":\"N", not "RIFF....WAVE"`},
		{name: "short", data: []byte("RIFF"), wantErr: "the file is 4 bytes, too short for a RIFF header"},
		{name: "cut off", data: build(22050, 1, 16, 22050, nil, -1)[:1000], wantErr: "the data chunk declares 44100 bytes but the file holds 956: it is cut off"},
		{name: "no data", data: build(22050, 1, 16, 0, nil, -1)[:36], wantErr: "the file has no data chunk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := wavinfo.Read(bytes.NewReader(tt.data))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Read() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := info.Duration(); got != tt.want {
				t.Errorf("Duration() = %v, want %v", got, tt.want)
			}
		})
	}
}
