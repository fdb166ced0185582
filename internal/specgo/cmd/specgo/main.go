// Command specgo writes the Go source that builds an OpenAPI document as
// kin-openapi decodes it (see package specgo). Package cambmock runs it
// through go generate, from the repository's root:
//
//	go generate ./...
//
// Usage:
//
//	specgo SPEC.yaml OUT.go PACKAGE FUNC
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/cambmock/cambmock/internal/specgo"
)

const usage = "usage: specgo SPEC.yaml OUT.go PACKAGE FUNC (for example: specgo openapi.yaml spec_doc.go cambmock embeddedDoc)"

var errUsage = errors.New(usage)

func main() {
	switch err := run(os.Args[1:]); {
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "specgo:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 4 {
		return errUsage
	}
	src, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	out, err := specgo.Generate(src, args[2], args[3])
	if err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	return os.WriteFile(args[1], out, 0o644)
}
