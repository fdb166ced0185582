package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cambmock/cambmock/internal/specsnap"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("a: 1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not bundled"), 0o644)
	bundle := filepath.Join(t.TempDir(), "b.snap")
	if err := run([]string{"-bundle", dir, bundle}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(bundle)
	snaps, err := specsnap.LoadBundle(b)
	if err != nil || len(snaps) != 1 || snaps["a.yaml"] == nil {
		t.Errorf("the bundle written holds %v (%v), want a.yaml alone", snaps, err)
	}

	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "x.yaml"), []byte("a: &x 1\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "usage: specsnap"},
		{[]string{"-bundle", dir}, "usage: specsnap"},
		{[]string{"openapi.yaml", "openapi.snap"}, "usage: specsnap"},
		{[]string{"-bundle", bad, bundle}, "x.yaml: specsnap: line 1: anchors"},
		{[]string{"-bundle", t.TempDir(), bundle}, "holds no *.yaml file"},
	} {
		err := run(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%q): err = %v, want one saying %q", tc.args, err, tc.want)
		}
		if strings.HasPrefix(tc.want, "usage") != errors.Is(err, errUsage) {
			t.Errorf("run(%q): errors.Is(err, errUsage) = %v", tc.args, errors.Is(err, errUsage))
		}
	}
}
