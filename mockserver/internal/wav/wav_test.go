package wav_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"testing/iotest"
	"time"

	"github.com/cambmock/cambmock/mockserver/internal/wav"
)

func readAll(t testing.TB, f *wav.File) []byte {
	t.Helper()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	return b
}

// samples decodes the 16-bit samples after the header.
func samples(b []byte) []int16 {
	b = b[wav.HeaderSize:]
	s := make([]int16, len(b)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return s
}

func TestSamplesAndSize(t *testing.T) {
	for _, tc := range []struct {
		d       time.Duration
		samples int64
	}{
		{-time.Second, 0},
		{0, 0},
		{time.Nanosecond, 0},
		{time.Second / wav.SampleRate, 0}, // 45351 ns, just short of one sample
		{time.Second/wav.SampleRate + 1, 1},
		{time.Millisecond, 22},
		{time.Second, wav.SampleRate},
		{1500 * time.Millisecond, 33075},
		{10 * time.Minute, 600 * wav.SampleRate},
		{27 * time.Hour, 27 * 3600 * wav.SampleRate},
		{28 * time.Hour, (math.MaxUint32 - 36) / 2}, // the most a header can describe
		{math.MaxInt64, (math.MaxUint32 - 36) / 2},
	} {
		if got := wav.Samples(tc.d); got != tc.samples {
			t.Errorf("Samples(%v) = %d, want %d", tc.d, got, tc.samples)
		}
		if got, want := wav.Size(tc.d), wav.HeaderSize+2*tc.samples; got != want {
			t.Errorf("Size(%v) = %d, want %d", tc.d, got, want)
		}
		if got, want := wav.New("x", tc.d).Size(), wav.Size(tc.d); got != want {
			t.Errorf("New(%v).Size() = %d, want %d", tc.d, got, want)
		}
	}
}

func TestHeader(t *testing.T) {
	type header struct {
		RIFF          [4]byte
		ChunkSize     uint32
		WAVE          [4]byte
		Fmt           [4]byte
		FmtSize       uint32
		AudioFormat   uint16
		Channels      uint16
		SampleRate    uint32
		ByteRate      uint32
		BlockAlign    uint16
		BitsPerSample uint16
		Data          [4]byte
		DataSize      uint32
	}
	if n := binary.Size(header{}); n != wav.HeaderSize {
		t.Fatalf("test header is %d bytes, want %d", n, wav.HeaderSize)
	}
	for _, d := range []time.Duration{0, time.Second, 8 * time.Second, 10 * time.Minute, 30 * time.Hour} {
		f := wav.New("a dog barking in the rain", d)
		var h header
		if err := binary.Read(f, binary.LittleEndian, &h); err != nil {
			t.Fatalf("%v: reading header: %v", d, err)
		}
		data := uint32(2 * wav.Samples(d))
		want := header{
			RIFF:          [4]byte{'R', 'I', 'F', 'F'},
			ChunkSize:     36 + data,
			WAVE:          [4]byte{'W', 'A', 'V', 'E'},
			Fmt:           [4]byte{'f', 'm', 't', ' '},
			FmtSize:       16,
			AudioFormat:   1,
			Channels:      1,
			SampleRate:    wav.SampleRate,
			ByteRate:      2 * wav.SampleRate,
			BlockAlign:    2,
			BitsPerSample: 16,
			Data:          [4]byte{'d', 'a', 't', 'a'},
			DataSize:      data,
		}
		if h != want {
			t.Errorf("%v: header\n got %+v\nwant %+v", d, h, want)
		}
		if int64(h.ChunkSize)+8 != f.Size() {
			t.Errorf("%v: RIFF size %d + 8 != file size %d", d, h.ChunkSize, f.Size())
		}
		if d <= 8*time.Second {
			f.Seek(0, io.SeekStart)
			if n := int64(len(readAll(t, f))); n != f.Size() || n != wav.Size(d) {
				t.Errorf("%v: read %d bytes, Size() = %d, Size(d) = %d", d, n, f.Size(), wav.Size(d))
			}
		}
	}
}

func TestDeterministic(t *testing.T) {
	const d = 2 * time.Second
	a := readAll(t, wav.New("thunder", d))
	b := readAll(t, wav.New("thunder", d))
	if !bytes.Equal(a, b) {
		t.Error("same prompt and duration gave different bytes")
	}
	c := readAll(t, wav.New("Thunder", d))
	if !bytes.Equal(a[:wav.HeaderSize], c[:wav.HeaderSize]) {
		t.Error("different prompts gave different headers")
	}
	if bytes.Equal(a[wav.HeaderSize:], c[wav.HeaderSize:]) {
		t.Error("different prompts gave the same samples")
	}
	// A longer file is not a prefix-extension of a shorter one (the fade out
	// moves) but away from the ends the samples agree.
	long := readAll(t, wav.New("thunder", 3*time.Second))
	mid := wav.HeaderSize + 2*wav.SampleRate/2
	if !bytes.Equal(a[mid:mid+1000], long[mid:mid+1000]) {
		t.Error("2 s and 3 s files differ in the middle")
	}
}

// TestGolden pins the bytes, so that a change of platform, compiler (for
// instance fused multiply-adds) or code that changes the audio is noticed.
func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		prompt string
		d      time.Duration
		sha256 string
	}{
		{"", 0, "24d5db4ca2d256752cd049a330cb406196c05f4cfe8036beb309e0e4533d21de"},
		{"rain on a tin roof", 3 * time.Second, "e0320b8f8c1d64d46ffc71d63101bc2127eb0a4d67fe8b78c57b061933bc749f"},
		{"a cat purring", 1234 * time.Millisecond, "824a8761b31c1f453315a608fd964037e4f1ad2a682f184c7ac24db7cb1b1084"},
	} {
		sum := sha256.Sum256(readAll(t, wav.New(tc.prompt, tc.d)))
		if got := hex.EncodeToString(sum[:]); got != tc.sha256 {
			t.Errorf("New(%q, %v): sha256 %s, want %s", tc.prompt, tc.d, got, tc.sha256)
		}
	}
}

func TestAudible(t *testing.T) {
	for _, prompt := range []string{"", "birds", "a dog barking in the rain", "ocean waves", "engine"} {
		s := samples(readAll(t, wav.New(prompt, time.Second)))
		var sum float64
		var peak, clipped int
		for _, v := range s {
			x := float64(v) / 32768
			sum += x * x
			peak = max(peak, abs(int(v)))
			if v == math.MinInt16 || v == math.MaxInt16 {
				clipped++
			}
		}
		rms := math.Sqrt(sum / float64(len(s)))
		t.Logf("%q: rms %.3f, peak %.3f", prompt, rms, float64(peak)/32768)
		if rms < 0.1 {
			t.Errorf("%q: rms %.3f of full scale, want > 0.1", prompt, rms)
		}
		if float64(peak) > 0.6*32768 {
			t.Errorf("%q: peak %.3f of full scale, want about 0.5", prompt, float64(peak)/32768)
		}
		if clipped > 0 {
			t.Errorf("%q: %d samples clipped", prompt, clipped)
		}
		// Fades: the first and last samples are silent, and the first 20 ms
		// stay well below the peak near the start.
		if s[0] != 0 || s[len(s)-1] != 0 {
			t.Errorf("%q: first and last samples %d, %d, want 0 (fades)", prompt, s[0], s[len(s)-1])
		}
		for i := range 20 {
			if a := abs(int(s[i])); a > 32768/20 {
				t.Errorf("%q: sample %d is %d, too loud for the fade in", prompt, i, s[i])
				break
			}
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func TestRandomAccess(t *testing.T) {
	f := wav.New("glass shattering", 2*time.Second)
	want := readAll(t, f)
	size := int64(len(want))
	if size != f.Size() {
		t.Fatalf("read %d bytes, Size() = %d", size, f.Size())
	}
	rng := rand.New(rand.NewPCG(1, 2))

	check := func(off int64, n int) {
		t.Helper()
		buf := make([]byte, n)
		end := min(off+int64(n), size)
		var wantN int
		var wantSlice []byte
		if off < size {
			wantSlice = want[off:end]
			wantN = int(end - off)
		}

		got, err := f.ReadAt(buf, off)
		if got != wantN || !bytes.Equal(buf[:got], wantSlice) {
			t.Errorf("ReadAt(%d bytes, %d) = %d bytes, want %d; equal %v", n, off, got, wantN, bytes.Equal(buf[:got], wantSlice))
		}
		if wantErr := wantN < n || off >= size; (err == io.EOF) != wantErr || (err != nil && err != io.EOF) {
			t.Errorf("ReadAt(%d bytes, %d): err %v, want EOF %v", n, off, err, wantErr)
		}

		if pos, err := f.Seek(off, io.SeekStart); pos != off || err != nil {
			t.Fatalf("Seek(%d) = %d, %v", off, pos, err)
		}
		clear(buf)
		got, err = io.ReadFull(f, buf)
		if got != wantN || !bytes.Equal(buf[:got], wantSlice) {
			t.Errorf("Seek(%d)+Read(%d bytes) = %d bytes, want %d; equal %v", off, n, got, wantN, bytes.Equal(buf[:got], wantSlice))
		}
		if wantN == n && err != nil {
			t.Errorf("Seek(%d)+Read(%d bytes): %v", off, n, err)
		}
		if pos, _ := f.Seek(0, io.SeekCurrent); pos != off+int64(got) {
			t.Errorf("after Seek(%d)+Read of %d bytes, position %d", off, got, pos)
		}
	}

	// Edges: header boundary, odd offsets, the end.
	for _, off := range []int64{0, 1, 3, 43, 44, 45, 46, 47, size - 3, size - 2, size - 1, size, size + 5} {
		for _, n := range []int{0, 1, 2, 3, 4, 5, 44, 45, 100} {
			check(off, n)
		}
	}
	for range 2000 {
		var off int64
		switch rng.IntN(3) {
		case 0: // near the header boundary
			off = rng.Int64N(2 * wav.HeaderSize)
		case 1: // odd offset
			off = rng.Int64N(size/2)*2 + 1
		default:
			off = rng.Int64N(size + 10)
		}
		n := rng.IntN(70000)
		if rng.IntN(2) == 0 {
			n = rng.IntN(64)
		}
		check(off, n)
	}
}

func TestIOTest(t *testing.T) {
	f := wav.New("short", 10*time.Millisecond)
	want := readAll(t, wav.New("short", 10*time.Millisecond))
	if err := iotest.TestReader(f, want); err != nil {
		t.Error(err)
	}
	if err := iotest.TestReader(wav.New("", 0), readAll(t, wav.New("", 0))); err != nil {
		t.Error(err)
	}
}

func TestSeek(t *testing.T) {
	f := wav.New("wind", time.Second)
	size := f.Size()
	if pos, err := f.Seek(100, io.SeekStart); pos != 100 || err != nil {
		t.Fatalf("Seek(100, Start) = %d, %v", pos, err)
	}
	for _, tc := range []struct {
		offset int64
		whence int
	}{
		{-1, io.SeekStart},
		{-101, io.SeekCurrent},
		{-size - 1, io.SeekEnd},
		{math.MinInt64, io.SeekEnd},
		{math.MaxInt64, io.SeekEnd}, // overflow
		{0, 3},
		{0, -1},
	} {
		pos, err := f.Seek(tc.offset, tc.whence)
		if err == nil {
			t.Errorf("Seek(%d, %d) = %d, want an error", tc.offset, tc.whence, pos)
		}
		if cur, _ := f.Seek(0, io.SeekCurrent); cur != 100 {
			t.Errorf("after failed Seek(%d, %d), position %d, want 100", tc.offset, tc.whence, cur)
		}
	}
	for _, tc := range []struct {
		offset int64
		whence int
		want   int64
	}{
		{-100, io.SeekCurrent, 0},
		{10, io.SeekCurrent, 10},
		{-2, io.SeekEnd, size - 2},
		{0, io.SeekEnd, size},
		{5, io.SeekEnd, size + 5}, // past the end is allowed
	} {
		if pos, err := f.Seek(tc.offset, tc.whence); pos != tc.want || err != nil {
			t.Errorf("Seek(%d, %d) = %d, %v, want %d", tc.offset, tc.whence, pos, err, tc.want)
		}
	}
	if n, err := f.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Errorf("Read past the end = %d, %v, want 0, EOF", n, err)
	}
	if n, err := f.ReadAt(make([]byte, 10), -1); n != 0 || err == nil || err == io.EOF {
		t.Errorf("ReadAt(-1) = %d, %v, want an error", n, err)
	}
}

func TestStreamingMemory(t *testing.T) {
	const d = 10 * time.Minute
	f := wav.New("a long thunderstorm", d)

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	n, err := io.Copy(io.Discard, f)
	runtime.ReadMemStats(&after)
	if err != nil || n != wav.Size(d) {
		t.Fatalf("io.Copy = %d, %v, want %d", n, err, wav.Size(d))
	}
	// io.Copy uses a 32 KiB buffer of its own; the file itself must add
	// nothing that grows with its 26 MB.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("copying %d bytes allocated %d bytes", n, alloc)
	}

	buf := make([]byte, 32<<10)
	var off int64
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := f.ReadAt(buf, off); err != nil {
			t.Fatal(err)
		}
		off = (off + 1<<20 + 1) % (f.Size() - int64(len(buf)))
	})
	if allocs != 0 {
		t.Errorf("ReadAt: %v allocations per call, want 0", allocs)
	}
	f.Seek(0, io.SeekStart)
	allocs = testing.AllocsPerRun(100, func() {
		if _, err := f.Read(buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Read: %v allocations per call, want 0", allocs)
	}
}

func BenchmarkRead(b *testing.B) {
	f := wav.New("benchmark", 10*time.Second)
	buf := make([]byte, 32<<10)
	b.SetBytes(f.Size())
	b.ReportAllocs()
	for b.Loop() {
		f.Seek(0, io.SeekStart)
		for {
			if _, err := f.Read(buf); err == io.EOF {
				break
			}
		}
	}
}
