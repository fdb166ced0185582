package scenarios

import (
	"bytes"
	"io/fs"
	"reflect"
	"testing"
	"testing/fstest"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/internal/specsnap"
)

// TestBuiltinSnapshotIsFresh fails when a built-in scenario was edited or
// added and builtin.snap not made again: that file would then be parsed
// at every start.
func TestBuiltinSnapshotIsFresh(t *testing.T) {
	files := map[string][]byte{}
	names, err := fs.Glob(builtin, "*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if files[name], err = fs.ReadFile(builtin, name); err != nil {
			t.Fatal(err)
		}
	}
	want, err := specsnap.MakeBundle(files)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(builtinSnap, want) {
		t.Fatal("scenarios/builtin.snap was not made from these scenario files: run go generate ./... and commit it")
	}
}

// TestBuiltinSnapshotParsesTheSame checks that the scenarios read from the
// snapshot's trees are those parsed from the YAML, and that every file
// was read from the snapshot.
func TestBuiltinSnapshotParsesTheSame(t *testing.T) {
	spec, err := cambmock.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := specsnap.LoadBundle(builtinSnap)
	if err != nil {
		t.Fatal(err)
	}
	names, _ := fs.Glob(builtin, "*.yaml")
	for _, name := range names {
		data, _ := fs.ReadFile(builtin, name)
		if _, err := specsnap.Load(snaps[name], data); err != nil {
			t.Errorf("%s: not read from the snapshot: %v", name, err)
		}
	}
	display := func(name string) string { return "scenarios/" + name }
	fromSnap, err := load(builtin, spec, display, nil, true, snaps)
	if err != nil {
		t.Fatal(err)
	}
	fromYAML, err := load(builtin, spec, display, nil, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(fromSnap) != len(names) || !reflect.DeepEqual(fromSnap, fromYAML) {
		t.Fatalf("%d scenarios from the snapshot, %d from the YAML, %d files; the two differ: %v", len(fromSnap), len(fromYAML), len(names), !reflect.DeepEqual(fromSnap, fromYAML))
	}
	got, err := Builtins(spec)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, fromYAML) {
		t.Fatal("Builtins differs from the scenarios parsed from the YAML")
	}
}

// TestStaleBuiltinSnapshotIsNotUsed reads a file whose snapshot is of
// another version: the file as it is must be what loads.
func TestStaleBuiltinSnapshotIsNotUsed(t *testing.T) {
	spec, err := cambmock.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := specsnap.LoadBundle(builtinSnap)
	if err != nil {
		t.Fatal(err)
	}
	data, err := fs.ReadFile(builtin, "stuck.yaml")
	if err != nil {
		t.Fatal(err)
	}
	edited := bytes.Replace(data, []byte("description: "), []byte("description: Edited. "), 1)
	if bytes.Equal(edited, data) {
		t.Fatal("stuck.yaml has no description: line to edit")
	}
	fsys := fstest.MapFS{"stuck.yaml": {Data: edited}}
	got, err := load(fsys, spec, func(name string) string { return name }, nil, true, snaps)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !bytes.HasPrefix([]byte(got[0].Description), []byte("Edited. ")) {
		t.Fatalf("loaded %+v; want the edited stuck.yaml, not its snapshot", got)
	}
}
