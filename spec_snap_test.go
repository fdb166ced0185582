package cambmock

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/cambmock/cambmock/internal/specsnap"
)

// TestSnapshotIsFresh fails when openapi.yaml was edited and openapi.snap
// not made again: LoadSpec would then parse the YAML at every start.
func TestSnapshotIsFresh(t *testing.T) {
	want, err := specsnap.Make(specYAML)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(specSnap, want) {
		t.Fatal("openapi.snap was not made from this openapi.yaml: run go generate ./... and commit openapi.snap")
	}
}

// TestSnapshotLoadsTheSameDocument checks that the document LoadSpec
// decodes from the snapshot is the one kin-openapi loads from the YAML,
// field for field.
func TestSnapshotLoadsTheSameDocument(t *testing.T) {
	root, err := specsnap.Load(specSnap, specYAML)
	if err != nil {
		t.Fatalf("the snapshot is not used: %v", err)
	}
	got := &openapi3.T{}
	if err := root.Decode(got); err != nil {
		t.Fatal(err)
	}
	if err := openapi3.NewLoader().ResolveRefsIn(got, nil); err != nil {
		t.Fatal(err)
	}
	want, err := openapi3.NewLoader().LoadFromData(specYAML)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("the document from openapi.snap differs from the one kin-openapi loads from openapi.yaml (JSON equal: %v)", bytes.Equal(g, w))
	}
	spec, err := LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(spec.Doc, want) {
		t.Fatal("LoadSpec's document differs from the one kin-openapi loads from openapi.yaml")
	}
}

// TestStaleSnapshotIsNotUsed gives loadEmbedded a snapshot of another
// version of the YAML: the YAML it is given must be what loads.
func TestStaleSnapshotIsNotUsed(t *testing.T) {
	edited := bytes.Replace(specYAML, []byte("title: "), []byte("title: Edited "), 1)
	if bytes.Equal(edited, specYAML) {
		t.Fatal("openapi.yaml has no title: line to edit")
	}
	spec, err := loadEmbedded(specSnap, edited)
	if err != nil {
		t.Fatal(err)
	}
	want, err := openapi3.NewLoader().LoadFromData(edited)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Doc.Info.Title != want.Info.Title || !bytes.HasPrefix([]byte(spec.Doc.Info.Title), []byte("Edited ")) {
		t.Fatalf("title = %q, want %q: the stale snapshot was used", spec.Doc.Info.Title, want.Info.Title)
	}
	if !reflect.DeepEqual(spec.Doc, want) {
		t.Fatal("the document loaded past a stale snapshot differs from the edited YAML's")
	}
	if !spec.Embedded() {
		t.Error("Embedded() = false for the embedded spec")
	}
}
