package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "spec.yaml")
	os.WriteFile(spec, []byte("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n"), 0o644)
	out := filepath.Join(dir, "doc.go")
	if err := run([]string{spec, out, "p", "build"}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); !strings.Contains(string(b), "func build() *openapi3.T") {
		t.Errorf("wrote:\n%s", b)
	}
	if err := run([]string{spec, out}); !errors.Is(err, errUsage) {
		t.Errorf("two arguments: err = %v, want the usage", err)
	}
	if err := run([]string{filepath.Join(dir, "missing.yaml"), out, "p", "build"}); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("a missing spec: err = %v", err)
	}
}
