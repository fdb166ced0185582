// Package wavinfo reads the structure of a RIFF/WAVE file as it streams
// past, to check audio an API returns without holding it in memory.
package wavinfo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// Info describes a WAV file.
type Info struct {
	Format        uint16 // 1 PCM, 3 IEEE float, 0xFFFE extensible
	Channels      uint16
	SampleRate    uint32
	BitsPerSample uint16
	DataBytes     int64 // the bytes of samples actually read
	Declared      int64 // the data chunk's declared size; -1 when it says "unknown"
	TotalBytes    int64 // the whole file
}

// Duration is the length of the audio read.
func (i Info) Duration() time.Duration {
	frame := int64(i.Channels) * int64(i.BitsPerSample/8)
	if frame == 0 || i.SampleRate == 0 {
		return 0
	}
	frames := i.DataBytes / frame
	return time.Duration(frames) * time.Second / time.Duration(i.SampleRate)
}

func (i Info) String() string {
	return fmt.Sprintf("%d Hz, %d-bit, %d channel(s), %v", i.SampleRate, i.BitsPerSample, i.Channels, i.Duration().Round(time.Millisecond))
}

// Read reads a whole WAV file from r and checks its structure: the RIFF
// and WAVE tags, a fmt chunk before the data chunk, sane format fields,
// and a data chunk whose declared size the stream really holds.
func Read(r io.Reader) (Info, error) {
	var info Info
	cr := &countReader{r: r}
	var hdr [12]byte
	if _, err := io.ReadFull(cr, hdr[:]); err != nil {
		return info, fmt.Errorf("the file is %d bytes, too short for a RIFF header", cr.n)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return info, fmt.Errorf("not a WAV file: it starts with %q, not \"RIFF....WAVE\"", printable(hdr[:]))
	}
	haveFmt := false
	for {
		var ch [8]byte
		n, err := io.ReadFull(cr, ch[:])
		if err == io.EOF && n == 0 {
			info.TotalBytes = cr.n
			return info, errors.New("the file has no data chunk")
		}
		if err != nil {
			info.TotalBytes = cr.n
			return info, fmt.Errorf("the file ends inside a chunk header at byte %d", cr.n)
		}
		id := string(ch[0:4])
		size := int64(binary.LittleEndian.Uint32(ch[4:8]))
		switch id {
		case "fmt ":
			if size < 16 || size > 1<<16 {
				return info, fmt.Errorf("the fmt chunk is %d bytes; it must be at least 16", size)
			}
			buf := make([]byte, size+size%2)
			if _, err := io.ReadFull(cr, buf); err != nil {
				return info, errors.New("the file ends inside its fmt chunk")
			}
			info.Format = binary.LittleEndian.Uint16(buf[0:2])
			info.Channels = binary.LittleEndian.Uint16(buf[2:4])
			info.SampleRate = binary.LittleEndian.Uint32(buf[4:8])
			blockAlign := binary.LittleEndian.Uint16(buf[12:14])
			info.BitsPerSample = binary.LittleEndian.Uint16(buf[14:16])
			switch {
			case info.Format != 1 && info.Format != 3 && info.Format != 0xFFFE:
				return info, fmt.Errorf("audio format %d is not PCM (1), float (3) or extensible (65534)", info.Format)
			case info.Channels == 0:
				return info, errors.New("the fmt chunk says 0 channels")
			case info.SampleRate == 0:
				return info, errors.New("the fmt chunk says a sample rate of 0")
			case info.BitsPerSample == 0 || info.BitsPerSample%8 != 0:
				return info, fmt.Errorf("%d bits per sample is not a whole number of bytes", info.BitsPerSample)
			case int(blockAlign) != int(info.Channels)*int(info.BitsPerSample/8):
				return info, fmt.Errorf("block align %d does not match %d channel(s) of %d bits", blockAlign, info.Channels, info.BitsPerSample)
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return info, errors.New("the data chunk comes before the fmt chunk")
			}
			info.Declared = size
			if size == 0xFFFFFFFF || size == 0 {
				info.Declared = -1 // streamed: the size was not known when the header was written
			}
			n, err := io.Copy(io.Discard, cr)
			info.DataBytes = n
			info.TotalBytes = cr.n
			if err != nil {
				return info, fmt.Errorf("reading the samples after %d bytes: %w", n, err)
			}
			if info.Declared >= 0 && n < info.Declared {
				return info, fmt.Errorf("the data chunk declares %d bytes but the file holds %d: it is cut off", info.Declared, n)
			}
			if info.Declared >= 0 {
				info.DataBytes = info.Declared
			}
			return info, nil
		default:
			if _, err := io.CopyN(io.Discard, cr, size+size%2); err != nil {
				return info, fmt.Errorf("the file ends inside its %q chunk", id)
			}
		}
	}
}

func printable(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 32 || c > 126 {
			c = '.'
		}
		out[i] = c
	}
	return string(out)
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
