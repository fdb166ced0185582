// Command specsnap writes a bundle of the node trees of every *.yaml file
// in a folder (see package specsnap): scenarios/builtin.snap, beside the
// built-in scenarios. Package scenarios runs it through go generate, from
// the repository's root:
//
//	go generate ./...
//
// Usage:
//
//	specsnap -bundle DIR OUT
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cambmock/cambmock/internal/specsnap"
)

const usage = "usage: specsnap -bundle DIR OUT (every *.yaml file in DIR; for example: specsnap -bundle . builtin.snap)"

// errUsage is returned for arguments of another form.
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
	if len(args) != 3 || args[0] != "-bundle" {
		return errUsage
	}
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
	snap, err := specsnap.MakeBundle(files)
	if err != nil {
		return fmt.Errorf("%s: %w", args[1], err)
	}
	return os.WriteFile(args[2], snap, 0o644)
}
