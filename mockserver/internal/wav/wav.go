// Package wav generates the audio the mock server serves: a RIFF/WAVE file of
// 16-bit PCM, mono, whose samples are computed on demand from a seed, so a
// file of any length is served without being held in memory.
//
// The sound is a three-note chord whose pitches (between 180 and 1200 Hz) come
// from the prompt, with a slow tremolo, a quiet deterministic hiss and 20 ms
// fades at both ends. Every sample is a pure function of the seed, its index
// and the number of samples, so any byte range can be produced without
// generating what precedes it; this is what makes Seek and ReadAt cheap.
//
// The phase of each tone at sample i is the integer i·step mod 2^32, and its
// sine is a polynomial whose floating-point operations are explicitly rounded
// one by one, so the bytes do not depend on whether the compiler fuses
// multiply-adds: the same prompt and duration give the same file on every
// platform.
package wav

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
	"time"
)

// SampleRate is the number of samples per second.
const SampleRate = 22050 // samples per second

// HeaderSize is the size of the header before the samples.
const HeaderSize = 44

const (
	bytesPerSample = 2 // 16-bit mono

	// maxSamples is the largest number of samples whose sizes still fit the
	// 32-bit size fields of the header: RIFF size = 36 + 2*maxSamples.
	maxSamples = (math.MaxUint32 - 36) / bytesPerSample

	// fadeSamples is the length of the fade in and the fade out (20 ms).
	fadeSamples = SampleRate / 50
)

// Samples returns the number of samples in a file of d: d rounded down to
// whole samples. A negative d counts as 0, and a d longer than a WAV file can
// describe (about 27 hours) is cut to the longest that fits.
func Samples(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	// Split d to keep d*SampleRate from overflowing.
	n := int64(d/time.Second)*SampleRate + int64(d%time.Second)*SampleRate/int64(time.Second)
	return min(n, maxSamples)
}

// Size returns the size in bytes of a file of d (rounded down to whole
// samples; negative d is treated as 0): HeaderSize plus two bytes for each of
// Samples(d).
func Size(d time.Duration) int64 {
	return HeaderSize + bytesPerSample*Samples(d)
}

// File is a generated WAV file. It implements io.Reader, io.Seeker and
// io.ReaderAt over Size bytes, computing the bytes asked for on each call.
// ReadAt may be called concurrently; Read and Seek share a position and may
// not.
type File struct {
	seed    uint64
	samples int64     // number of samples
	size    int64     // HeaderSize + bytesPerSample*samples
	pos     int64     // position of Read, set by Seek
	steps   [3]uint64 // per-sample phase increments of the tones (2^32 = one turn)
	lfoStep uint64    // per-sample phase increment of the tremolo
	header  [HeaderSize]byte
}

// New returns the file for prompt lasting d, as an io.ReadSeeker over
// Size(d) bytes. The same prompt and duration always give the same bytes.
// Reading allocates nothing per call beyond the caller's buffer.
func New(prompt string, d time.Duration) *File {
	return NewSeeded(Seed(prompt), d)
}

// Seed returns the seed [New] derives from a prompt, for callers that keep
// the seed rather than the prompt.
func Seed(prompt string) uint64 { return fnv64a(prompt) }

// NewSeeded is [New] for a seed from [Seed].
func NewSeeded(seed uint64, d time.Duration) *File {
	f := &File{seed: seed, samples: Samples(d)}
	f.size = HeaderSize + bytesPerSample*f.samples

	// Pitches in millihertz: a root in [180, 400) Hz, and two notes above it
	// at just-intonation ratios, the highest at most 3 × 400 = 1200 Hz.
	r := f.seed
	next := func() uint64 { r = splitmix64(r); return r }
	root := 180_000 + next()%220_000
	thirds := [...][2]uint64{{5, 4}, {6, 5}, {4, 3}, {3, 2}}
	tops := [...][2]uint64{{2, 1}, {5, 2}, {3, 1}, {9, 4}}
	mid := thirds[next()%uint64(len(thirds))]
	top := tops[next()%uint64(len(tops))]
	f.steps = [3]uint64{
		phaseStep(root),
		phaseStep(root * mid[0] / mid[1]),
		phaseStep(root * top[0] / top[1]),
	}
	// Tremolo between 0.25 and 2 Hz.
	f.lfoStep = phaseStep(250 + next()%1750)

	h := f.header[:]
	data := uint32(bytesPerSample * f.samples)
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], 36+data)
	copy(h[8:], "WAVE")
	copy(h[12:], "fmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)                        // fmt chunk size
	binary.LittleEndian.PutUint16(h[20:], 1)                         // PCM
	binary.LittleEndian.PutUint16(h[22:], 1)                         // mono
	binary.LittleEndian.PutUint32(h[24:], SampleRate)                // sample rate
	binary.LittleEndian.PutUint32(h[28:], SampleRate*bytesPerSample) // byte rate
	binary.LittleEndian.PutUint16(h[32:], bytesPerSample)            // block align
	binary.LittleEndian.PutUint16(h[34:], 8*bytesPerSample)          // bits per sample
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], data)
	return f
}

// Size returns the size of f in bytes.
func (f *File) Size() int64 { return f.size }

// Read reads the bytes at the current position into p and advances the
// position past them. At or past the end it returns 0, io.EOF.
func (f *File) Read(p []byte) (int, error) {
	if f.pos >= f.size {
		return 0, io.EOF
	}
	n, _ := f.ReadAt(p, f.pos) // only io.EOF is possible, for a short read
	f.pos += int64(n)
	return n, nil
}

// Seek sets the position of the next Read to offset, relative to the start
// for io.SeekStart, the current position for io.SeekCurrent or the end for
// io.SeekEnd, and returns the new position. A position past the end is
// allowed (Read then returns io.EOF); a negative one is an error, as is an
// unknown whence, and on error the position does not change.
func (f *File) Seek(offset int64, whence int) (int64, error) {
	var base int64
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		base = f.pos
	case io.SeekEnd:
		base = f.size
	default:
		return 0, errors.New("wav: seek: invalid whence")
	}
	if offset > 0 && base > math.MaxInt64-offset {
		return 0, errors.New("wav: seek: position out of range")
	}
	pos := base + offset
	if pos < 0 {
		return 0, errors.New("wav: seek: negative position")
	}
	f.pos = pos
	return pos, nil
}

// ReadAt reads len(p) bytes starting at byte offset off into p, following
// io.ReaderAt: when fewer than len(p) bytes remain it reads those and returns
// io.EOF. It does not use or move the position of Read and Seek.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("wav: readat: negative offset")
	}
	if off >= f.size {
		return 0, io.EOF
	}
	want := len(p)
	if rest := f.size - off; int64(want) > rest {
		p = p[:rest]
	}
	f.fill(p, off)
	if len(p) < want {
		return len(p), io.EOF
	}
	return len(p), nil
}

// fill writes the bytes at off to p, which must not reach past f.size.
func (f *File) fill(p []byte, off int64) {
	if off < HeaderSize {
		n := copy(p, f.header[off:])
		p = p[n:]
		off += int64(n)
	}
	if len(p) == 0 {
		return
	}
	b := off - HeaderSize
	i := b / bytesPerSample
	if b%bytesPerSample == 1 { // starting with the high byte of sample i
		p[0] = byte(uint16(f.sample(i)) >> 8)
		p = p[1:]
		i++
	}
	for len(p) >= 2 {
		binary.LittleEndian.PutUint16(p, uint16(f.sample(i)))
		p = p[2:]
		i++
	}
	if len(p) == 1 { // ending with the low byte of sample i
		p[0] = byte(uint16(f.sample(i)))
	}
}

// Mix levels, as fractions of full scale. Their sum bounds the peak: 0.49.
const (
	level0     = 0.22
	level1     = 0.15
	level2     = 0.10
	noiseLevel = 0.02
)

// sample returns sample i of f, a pure function of f.seed, i and f.samples.
//
// Each product is converted to float64 explicitly: per the Go spec this
// forces rounding and stops the compiler from fusing it with the following
// addition, which would change results between architectures.
func (f *File) sample(i int64) int16 {
	u := uint64(i)
	v := float64(level0*sin32(uint32(u*f.steps[0]))) +
		float64(level1*sin32(uint32(u*f.steps[1]))) +
		float64(level2*sin32(uint32(u*f.steps[2])))

	// Noise: the top 11 bits of a hash of (seed, i), centred on zero.
	h := splitmix64(f.seed ^ u*0xd1b54a32d192ed03)
	v += float64(float64(int64(h>>53)-1024) * (noiseLevel / 1024))

	// Tremolo between 0.75 and 1 (a triangle wave, which is as smooth to
	// the ear as a sine at this rate and cheaper), times the fades.
	env := 0.875 + float64(float64(tri32(uint32(u*f.lfoStep)))*(0.125/(1<<30)))
	if e := min(i, f.samples-1-i); e < fadeSamples {
		env = float64(env*float64(e)) * (1.0 / fadeSamples)
	}
	// Truncation toward zero; the clamp is only a safeguard, the peak is
	// about half of full scale.
	s := int32(float64(v*env) * 32767)
	return int16(max(-32767, min(32767, s)))
}

// Coefficients of the Taylor series of sin(πx), odd terms up to x⁹, with x
// = y/2^31 folded into them so that sin32 can use y = tri32(p) directly. On
// |x| ≤ 1/2 the error of the series is below 4e-6, a tenth of a 16-bit step
// at the levels used here.
const (
	s1 = math.Pi / (1 << 31)
	s3 = -math.Pi * math.Pi * math.Pi / 6 / (1 << 93)
	s5 = math.Pi * math.Pi * math.Pi * math.Pi * math.Pi / 120 / (1 << 155)
	s7 = -math.Pi * math.Pi * math.Pi * math.Pi * math.Pi * math.Pi * math.Pi / 5040 / (1 << 217)
	s9 = math.Pi * math.Pi * math.Pi * math.Pi * math.Pi * math.Pi * math.Pi * math.Pi * math.Pi / 362880 / (1 << 279)
)

// tri32 returns a triangle wave of the phase p, where 2^32 is one turn, in
// [-2^30, 2^30]: it equals int32(p) near 0 and mirrors it around ±1/4 turn, so
// that sin(p) = sin(π·tri32(p)/2^31). It has no branches.
func tri32(p uint32) int64 {
	a := int64(int32(p + 1<<30))
	m := a >> 63
	return (a ^ m) - m - 1<<30
}

// sin32 returns the sine of the phase p, where 2^32 is one turn. It is
// small enough to be inlined, which matters for speed.
func sin32(p uint32) float64 {
	y := float64(tri32(p)) // in [-2^30, 2^30], x = y/2^31
	y2 := float64(y * y)
	r := float64(s9*y2) + s7
	r = float64(r*y2) + s5
	r = float64(r*y2) + s3
	r = float64(r*y2) + s1
	return float64(r * y)
}

// fnv64a returns the 64-bit FNV-1a hash of s.
func fnv64a(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// splitmix64 returns a well-mixed hash of x (the SplitMix64 output function
// applied to x plus its increment).
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// phaseStep returns the per-sample phase increment of a tone of mhz
// millihertz, with 2^32 as one turn.
func phaseStep(mhz uint64) uint64 {
	return mhz << 32 / (SampleRate * 1000)
}
