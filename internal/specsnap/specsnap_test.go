package specsnap_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"

	"github.com/cambmock/cambmock/internal/specsnap"
)

const doc = `openapi: 3.0.3
info: {title: "quoted: title", version: '1'}
paths:
  /a/{id}:
    get:
      responses:
        200:
          description: |
            literal
            block
        "404": {description: "flow"}
        "500":
          description: >-
            folded
            text
      x-list: [1, 2.5, true, null, ~, "s", 'single']
      x-date: 2024-01-02
      x-local: !thing value
      x-empty-map: {}
      x-empty-seq: []
`

// parse is what the snapshot must reproduce: the YAML's tree, retagged as
// Make documents.
func parse(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(src), &root); err != nil {
		t.Fatal(err)
	}
	return &root
}

func TestRoundTrip(t *testing.T) {
	snap, err := specsnap.Make([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	got, err := specsnap.Load(snap, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := parse(t, doc)
	var n, retagged int
	var walk func(g, w *yaml.Node, key bool)
	walk = func(g, w *yaml.Node, key bool) {
		n++
		wantTag := w.Tag
		if key && w.Kind == yaml.ScalarNode || w.Tag == "!!timestamp" || w.Tag == "!thing" {
			if wantTag != "!!str" {
				retagged++
			}
			wantTag = "!!str"
		}
		if g.Kind != w.Kind || g.Style != w.Style || g.Tag != wantTag || g.Value != w.Value || g.Line != w.Line || g.Column != w.Column {
			t.Errorf("node at %d:%d: got %v %v %q %q %d:%d, want %v %v %q %q", w.Line, w.Column,
				g.Kind, g.Style, g.Tag, g.Value, g.Line, g.Column, w.Kind, w.Style, wantTag, w.Value)
		}
		if len(g.Content) != len(w.Content) {
			t.Fatalf("node at %d:%d: %d children, want %d", w.Line, w.Column, len(g.Content), len(w.Content))
		}
		for i := range w.Content {
			walk(g.Content[i], w.Content[i], w.Kind == yaml.MappingNode && i%2 == 0)
		}
	}
	walk(got, want, false)
	if n < 40 || retagged != 3 {
		t.Errorf("walked %d nodes, retagged %d; want 40 or more and 3 (the key 200, the date, the local tag)", n, retagged)
	}
	// Decoding it gives what decoding the YAML gives.
	var fromSnap, fromYAML any
	if err := got.Decode(&fromSnap); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(strings.Replace(strings.Replace(doc, "2024-01-02", `"2024-01-02"`, 1), "200:", `"200":`, 1)), &fromYAML); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromSnap, fromYAML) {
		t.Errorf("decoded from the snapshot:\n%v\nwant\n%v", fromSnap, fromYAML)
	}
}

func TestStale(t *testing.T) {
	snap, err := specsnap.Make([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := specsnap.Load(snap, []byte(doc+"\n")); !errors.Is(err, specsnap.ErrStale) {
		t.Fatalf("Load for another source: err = %v, want ErrStale", err)
	}
}

func TestMakeRefuses(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"a: &x 1\nb: *x\n", "line 1: anchors and aliases"},
		{"base: {a: 1}\nc:\n  <<: {a: 2}\n", "line 3: merge keys"},
		{"a: .inf\n", "line 1: .inf has no JSON representation"},
		{"a: .NaN\n", "no JSON representation"},
		{"~: 1\n", "line 1: mapping key is null"},
		{"a: [\n", "parsing the YAML"},
	} {
		_, err := specsnap.Make([]byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Make(%q): err = %v, want one saying %q", tc.src, err, tc.want)
		}
	}
}

// TestDamaged cuts the snapshot at every length and flips every byte
// past the checksum: each must be refused or give a tree, never panic.
func TestDamaged(t *testing.T) {
	snap, err := specsnap.Make([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	for i := range snap {
		if _, err := specsnap.Load(snap[:i], []byte(doc)); err == nil {
			t.Fatalf("Load of the first %d of %d bytes: no error", i, len(snap))
		}
	}
	refused := 0
	for i := len("cambmock-yaml-nodes 1\n") + 32; i < len(snap); i++ {
		for _, b := range []byte{0x00, 0x7f, 0xff} {
			bad := append([]byte(nil), snap...)
			bad[i] = b
			if _, err := specsnap.Load(bad, []byte(doc)); err != nil {
				refused++
				if !strings.Contains(err.Error(), "damaged") {
					t.Fatalf("byte %d set to %#x: err = %v, want one saying the snapshot is damaged", i, b, err)
				}
			}
		}
	}
	if refused == 0 {
		t.Error("no damaged snapshot was refused")
	}
	if _, err := specsnap.Load([]byte("not a snapshot"), []byte(doc)); err == nil || !strings.Contains(err.Error(), "not a snapshot") {
		t.Errorf("Load of another file: err = %v", err)
	}
}

func FuzzLoad(f *testing.F) {
	snap, err := specsnap.Make([]byte(doc))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(snap[len("cambmock-yaml-nodes 1\n")+32:])
	head := snap[:len("cambmock-yaml-nodes 1\n")+32]
	f.Fuzz(func(t *testing.T, body []byte) {
		root, err := specsnap.Load(append(append([]byte(nil), head...), body...), []byte(doc))
		if err == nil && root == nil {
			t.Fatal("no error and no tree")
		}
	})
}

func TestMakePlainKeepsTags(t *testing.T) {
	src := "200: 2024-01-02\nx: !thing v\n"
	snap, err := specsnap.MakePlain([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got, err := specsnap.Load(snap, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	m := got.Content[0]
	tags := []string{m.Content[0].Tag, m.Content[1].Tag, m.Content[3].Tag}
	if want := []string{"!!int", "!!timestamp", "!thing"}; !reflect.DeepEqual(tags, want) {
		t.Errorf("tags %v, want %v, as go-yaml parses them", tags, want)
	}
}

func TestMakeRefusesSecondDocument(t *testing.T) {
	for _, mk := range []func([]byte) ([]byte, error){specsnap.Make, specsnap.MakePlain} {
		if _, err := mk([]byte("a: 1\n---\nb: 2\n")); err == nil || !strings.Contains(err.Error(), "line 2: a second YAML document") {
			t.Errorf("err = %v, want one naming the second document at line 2", err)
		}
	}
}

func TestBundle(t *testing.T) {
	files := map[string][]byte{"b.yaml": []byte("b: 2\n"), "a.yaml": []byte("a: [1]\n")}
	bundle, err := specsnap.MakeBundle(files)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := specsnap.MakeBundle(map[string][]byte{"a.yaml": files["a.yaml"], "b.yaml": files["b.yaml"]})
	if string(again) != string(bundle) {
		t.Error("MakeBundle depends on the map's order")
	}
	snaps, err := specsnap.LoadBundle(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 2 {
		t.Fatalf("%d snapshots, want 2", len(snaps))
	}
	for name, src := range files {
		root, err := specsnap.Load(snaps[name], src)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got, want any
		root.Decode(&got)
		yaml.Unmarshal(src, &want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	if _, err := specsnap.MakeBundle(map[string][]byte{"x.yaml": []byte("a: &x 1\n")}); err == nil || !strings.Contains(err.Error(), "x.yaml: specsnap: line 1: anchors") {
		t.Errorf("a bundle of a file with an anchor: err = %v, want one naming the file and the line", err)
	}
	for i := range bundle {
		if _, err := specsnap.LoadBundle(bundle[:i]); err == nil {
			t.Fatalf("LoadBundle of the first %d of %d bytes: no error", i, len(bundle))
		}
	}
	if _, err := specsnap.LoadBundle(append(bundle, 0)); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("a bundle with a byte more: err = %v, want one saying it is damaged", err)
	}
}
