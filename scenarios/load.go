package scenarios

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cambmock/cambmock"
)

//go:embed *.yaml
var builtin embed.FS

// BuiltinFS returns the files of the built-in scenario library.
func BuiltinFS() fs.FS { return builtin }

// Builtins parses and checks the built-in scenario library.
func Builtins(spec *cambmock.Spec) ([]*Scenario, error) {
	return load(builtin, spec, func(name string) string { return "scenarios/" + name })
}

// Load parses and checks every scenario file (*.yaml or *.yml) in fsys and
// its folders, and returns the scenarios sorted by name. Two files that
// define one name are an error. Every problem in every file is reported.
func Load(fsys fs.FS, spec *cambmock.Spec) ([]*Scenario, error) {
	return load(fsys, spec, func(name string) string { return name })
}

// LoadPath is [Load] for a path on disk that names a scenario file or a
// folder of them; errors name files by their path.
func LoadPath(p string, spec *cambmock.Spec) ([]*Scenario, error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("scenarios: %w", err)
	}
	if !info.IsDir() {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("scenarios: %w", err)
		}
		sc, err := parseAndCheck(p, data, spec)
		if err != nil {
			return nil, err
		}
		return []*Scenario{sc}, nil
	}
	return load(os.DirFS(p), spec, func(name string) string { return filepath.Join(p, filepath.FromSlash(name)) })
}

func isScenarioFile(name string) bool {
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
}

func load(fsys fs.FS, spec *cambmock.Spec, display func(string) string) ([]*Scenario, error) {
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
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", display(name), err))
			return nil
		}
		file := display(name)
		sc, err := parseAndCheck(file, data, spec)
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

func parseAndCheck(file string, data []byte, spec *cambmock.Spec) (*Scenario, error) {
	sc, err := Parse(file, data)
	if err != nil {
		return nil, err
	}
	if err := sc.Check(spec); err != nil {
		return nil, err
	}
	return sc, nil
}
