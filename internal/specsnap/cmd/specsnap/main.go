// Command specsnap writes the snapshots of YAML node trees that cambmock
// embeds beside its YAML (see package specsnap): openapi.snap beside
// openapi.yaml, and scenarios/builtin.snap beside the built-in scenarios.
// Their packages run it through go generate, from the repository's root:
//
//	go generate ./...
//
// Usage:
//
//	specsnap SPEC.yaml OUT       an OpenAPI document, prepared for kin-openapi
//	specsnap -bundle DIR OUT     every *.yaml file in DIR, in one bundle
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cambmock/cambmock/internal/specsnap"
)

const usage = "usage: specsnap SPEC.yaml OUT (for example: specsnap openapi.yaml openapi.snap)\n   or: specsnap -bundle DIR OUT (every *.yaml file in DIR; for example: specsnap -bundle . builtin.snap)"

// errUsage is returned for arguments of neither form.
var errUsage = errors.New(usage)

func main() {
	switch err := run(os.Args[1:]); {
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "specsnap:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	var snap []byte
	switch {
	case len(args) == 2 && !strings.HasPrefix(args[0], "-"):
		src, err := os.ReadFile(args[0])
		if err != nil {
			return err
		}
		if snap, err = specsnap.Make(src); err != nil {
			return fmt.Errorf("%s: %w", args[0], err)
		}
	case len(args) == 3 && args[0] == "-bundle":
		names, err := filepath.Glob(filepath.Join(args[1], "*.yaml"))
		if err != nil {
			return err
		}
		if len(names) == 0 {
			return fmt.Errorf("%s holds no *.yaml file to bundle", args[1])
		}
		files := map[string][]byte{}
		for _, name := range names {
			if files[filepath.Base(name)], err = os.ReadFile(name); err != nil {
				return err
			}
		}
		if snap, err = specsnap.MakeBundle(files); err != nil {
			return fmt.Errorf("%s: %w", args[1], err)
		}
	default:
		return errUsage
	}
	return os.WriteFile(args[len(args)-1], snap, 0o644)
}
