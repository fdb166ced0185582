package scenarios

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/internal/specsnap"
)

//go:embed *.yaml
var builtin embed.FS

// builtinSnap holds the node trees of the built-in files, so that a
// start-up does not parse their YAML (see package internal/specsnap). A
// file edited since, or added, is parsed as it is; this package's tests
// fail until go generate ./... makes the bundle again.
//
//go:generate go run ../internal/specsnap/cmd/specsnap -bundle . builtin.snap
//go:embed builtin.snap
var builtinSnap []byte

// BuiltinFS returns the files of the built-in scenario library.
func BuiltinFS() fs.FS { return builtin }

// Builtins parses the built-in scenario library and checks it against
// spec. Against the embedded spec ([cambmock.Spec.Embedded]) the check is
// left to this package's tests, which make it for each built-in, so that
// a start-up does not spend milliseconds on it.
func Builtins(spec *cambmock.Spec) ([]*Scenario, error) {
	snaps, _ := specsnap.LoadBundle(builtinSnap) // a damaged bundle: the YAML is parsed
	return load(builtin, spec, func(name string) string { return "scenarios/" + name }, nil, !spec.Embedded(), snaps)
}

// Load parses and checks every scenario file (*.yaml or *.yml) in fsys and
// its folders, and returns the scenarios sorted by name. Two files that
// define one name are an error. Every problem in every file is reported.
//
// Load reads only regular files, as fs.Stat reports them (so a symbolic
// link is followed only to a regular file), and none larger than
// [MaxFileSize]: a named pipe, a device or a socket with a scenario file's
// name is refused before a byte is read from it, and so is a file whose
// size is too large. A file that grows past the limit as it is read is
// refused having read one byte more than the limit.
func Load(fsys fs.FS, spec *cambmock.Spec) ([]*Scenario, error) {
	return load(fsys, spec, func(name string) string { return name }, nil, true, nil)
}

// LoadPath is [Load] for a path on disk that names a scenario file or a
// folder of them; errors name files by their path. A path that is neither
// (a named pipe, a device such as /dev/zero, or a link to one) is refused
// at once, as are such files in the folder.
func LoadPath(p string, spec *cambmock.Spec) ([]*Scenario, error) {
	if spec == nil {
		return nil, fmt.Errorf("scenarios: loading %s: %w", p, errNoSpec)
	}
	info, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("scenarios: %w", err)
	}
	if !info.IsDir() {
		if !info.Mode().IsRegular() {
			return nil, &LoadError{File: p, Err: fmt.Errorf("not a regular file (%s); give a scenario file or a folder of them", modeName(info.Mode()))}
		}
		data, err := readFile(p, info, func() (fs.File, error) { return openFile(p) })
		if err != nil {
			return nil, err
		}
		sc, err := parseAndCheck(p, data, nil, spec, true)
		if err != nil {
			return nil, err
		}
		return []*Scenario{sc}, nil
	}
	join := func(name string) string { return filepath.Join(p, filepath.FromSlash(name)) }
	return load(os.DirFS(p), spec, join, func(name string) (fs.File, error) { return openFile(join(name)) }, true, nil)
}

// openFile opens a file on disk for reading without waiting for a writer,
// should it have become a named pipe since it was looked at.
func openFile(name string) (fs.File, error) {
	return os.OpenFile(name, os.O_RDONLY|openNonblock, 0)
}

func isScenarioFile(name string) bool {
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
}

// load reads the scenario files of fsys. display names a file in
// messages; open, when not nil, opens one in place of fsys.Open.
// check says whether each scenario is checked against spec. snaps holds
// snapshots of files' node trees by name, used where they are of the file
// as it is read.
func load(fsys fs.FS, spec *cambmock.Spec, display func(string) string, open func(string) (fs.File, error), check bool, snaps map[string][]byte) ([]*Scenario, error) {
	if spec == nil {
		return nil, fmt.Errorf("scenarios: %w", errNoSpec)
	}
	var (
		out  []*Scenario
		errs []error
		seen = map[string]string{}
	)
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", display(name), err))
			return nil
		}
		if d.IsDir() || !isScenarioFile(path.Base(name)) {
			return nil
		}
		file := display(name)
		// Stat follows a symbolic link, so a link to a regular file is
		// read and a link to anything else is refused.
		info, err := fs.Stat(fsys, name)
		if err != nil {
			errs = append(errs, &LoadError{File: file, Err: fmt.Errorf("cannot be read: %w", pathCause(err))})
			return nil
		}
		if !info.Mode().IsRegular() {
			errs = append(errs, &LoadError{File: file, Err: fmt.Errorf("not a regular file (%s); replace it with a scenario file, or move it out of the folder", modeName(info.Mode()))})
			return nil
		}
		opener := func() (fs.File, error) { return fsys.Open(name) }
		if open != nil {
			opener = func() (fs.File, error) { return open(name) }
		}
		data, err := readFile(file, info, opener)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		var tree *yaml.Node
		if snap, ok := snaps[name]; ok {
			tree, _ = specsnap.Load(snap, data) // nil when stale: the YAML is parsed
		}
		sc, err := parseAndCheck(file, data, tree, spec, check)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		if other, dup := seen[sc.Name]; dup {
			errs = append(errs, &LoadError{File: file, Err: fmt.Errorf("scenario %q is already defined in %s; give each scenario its own name", sc.Name, other)})
			return nil
		}
		seen[sc.Name] = file
		out = append(out, sc)
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.SortFunc(out, func(a, b *Scenario) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// readFile reads the regular file that info describes, refusing it from
// its size when it is larger than MaxFileSize, and reading at most one byte
// more than that should it have grown. It reads nothing from a file that
// is no longer regular once opened.
func readFile(file string, info fs.FileInfo, open func() (fs.File, error)) ([]byte, error) {
	tooLarge := func(size int64) error {
		return &LoadError{File: file, Err: fmt.Errorf("file is %d bytes; a scenario file may have at most %d", size, MaxFileSize)}
	}
	if info.Size() > MaxFileSize {
		return nil, tooLarge(info.Size())
	}
	f, err := open()
	if err != nil {
		return nil, &LoadError{File: file, Err: fmt.Errorf("cannot be read: %w", pathCause(err))}
	}
	defer f.Close()
	opened, err := f.Stat()
	if err != nil {
		return nil, &LoadError{File: file, Err: fmt.Errorf("cannot be read: %w", pathCause(err))}
	}
	switch {
	case !opened.Mode().IsRegular():
		return nil, &LoadError{File: file, Err: fmt.Errorf("not a regular file (%s); give a scenario file", modeName(opened.Mode()))}
	case opened.Size() > MaxFileSize:
		return nil, tooLarge(opened.Size())
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, &LoadError{File: file, Err: fmt.Errorf("cannot be read: %w", pathCause(err))}
	}
	if len(data) > MaxFileSize {
		return nil, &LoadError{File: file, Err: fmt.Errorf("file is over %d bytes; a scenario file may have at most %d", MaxFileSize, MaxFileSize)}
	}
	return data, nil
}

// pathCause drops the operation and path an *fs.PathError repeats, since
// the message names the file already.
func pathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// modeName says what kind of file mode describes, for messages.
func modeName(mode fs.FileMode) string {
	switch {
	case mode.IsDir():
		return "a folder"
	case mode&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode&fs.ModeCharDevice != 0:
		return "a character device"
	case mode&fs.ModeDevice != 0:
		return "a device"
	case mode&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "an irregular file"
}

func parseAndCheck(file string, data []byte, tree *yaml.Node, spec *cambmock.Spec, check bool) (*Scenario, error) {
	sc, err := parseTree(file, data, tree)
	if err != nil {
		return nil, err
	}
	if !check {
		return sc, nil
	}
	if err := sc.Check(spec); err != nil {
		return nil, err
	}
	return sc, nil
}
