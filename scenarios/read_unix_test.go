//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package scenarios_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock/scenarios"
)

// TestLoadPathNotRegular: scenario files that would block or never end
// (a named pipe, a link to /dev/zero) or that are too large are refused
// at once, given as the path or found in the folder.
func TestLoadPathNotRegular(t *testing.T) {
	spec := loadSpec(t)
	mkfifo := func(t *testing.T, p string) {
		t.Helper()
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Skipf("cannot make a named pipe: %v", err)
		}
	}
	zero := func(t *testing.T, p string) {
		t.Helper()
		if _, err := os.Stat("/dev/zero"); err != nil {
			t.Skipf("no /dev/zero: %v", err)
		}
		if err := os.Symlink("/dev/zero", p); err != nil {
			t.Fatal(err)
		}
	}
	sparse := func(t *testing.T, p string) {
		t.Helper()
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := f.Truncate(100 << 20); err != nil {
			t.Fatal(err)
		}
	}
	const (
		asPath   = "; give a scenario file or a folder of them"
		inFolder = "; replace it with a scenario file, or move it out of the folder"
	)
	tests := []struct {
		name   string
		file   string
		make   func(t *testing.T, p string)
		path   string // the path's message after the file's path
		folder string // the folder's message after the file's path
	}{
		{"named pipe", "pipe.yaml", mkfifo, ": not a regular file (a named pipe)" + asPath, ": not a regular file (a named pipe)" + inFolder},
		{"link to /dev/zero", "zero.yaml", zero, ": not a regular file (a character device)" + asPath, ": not a regular file (a character device)" + inFolder},
		{"sparse 100 MB file", "big.yaml", sparse,
			": file is 104857600 bytes; a scenario file may have at most 1048576",
			": file is 104857600 bytes; a scenario file may have at most 1048576"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "good.yaml"), []byte(goodFile), 0o644); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, tc.file)
			tc.make(t, p)

			err := promptly(t, "LoadPath(file)", func() ([]*scenarios.Scenario, error) { return scenarios.LoadPath(p, spec) })
			if diff := cmp.Diff(p+tc.path, errText(err)); diff != "" {
				t.Errorf("LoadPath(%s) mismatch (-want +got):\n%s", tc.file, diff)
			}
			err = promptly(t, "LoadPath(folder)", func() ([]*scenarios.Scenario, error) { return scenarios.LoadPath(dir, spec) })
			if diff := cmp.Diff(p+tc.folder, errText(err)); diff != "" {
				t.Errorf("LoadPath(folder with %s) mismatch (-want +got):\n%s", tc.file, diff)
			}
			err = promptly(t, "Load(os.DirFS)", func() ([]*scenarios.Scenario, error) { return scenarios.Load(os.DirFS(dir), spec) })
			if diff := cmp.Diff(tc.file+tc.folder, errText(err)); diff != "" {
				t.Errorf("Load(os.DirFS(folder with %s)) mismatch (-want +got):\n%s", tc.file, diff)
			}
		})
	}
}

// TestLoadPathLinks: a symbolic link to a regular file is read, as the
// path and in the folder.
func TestLoadPathLinks(t *testing.T) {
	spec := loadSpec(t)
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "target.yaml")
	if err := os.WriteFile(target, []byte(goodFile), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "linked.yaml")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{link, dir} {
		all, err := scenarios.LoadPath(p, spec)
		if err != nil {
			t.Fatalf("LoadPath(%s): %v", p, err)
		}
		if len(all) != 1 || all[0].Name != "linked" || all[0].File != link {
			t.Errorf("LoadPath(%s) = %+v; want the scenario linked from %s", p, all, link)
		}
	}
	// A link that leads nowhere names the file and why.
	if err := os.Symlink(filepath.Join(dir, "missing"), filepath.Join(dir, "broken.yaml")); err != nil {
		t.Fatal(err)
	}
	_, err := scenarios.LoadPath(dir, spec)
	want := filepath.Join(dir, "broken.yaml") + ": cannot be read: no such file or directory"
	if diff := cmp.Diff(want, errText(err)); diff != "" {
		t.Errorf("LoadPath(folder with a broken link) mismatch (-want +got):\n%s", diff)
	}
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
