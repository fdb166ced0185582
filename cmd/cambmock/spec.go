package main

import (
	"fmt"
	"io"
	"os"

	"github.com/cambmock/cambmock"
)

const specHelp = `Usage: cambmock spec [flags]

Prints the OpenAPI document cambmock serves and checks against by default
(openapi.yaml, embedded in the binary): a starting point for --spec FILE,
which serve, scenarios, verify, proxy, record and matrix take to use an
updated or edited spec instead. A running mock serves the spec in force at
GET /__admin/openapi.yaml.

Example:
  cambmock spec > my-openapi.yaml
  cambmock serve --spec my-openapi.yaml
`

func printSpec(args []string, stdout io.Writer, getenv func(string) string) error {
	fs := newFlags("spec", specHelp, stdout, getenv)
	if err := fs.parse(args); err != nil {
		return err
	}
	_, err := stdout.Write(cambmock.SpecYAML())
	return err
}

// maxSpecSize bounds the spec files cambmock reads.
const maxSpecSize = 8 << 20

// loadSpec loads the spec at path, or the embedded one when path is "".
// A file that cannot be read or is not a spec cambmock can serve is a
// usage error (exit status 2) naming it.
func loadSpec(path string) (*cambmock.Spec, error) {
	if path == "" {
		return cambmock.LoadSpec()
	}
	info, err := os.Stat(path)
	switch {
	case err != nil:
		return nil, usageError("--spec %s: %v; give the path of an OpenAPI document, such as the output of cambmock spec", path, err)
	case !info.Mode().IsRegular():
		return nil, usageError("--spec %s: not a regular file; give the path of an OpenAPI document", path)
	case info.Size() > maxSpecSize:
		return nil, usageError("--spec %s: the file is %d bytes; a spec may have at most %d", path, info.Size(), maxSpecSize)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, usageError("--spec %s: %v", path, err)
	}
	defer f.Close()
	data, truncated, err := cambmock.ReadLimited(f, maxSpecSize)
	if err != nil || truncated {
		return nil, usageError("--spec %s: cannot be read whole (%v); a spec may have at most %d bytes", path, err, maxSpecSize)
	}
	spec, err := cambmock.ParseSpec(data)
	if err != nil {
		return nil, usageError("--spec %s: %v", path, fmt.Errorf("%w", err))
	}
	return spec, nil
}
