package scenarios_test

import (
	"io"
	"io/fs"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/cambmock/cambmock/scenarios"
)

// promptly runs load and returns its error, failing the test if it has
// not returned within a few seconds, rather than hanging on a file that
// never ends.
func promptly(t *testing.T, what string, load func() ([]*scenarios.Scenario, error)) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := load()
		done <- err
	}()
	const limit = 5 * time.Second
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		t.Fatalf("%s did not return within %v", what, limit)
		return nil
	}
}

const goodFile = "description: good\npoll:\n  - status: SUCCESS\n"

// TestLoadFSModes: Load refuses an entry of fs.FS that is not a regular
// file from its mode, before it is opened.
func TestLoadFSModes(t *testing.T) {
	spec := loadSpec(t)
	tests := []struct {
		name string
		mode fs.FileMode
		want string
	}{
		{"named pipe", fs.ModeNamedPipe, "pipe.yaml: not a regular file (a named pipe); replace it with a scenario file, or move it out of the folder"},
		{"character device", fs.ModeDevice | fs.ModeCharDevice, "pipe.yaml: not a regular file (a character device); replace it with a scenario file, or move it out of the folder"},
		{"device", fs.ModeDevice, "pipe.yaml: not a regular file (a device); replace it with a scenario file, or move it out of the folder"},
		{"socket", fs.ModeSocket, "pipe.yaml: not a regular file (a socket); replace it with a scenario file, or move it out of the folder"},
		{"irregular", fs.ModeIrregular, "pipe.yaml: not a regular file (an irregular file); replace it with a scenario file, or move it out of the folder"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{
				"good.yaml": {Data: []byte(goodFile)},
				"pipe.yaml": {Data: []byte(goodFile), Mode: tc.mode},
			}
			err := promptly(t, "Load", func() ([]*scenarios.Scenario, error) { return scenarios.Load(fsys, spec) })
			if err == nil || err.Error() != tc.want {
				t.Errorf("Load(...) = %v; want %q", err, tc.want)
			}
		})
	}
}

// sizedFS serves big.yaml, whose size is what Stat says, and whose
// content never ends; it counts the bytes read from it.
type sizedFS struct {
	fstest.MapFS // lists big.yaml
	size         int64
	read         *atomic.Int64
}

type sizedInfo struct {
	fs.FileInfo
	size int64
}

func (i sizedInfo) Size() int64 { return i.size }

func (f sizedFS) Stat(name string) (fs.FileInfo, error) {
	info, err := f.MapFS.Stat(name)
	if err != nil || name != "big.yaml" {
		return info, err
	}
	return sizedInfo{info, f.size}, nil
}

func (f sizedFS) Open(name string) (fs.File, error) {
	if name != "big.yaml" {
		return f.MapFS.Open(name)
	}
	info, err := f.Stat(name)
	if err != nil {
		return nil, err
	}
	return &endless{info: info, read: f.read}, nil
}

// endless is a file of comment lines that never ends.
type endless struct {
	info fs.FileInfo
	read *atomic.Int64
}

func (e *endless) Stat() (fs.FileInfo, error) { return e.info, nil }
func (e *endless) Close() error               { return nil }
func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '#'
	}
	e.read.Add(int64(len(p)))
	return len(p), nil
}

var _ io.Reader = (*endless)(nil)

// TestLoadLimits: a file too large is refused from its size before a
// byte is read, and one that grows past the limit is read no further
// than one byte over it.
func TestLoadLimits(t *testing.T) {
	spec := loadSpec(t)
	t.Run("too large", func(t *testing.T) {
		fsys := sizedFS{MapFS: fstest.MapFS{"big.yaml": {}}, size: 100 << 20, read: new(atomic.Int64)}
		err := promptly(t, "Load", func() ([]*scenarios.Scenario, error) { return scenarios.Load(fsys, spec) })
		want := "big.yaml: file is 104857600 bytes; a scenario file may have at most 1048576"
		if err == nil || err.Error() != want {
			t.Errorf("Load(...) = %v; want %q", err, want)
		}
		if n := fsys.read.Load(); n != 0 {
			t.Errorf("Load(...) read %d bytes of a file it refuses from its size; want 0", n)
		}
	})
	t.Run("grows", func(t *testing.T) {
		fsys := sizedFS{MapFS: fstest.MapFS{"big.yaml": {}}, size: 100, read: new(atomic.Int64)}
		err := promptly(t, "Load", func() ([]*scenarios.Scenario, error) { return scenarios.Load(fsys, spec) })
		want := "big.yaml: file is over 1048576 bytes; a scenario file may have at most 1048576"
		if err == nil || err.Error() != want {
			t.Errorf("Load(...) = %v; want %q", err, want)
		}
		if n := fsys.read.Load(); n != scenarios.MaxFileSize+1 {
			t.Errorf("Load(...) read %d bytes of an endless file; want %d", n, scenarios.MaxFileSize+1)
		}
	})
	t.Run("at the limit", func(t *testing.T) {
		data := []byte(goodFile + "#" + strings.Repeat("x", scenarios.MaxFileSize-len(goodFile)-2) + "\n")
		if len(data) != scenarios.MaxFileSize {
			t.Fatalf("the file is %d bytes; want %d", len(data), scenarios.MaxFileSize)
		}
		if _, err := scenarios.Load(fstest.MapFS{"good.yaml": {Data: data}}, spec); err != nil {
			t.Errorf("Load(a file of MaxFileSize bytes) = %v; want nil", err)
		}
	})
}
