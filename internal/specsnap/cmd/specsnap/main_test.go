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
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	spec := write("spec.yaml", "openapi: 3.0.3\n")
	out := filepath.Join(dir, "spec.snap")
	if err := run([]string{spec, out}); err != nil {
		t.Fatal(err)
	}
	snap, _ := os.ReadFile(out)
	if _, err := specsnap.Load(snap, []byte("openapi: 3.0.3\n")); err != nil {
		t.Errorf("the snapshot written: %v", err)
	}

	scen := filepath.Join(dir, "scen")
	os.Mkdir(scen, 0o755)
	os.WriteFile(filepath.Join(scen, "a.yaml"), []byte("a: 1\n"), 0o644)
	os.WriteFile(filepath.Join(scen, "notes.txt"), []byte("not bundled"), 0o644)
	bundle := filepath.Join(dir, "b.snap")
	if err := run([]string{"-bundle", scen, bundle}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(bundle)
	snaps, err := specsnap.LoadBundle(b)
	if err != nil || len(snaps) != 1 || snaps["a.yaml"] == nil {
		t.Errorf("the bundle written holds %v (%v), want a.yaml alone", snaps, err)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "usage: specsnap"},
		{[]string{"-bundle", scen}, "usage: specsnap"},
		{[]string{"-x", "a", "b"}, "usage: specsnap"},
		{[]string{filepath.Join(dir, "missing.yaml"), out}, "missing.yaml: no such file"},
		{[]string{write("bad.yaml", "a: &x 1\n"), out}, "bad.yaml: specsnap: line 1: anchors"},
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
