// Package specsnap keeps the node trees of YAML documents in compact
// binary snapshots, made by go generate, so that a start-up builds a tree
// from its snapshot instead of running the YAML parser. The built-in
// scenarios are read from such a bundle (scenarios/builtin.snap, see
// [MakeBundle]: YAML parsing was most of what parsing them cost); the
// family spec's decoded document is built by code from package specgo,
// which reads openapi.yaml's tree prepared by [Make].
//
// A snapshot records the SHA-256 of the YAML it was made from, and [Load]
// refuses it for any other source with [ErrStale]: YAML edited without
// running go generate is parsed as before rather than read from an old
// tree. The tests of the packages that embed snapshots fail until they
// are made again.
package specsnap

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"
)

// magic starts every snapshot; the digit is the format's version.
const magic = "cambmock-yaml-nodes 1\n"

// ErrStale is returned by [Load] for a snapshot of another source.
var ErrStale = errors.New("the snapshot was made from another version of the YAML; run go generate ./... to make it again")

// Make parses source, an OpenAPI document, and returns the snapshot of
// its node tree.
//
// The tree is prepared as kin-openapi's loader prepares it between parsing
// and decoding: mapping keys, local tags and timestamps are retagged as
// strings (kin reads every key as a name and keeps date-shaped examples as
// text). Documents kin treats specially elsewhere (anchors and aliases,
// merge keys, infinities) are refused, so that a snapshot never decodes
// differently from the YAML; none of them belongs in openapi.yaml. The
// tests of package cambmock check that the document built from it equals
// the one kin loads from the YAML.
func Make(source []byte) ([]byte, error) {
	return make1(source, true)
}

// MakePlain is [Make] for YAML read as go-yaml parses it, such as a
// scenario file: nothing is retagged. Anchors and aliases are refused all
// the same.
func MakePlain(source []byte) ([]byte, error) {
	return make1(source, false)
}

func make1(source []byte, openAPI bool) ([]byte, error) {
	dec := yaml.NewDecoder(bytes.NewReader(source))
	var root, extra yaml.Node
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("specsnap: parsing the YAML: %w", err)
	}
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("specsnap: line %d: a second YAML document; a snapshot holds one", extra.Line)
	} else if !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("specsnap: parsing the YAML: %w", err)
	}
	if err := prepare(&root, openAPI); err != nil {
		return nil, err
	}
	e := encoder{index: map[string]int{}}
	e.node(&root)
	sum := sha256.Sum256(source)
	out := append([]byte(magic), sum[:]...)
	out = binary.AppendUvarint(out, uint64(len(e.strs)))
	for _, s := range e.strs {
		out = binary.AppendUvarint(out, uint64(len(s)))
	}
	for _, s := range e.strs {
		out = append(out, s...)
	}
	out = binary.AppendUvarint(out, uint64(e.count))
	return append(out, e.buf...), nil
}

// prepare refuses what a snapshot does not carry in n's tree and, for an
// OpenAPI document, retags it as kin-openapi does before decoding.
func prepare(n *yaml.Node, openAPI bool) error {
	if n.Anchor != "" || n.Kind == yaml.AliasNode {
		return fmt.Errorf("specsnap: line %d: anchors and aliases are not kept in a snapshot; write the value out", n.Line)
	}
	switch {
	case !openAPI:
	case n.Kind == yaml.ScalarNode:
		if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") || n.Tag == "!!timestamp" {
			n.Tag = "!!str"
		}
		if n.Tag == "!!float" {
			switch strings.ToLower(strings.TrimLeft(n.Value, "+-")) {
			case ".inf", ".nan":
				return fmt.Errorf("specsnap: line %d: %s has no JSON representation", n.Line, n.Value)
			}
		}
	case n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
				return fmt.Errorf("specsnap: line %d: merge keys are not kept in a snapshot; write the members out", k.Line)
			}
			if k.Kind == yaml.ScalarNode && k.Tag == "!!null" {
				return fmt.Errorf("specsnap: line %d: mapping key is null, so it names nothing", k.Line)
			}
			if k.Kind == yaml.ScalarNode {
				k.Tag = "!!str"
			}
		}
	}
	for _, c := range n.Content {
		if err := prepare(c, openAPI); err != nil {
			return err
		}
	}
	return nil
}

// encoder writes nodes in preorder: kind, style, tag, value, line, column
// and the number of children, strings as indices into a table.
type encoder struct {
	buf   []byte
	strs  []string
	index map[string]int
	count int
}

func (e *encoder) str(s string) {
	i, ok := e.index[s]
	if !ok {
		i = len(e.strs)
		e.index[s] = i
		e.strs = append(e.strs, s)
	}
	e.buf = binary.AppendUvarint(e.buf, uint64(i))
}

func (e *encoder) node(n *yaml.Node) {
	e.count++
	e.buf = binary.AppendUvarint(e.buf, uint64(n.Kind))
	e.buf = binary.AppendUvarint(e.buf, uint64(n.Style))
	e.str(n.Tag)
	e.str(n.Value)
	e.buf = binary.AppendUvarint(e.buf, uint64(n.Line))
	e.buf = binary.AppendUvarint(e.buf, uint64(n.Column))
	e.buf = binary.AppendUvarint(e.buf, uint64(len(n.Content)))
	for _, c := range n.Content {
		e.node(c)
	}
}

// Load returns the node tree snap holds, which must have been made (by
// [Make] or [MakePlain]) from source: for another source it returns
// [ErrStale]. The tree
// is the caller's; decoding it does not change it.
func Load(snap, source []byte) (*yaml.Node, error) {
	if !bytes.HasPrefix(snap, []byte(magic)) || len(snap) < len(magic)+sha256.Size {
		return nil, errors.New("specsnap: not a snapshot of this format; run go generate ./... to make it again")
	}
	rest := snap[len(magic):]
	if sum := sha256.Sum256(source); !bytes.Equal(rest[:sha256.Size], sum[:]) {
		return nil, ErrStale
	}
	d := decoder{rest: rest[sha256.Size:]}
	// The table: its size, every string's length, then their bytes, which
	// are copied into one string that the nodes' strings share.
	nstr := d.uvarint()
	if d.err == nil && nstr > uint64(len(d.rest)) {
		d.fail()
	}
	var sizes []uint64
	total := uint64(0)
	for i := uint64(0); i < nstr && d.err == nil; i++ {
		n := d.uvarint()
		sizes = append(sizes, n)
		total += n
	}
	if d.err == nil && total > uint64(len(d.rest)) {
		d.fail()
	}
	if d.err != nil {
		return nil, d.err
	}
	all := string(d.rest[:total])
	d.rest = d.rest[total:]
	d.strs = make([]string, nstr)
	off := uint64(0)
	for i, n := range sizes {
		d.strs[i] = all[off : off+n]
		off += n
	}
	// Every node, and every node's place in its parent, is allocated at once.
	count := d.uvarint()
	if d.err == nil && (count == 0 || count > uint64(len(d.rest))) {
		d.fail()
	}
	if d.err != nil {
		return nil, d.err
	}
	d.nodes = make([]yaml.Node, count)
	d.kids = make([]*yaml.Node, count-1)
	root := d.node()
	if d.err == nil && (len(d.rest) != 0 || d.used != len(d.nodes)) {
		d.fail()
	}
	if d.err != nil {
		return nil, d.err
	}
	return root, nil
}

type decoder struct {
	rest  []byte
	strs  []string
	nodes []yaml.Node  // every node of the tree
	used  int          // of nodes
	kids  []*yaml.Node // every node's Content, in turn
	err   error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errors.New("specsnap: the snapshot is damaged; run go generate ./... to make it again")
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.rest)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.rest = d.rest[n:]
	return v
}

// bytes reads a length and as many bytes.
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.rest)) {
		d.fail()
		return nil
	}
	b := d.rest[:n:n]
	d.rest = d.rest[n:]
	return b
}

func (d *decoder) str() string {
	i := d.uvarint()
	if d.err != nil || i >= uint64(len(d.strs)) {
		d.fail()
		return ""
	}
	return d.strs[i]
}

func (d *decoder) node() *yaml.Node {
	if d.err != nil || d.used == len(d.nodes) {
		d.fail()
		return nil
	}
	n := &d.nodes[d.used]
	d.used++
	n.Kind = yaml.Kind(d.uvarint())
	n.Style = yaml.Style(d.uvarint())
	n.Tag = d.str()
	n.Value = d.str()
	n.Line = int(d.uvarint())
	n.Column = int(d.uvarint())
	kids := d.uvarint()
	if d.err != nil {
		return nil
	}
	if kids > uint64(len(d.kids)) {
		d.fail()
		return nil
	}
	if kids > 0 {
		n.Content, d.kids = d.kids[:kids:kids], d.kids[kids:]
		for i := range n.Content {
			if n.Content[i] = d.node(); d.err != nil {
				return nil
			}
		}
	}
	return n
}

// bundleMagic starts a bundle of snapshots.
const bundleMagic = "cambmock-yaml-bundle 1\n"

// MakeBundle returns one file holding the [MakePlain] snapshot of each of
// files (name to source), for a package that embeds many small documents.
func MakeBundle(files map[string][]byte) ([]byte, error) {
	names := slices.Sorted(maps.Keys(files))
	out := binary.AppendUvarint([]byte(bundleMagic), uint64(len(names)))
	for _, name := range names {
		snap, err := MakePlain(files[name])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = binary.AppendUvarint(out, uint64(len(name)))
		out = append(out, name...)
		out = binary.AppendUvarint(out, uint64(len(snap)))
		out = append(out, snap...)
	}
	return out, nil
}

// LoadBundle returns the snapshots a [MakeBundle] file holds, by name, for
// [Load]; they share bundle's bytes.
func LoadBundle(bundle []byte) (map[string][]byte, error) {
	if !bytes.HasPrefix(bundle, []byte(bundleMagic)) {
		return nil, errors.New("specsnap: not a bundle of snapshots; run go generate ./... to make it again")
	}
	d := decoder{rest: bundle[len(bundleMagic):]}
	n := d.uvarint()
	if n > uint64(len(d.rest)) {
		d.fail()
	}
	out := map[string][]byte{}
	for i := uint64(0); i < n && d.err == nil; i++ {
		name := d.bytes()
		snap := d.bytes()
		if d.err == nil {
			out[string(name)] = snap
		}
	}
	if d.err == nil && len(d.rest) != 0 {
		d.fail()
	}
	if d.err != nil {
		return nil, d.err
	}
	return out, nil
}
