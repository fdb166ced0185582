package cambmock

import (
	"bytes"
	"os"
	"reflect"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/cambmock/cambmock/internal/specgo"
)

// TestSpecDocIsFresh fails when openapi.yaml was edited and spec_doc.go
// not made again: LoadSpec would then parse the YAML at every start.
func TestSpecDocIsFresh(t *testing.T) {
	want, err := specgo.Generate(specYAML, "cambmock", "embeddedDoc")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("spec_doc.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("spec_doc.go was not made from this openapi.yaml (or by this specgo): run go generate ./... and commit spec_doc.go")
	}
}

// TestSpecDocIsTheSameDocument checks that the document LoadSpec builds
// is the one kin-openapi loads from the YAML, field for field, unexported
// ones included.
func TestSpecDocIsTheSameDocument(t *testing.T) {
	want, err := openapi3.NewLoader().LoadFromData(specYAML)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(spec.Doc, want) {
		t.Fatal("LoadSpec's document differs from the one kin-openapi loads from openapi.yaml")
	}
	// And it was built, not parsed: a function that builds another
	// document, given with the YAML's sum, is what loads.
	built, err := loadEmbedded(specYAML, embeddedDocSum, func() *openapi3.T {
		d := embeddedDoc()
		d.Info.Title = "built"
		return d
	})
	if err != nil {
		t.Fatal(err)
	}
	if built.Doc.Info.Title != "built" {
		t.Fatalf("title %q: the YAML was parsed though its sum matched", built.Doc.Info.Title)
	}
}

// TestStaleSpecDocIsNotUsed gives loadEmbedded an edited YAML: it must be
// what loads, not the document built for the old one.
func TestStaleSpecDocIsNotUsed(t *testing.T) {
	edited := bytes.Replace(specYAML, []byte("title: "), []byte("title: Edited "), 1)
	if bytes.Equal(edited, specYAML) {
		t.Fatal("openapi.yaml has no title: line to edit")
	}
	spec, err := loadEmbedded(edited, embeddedDocSum, embeddedDoc)
	if err != nil {
		t.Fatal(err)
	}
	want, err := openapi3.NewLoader().LoadFromData(edited)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix([]byte(spec.Doc.Info.Title), []byte("Edited ")) || !reflect.DeepEqual(spec.Doc, want) {
		t.Fatalf("title = %q: the document built for the old YAML was used", spec.Doc.Info.Title)
	}
	if !spec.Embedded() {
		t.Error("Embedded() = false for the embedded spec")
	}
}
