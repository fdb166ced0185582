package scenarios

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v4"

	"github.com/cambmock/cambmock"
)

// A LoadError is one problem in a scenario file: where it is and what is
// wrong. Its message reads "file:line:column: problem".
type LoadError struct {
	File         string
	Line, Column int // 1-based; 0 when the problem is the file as a whole
	Err          error
}

var _ error = (*LoadError)(nil)

func (e *LoadError) Error() string {
	switch {
	case e.File == "" && e.Line == 0:
		// A scenario built in Go has no file to name.
		return e.Err.Error()
	case e.Line == 0:
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	case e.Column == 0:
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s:%d:%d: %v", e.File, e.Line, e.Column, e.Err)
}

func (e *LoadError) Unwrap() error { return e.Err }

// MaxFileSize is the largest scenario file Parse accepts.
const MaxFileSize = 1 << 20

var (
	topKeys  = []string{"name", "description", "off_spec", "seed", "create", "poll", "result"}
	stepKeys = []string{"polls", "for", "forever", "status", "run_id", "exception_reason", "message", "extra", "error", "fault", "normal", "latency"}
	// The keys messages offer for steps of poll scripts and of the others.
	pollStepKeys  = []string{"polls", "for", "forever", "status", "run_id", "exception_reason", "message", "extra", "error", "fault", "latency"}
	otherStepKeys = []string{"polls", "for", "forever", "error", "fault", "normal", "latency"}
	errKeys       = []string{"code", "headers", "body"}
	nameRE        = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
)

// Parse decodes one scenario file. file names it in errors and gives the
// scenario its name when the file has no "name" key (the base name without
// its ".yaml" or ".yml" extension). The file format is in the package
// documentation.
//
// Parse checks everything that can be checked without openapi.yaml; use
// [Scenario.Check] (or [Load], which calls both) for the rest, such as
// whether each status is one the spec declares. Every problem
// found is reported, as a *[LoadError] or an errors.Join of them in the
// order they appear in the file.
func Parse(file string, data []byte) (*Scenario, error) {
	return parseTree(file, data, nil)
}

// parseTree is Parse for data whose node tree, when not nil, is tree (from
// the built-in scenarios' snapshot): the YAML is not parsed again.
func parseTree(file string, data []byte, tree *yaml.Node) (*Scenario, error) {
	p := &parser{file: file}
	sc := p.parse(data, tree)
	if len(p.errs) > 0 {
		slices.SortStableFunc(p.errs, func(a, b *LoadError) int {
			return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
		})
		if len(p.errs) == 1 {
			return nil, p.errs[0]
		}
		errs := make([]error, len(p.errs))
		for i, e := range p.errs {
			errs[i] = e
		}
		return nil, errors.Join(errs...)
	}
	return sc, nil
}

type parser struct {
	file    string
	errs    []*LoadError
	failed  map[[2]int]bool // the line and column of every error reported
	offSpec bool
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	e := &LoadError{File: p.file, Err: fmt.Errorf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
		if p.failed == nil {
			p.failed = make(map[[2]int]bool)
		}
		p.failed[[2]int{n.Line, n.Column}] = true
	}
	p.errs = append(p.errs, e)
}

func (p *parser) parse(data []byte, tree *yaml.Node) *Scenario {
	if len(data) > MaxFileSize {
		p.errorf(nil, "file is %d bytes; a scenario file may have at most %d", len(data), MaxFileSize)
		return nil
	}
	if tree != nil {
		return p.parseRoot(tree)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.errorf(nil, "file is empty; a scenario needs at least a description and a poll script")
			return nil
		}
		p.yamlError(err)
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.errorf(&extra, "file holds a second YAML document; put one scenario in each file")
		return nil
	} else if !errors.Is(err, io.EOF) {
		p.yamlError(err)
		return nil
	}
	return p.parseRoot(&doc)
}

// parseRoot reads the scenario from the tree of a file's one document.
func (p *parser) parseRoot(root *yaml.Node) *Scenario {
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if !p.noAliases(root) {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "a scenario file must be a mapping of keys (%s), not %s", strings.Join(topKeys, ", "), kindName(root))
		return nil
	}

	sc := &Scenario{File: p.file}
	fields := p.mapping(root, "scenario", topKeys)
	if n := fields["off_spec"]; n != nil {
		sc.OffSpec = p.boolean(n, "off_spec")
		p.offSpec = sc.OffSpec
	}
	if n := fields["name"]; n != nil {
		sc.Name = p.str(n, "name")
		if !p.failedAt(n) && !nameRE.MatchString(sc.Name) {
			p.errorf(n, "name %q is not allowed; use lowercase letters, digits and dashes, starting with a letter or digit", sc.Name)
		}
	} else {
		base := p.file[strings.LastIndexAny(p.file, `/\`)+1:]
		sc.Name = base
		for _, ext := range []string{".yaml", ".yml"} {
			if name, ok := strings.CutSuffix(base, ext); ok {
				sc.Name = name
				break
			}
		}
		if !nameRE.MatchString(sc.Name) {
			p.errorf(root, "file name %q does not make a scenario name; add a \"name\" key of lowercase letters, digits and dashes", base)
		}
	}
	if n := fields["description"]; n != nil {
		sc.Description = strings.TrimSpace(p.str(n, "description"))
		switch {
		case p.failedAt(n):
		case sc.Description == "":
			p.errorf(n, "description is empty; say in one line what the scenario plays")
		case strings.ContainsAny(sc.Description, "\r\n"):
			p.errorf(n, "description has more than one line; keep it to one line")
		}
	} else {
		p.errorf(root, "scenario has no \"description\"; say in one line what it plays")
	}
	if n := fields["seed"]; n != nil {
		sc.Seed = p.seed(n)
	}
	if n := fields["create"]; n != nil {
		sc.Create = p.script(n, "create")
	}
	if n := fields["poll"]; n != nil {
		sc.Poll = p.script(n, "poll")
	} else {
		p.errorf(root, "scenario has no \"poll\" script; every scenario says what its status polls answer")
	}
	if n := fields["result"]; n != nil {
		sc.Result = p.script(n, "result")
	}
	return sc
}

func (p *parser) yamlError(err error) {
	var le *yaml.LoadError
	if errors.As(err, &le) {
		p.errs = append(p.errs, &LoadError{File: p.file, Line: le.Mark.Line, Column: le.Mark.Column,
			Err: fmt.Errorf("not valid YAML: %s", le.Message)})
		return
	}
	p.errs = append(p.errs, &LoadError{File: p.file, Err: fmt.Errorf("not valid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))})
}

// noAliases rejects anchors and aliases, which a scenario never needs and
// which can make a small file expand without bound.
func (p *parser) noAliases(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		p.errorf(n, "anchors and aliases (& and *) are not supported in scenario files; write each step out")
		return false
	}
	for _, c := range n.Content {
		if !p.noAliases(c) {
			return false
		}
	}
	return true
}

// mapping returns the values of a mapping node by key, reporting unknown
// and repeated keys.
func (p *parser) mapping(n *yaml.Node, what string, allowed []string) map[string]*yaml.Node {
	return p.mappingShown(n, what, allowed, allowed)
}

// mappingShown is mapping, offering shown as the allowed keys in its
// messages; keys in allowed but not in shown get messages of their own.
func (p *parser) mappingShown(n *yaml.Node, what string, allowed, shown []string) map[string]*yaml.Node {
	out := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "%s keys must be plain words; allowed: %s", what, strings.Join(shown, ", "))
			continue
		}
		if !slices.Contains(allowed, k.Value) {
			if near := nearKey(k.Value, shown); near != "" {
				p.errorf(k, "unknown key %q in %s; did you mean %q?", k.Value, what, near)
			} else {
				p.errorf(k, "unknown key %q in %s; allowed: %s", k.Value, what, strings.Join(shown, ", "))
			}
			continue
		}
		if _, dup := out[k.Value]; dup {
			p.errorf(k, "key %q appears twice in %s; give it once", k.Value, what)
			continue
		}
		out[k.Value] = v
	}
	return out
}

// maxQuoted is how many bytes of a value an error message quotes.
const maxQuoted = 40

// nearKey returns the allowed key that key misspells by case, a dash for
// an underscore or a final s, or "".
func nearKey(key string, allowed []string) string {
	norm := func(s string) string {
		return strings.TrimSuffix(strings.ReplaceAll(strings.ToLower(s), "-", "_"), "s")
	}
	for _, a := range allowed {
		if norm(a) == norm(key) {
			return a
		}
	}
	return ""
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		v := n.Value
		if len(v) > maxQuoted {
			i := maxQuoted
			for i > 0 && !utf8.RuneStart(v[i]) {
				i--
			}
			return fmt.Sprintf("%q...", v[:i])
		}
		return fmt.Sprintf("%q", v)
	}
	return "empty"
}

// valueName is kindName with a hint for a scalar that is nearly of the
// wanted kind ("bool", "int" or "run_id"): one written in quotes, or one of
// the words YAML 1.1 read as booleans.
func valueName(n *yaml.Node, want string) string {
	name := kindName(n)
	if n.Kind != yaml.ScalarNode {
		return name
	}
	quoted := n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0
	switch {
	case quoted && want == "bool" && slices.Contains([]string{"true", "True", "TRUE", "false", "False", "FALSE"}, n.Value):
		return "the string " + name + "; remove the quotes"
	case quoted && (want == "int" || want == "run_id"):
		if _, err := strconv.ParseInt(n.Value, 0, 64); err == nil || want == "run_id" && n.Value == "auto" {
			return "the string " + name + "; remove the quotes"
		}
	case !quoted && want == "bool" && slices.Contains([]string{"y", "yes", "n", "no", "on", "off"}, strings.ToLower(n.Value)):
		return name + " (YAML 1.2 reads yes, no, on and off as strings)"
	}
	return name
}

func (p *parser) str(n *yaml.Node, key string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(n, "%q must be a string, not %s", key, kindName(n))
		return ""
	}
	return n.Value
}

func (p *parser) boolean(n *yaml.Node, key string) bool {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		if b, err := strconv.ParseBool(n.Value); err == nil {
			return b
		}
	}
	p.errorf(n, "%q must be true or false, not %s", key, valueName(n, "bool"))
	return false
}

func (p *parser) seed(n *yaml.Node) uint64 {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!int" {
		if v, err := strconv.ParseUint(n.Value, 0, 64); err == nil {
			return v
		}
	}
	p.errorf(n, "\"seed\" must be a whole number from 0 to %d, not %s", uint64(math.MaxUint64), valueName(n, "int"))
	return 0
}

func (p *parser) script(n *yaml.Node, name string) Script {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%q must be a list of steps, not %s", name, kindName(n))
		return nil
	}
	if len(n.Content) == 0 {
		p.errorf(n, "%q script is empty; give at least one step, or leave the key out", name)
		return nil
	}
	s := make(Script, 0, len(n.Content))
	// sure[i] is false when step i's duration is in doubt because of an
	// error already reported; the checks below skip such steps.
	sure := make([]bool, 0, len(n.Content))
	for i, sn := range n.Content {
		st, ok := p.step(sn, name, i+1)
		s = append(s, st)
		sure = append(sure, ok)
	}
	for i, st := range s[:len(s)-1] {
		if st.Forever() && sure[i] {
			later := "step after it never plays"
			if rest := len(s) - 1 - i; rest > 1 {
				later = fmt.Sprintf("%d steps after it never play", rest)
			}
			p.errorf(n.Content[i], "%s step %d lasts forever, so the %s; give it \"polls\" or \"for\"", name, i+1, later)
			break
		}
	}
	if last := s[len(s)-1]; name == "poll" && !last.Forever() && sure[len(s)-1] {
		p.errorf(n.Content[len(s)-1], "the last poll step must last forever, since a task answers every poll; remove its %q", durationKey(last))
	}
	return s
}

func durationKey(s Step) string {
	if s.Polls > 0 {
		return "polls"
	}
	return "for"
}

// step decodes one step of a script. durationOK is false when an error was
// reported about how long the step lasts.
func (p *parser) step(n *yaml.Node, script string, index int) (st Step, durationOK bool) {
	st = Step{Line: n.Line, Column: n.Column}
	what := fmt.Sprintf("%s step %d", script, index)
	shown := otherStepKeys
	if script == "poll" {
		shown = pollStepKeys
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping of keys (%s), not %s", what, strings.Join(shown, ", "), kindName(n))
		return st, false
	}
	before := len(p.errs)
	f := p.mappingShown(n, what, stepKeys, shown)
	badKeys := len(p.errs) > before

	// How long it lasts.
	var durations []string
	for _, k := range []string{"polls", "for", "forever"} {
		if f[k] != nil {
			durations = append(durations, k)
		}
	}
	durationOK = len(durations) <= 1
	if !durationOK {
		p.errorf(n, "%s has both %q and %q; give one", what, durations[0], durations[1])
	}
	if v := f["polls"]; v != nil {
		st.Polls = p.count(v, "polls")
	}
	if v := f["for"]; v != nil {
		st.For = p.duration(v, "for")
		if st.For <= 0 && !p.failedAt(v) {
			p.errorf(v, "\"for\" must be a duration above zero such as 2s or 1m30s, not %s", kindName(v))
		}
	}
	if v := f["forever"]; v != nil && !p.boolean(v, "forever") && !p.failedAt(v) {
		p.errorf(v, "\"forever\" can only be true; to end the step give \"polls\" or \"for\" instead")
	}
	for _, k := range durations {
		if p.failedAt(f[k]) {
			durationOK = false
		}
	}

	// What it answers.
	var answers []string
	for _, k := range []string{"status", "error", "fault", "normal"} {
		if f[k] != nil {
			answers = append(answers, k)
		}
	}
	allowed := `"status", "error" or "fault"`
	if script != "poll" {
		allowed = `"error", "fault" or "normal: true"`
	}
	switch len(answers) {
	case 0:
		if !badKeys { // a misspelt answer key has been reported already
			p.errorf(n, "%s answers nothing; give %s", what, allowed)
		}
	case 1:
	default:
		p.errorf(n, "%s has both %q and %q; give one of %s", what, answers[0], answers[1], allowed)
	}
	if v := f["status"]; v != nil {
		if script != "poll" {
			p.errorf(v, "%s has a \"status\", but only poll steps serve a status; give %s", what, allowed)
		} else {
			st.Reply = p.reply(v, f)
		}
	} else {
		for _, k := range []string{"run_id", "exception_reason", "message", "extra"} {
			if v := f[k]; v != nil {
				p.errorf(v, "%q goes with \"status\"; add a status to the step or remove %q", k, k)
			}
		}
	}
	if v := f["error"]; v != nil {
		st.Error = p.httpError(v, what)
	}
	if v := f["fault"]; v != nil {
		st.Fault = Fault(p.str(v, "fault"))
		if !p.failedAt(v) && !slices.Contains(Faults(), st.Fault) {
			p.errorf(v, "unknown fault %q; allowed: %s", st.Fault, joinFaults())
		}
	}
	if v := f["normal"]; v != nil {
		if script == "poll" {
			p.errorf(v, "%s has \"normal\", but a poll has no normal answer; give \"status\", \"error\" or \"fault\"", what)
		} else if !p.boolean(v, "normal") && !p.failedAt(v) {
			p.errorf(v, "\"normal\" can only be true; give \"error\" or \"fault\" for another answer")
		}
		st.Normal = true
	}
	if v := f["latency"]; v != nil {
		st.Latency = p.latency(v)
	}
	return st, durationOK
}

// failedAt reports whether an error was already reported at n.
func (p *parser) failedAt(n *yaml.Node) bool {
	return p.failed[[2]int{n.Line, n.Column}]
}

func joinFaults() string {
	var names []string
	for _, f := range Faults() {
		names = append(names, string(f))
	}
	return strings.Join(names, ", ")
}

func (p *parser) count(n *yaml.Node, key string) int {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!int" {
		if v, err := strconv.Atoi(n.Value); err == nil && v > 0 && v <= 1_000_000_000 {
			return v
		}
	}
	p.errorf(n, "%q must be a whole number from 1 to 1000000000, not %s", key, valueName(n, "int"))
	return 0
}

func (p *parser) duration(n *yaml.Node, key string) time.Duration {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		if d, err := time.ParseDuration(n.Value); err == nil {
			return d
		}
	}
	p.errorf(n, "%q must be a duration such as 2s, 500ms or 1m30s, not %s", key, kindName(n))
	return 0
}

func (p *parser) latency(n *yaml.Node) Latency {
	bad := func() Latency {
		p.errorf(n, "\"latency\" must be a duration such as 2s, or a range such as 1s..3s, not %s", kindName(n))
		return Latency{}
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		return bad()
	}
	lo, hi, isRange := strings.Cut(n.Value, "..")
	min, err := time.ParseDuration(strings.TrimSpace(lo))
	if err != nil {
		return bad()
	}
	max := min
	if isRange {
		if max, err = time.ParseDuration(strings.TrimSpace(hi)); err != nil {
			return bad()
		}
	}
	switch {
	case min < 0:
		p.errorf(n, "\"latency\" %s is below zero; give 0s or more", n.Value)
	case max < min:
		p.errorf(n, "\"latency\" range %s ends before it starts; write the smaller duration first", n.Value)
	case max > time.Hour:
		p.errorf(n, "\"latency\" %s is over an hour; give at most 1h", n.Value)
	}
	return Latency{Min: min, Max: max}
}

func (p *parser) reply(status *yaml.Node, f map[string]*yaml.Node) *Reply {
	// Which statuses exist is the spec's to say: Scenario.Check refuses
	// one the spec does not declare.
	r := &Reply{Status: cambmock.Status(p.str(status, "status")), Line: status.Line, Column: status.Column}
	if v := f["run_id"]; v != nil {
		r.RunID = p.runID(v)
	} else if r.Status == cambmock.StatusSuccess {
		r.RunID.Auto = true
	}
	if v := f["exception_reason"]; v != nil && v.Tag != "!!null" {
		r.ExceptionReason = cambmock.ExceptionReason(p.str(v, "exception_reason"))
	}
	if v := f["message"]; v != nil {
		switch {
		case v.Tag == "!!null":
		case v.Kind == yaml.ScalarNode && v.Tag == "!!str":
			r.Message, _ = json.Marshal(v.Value)
		case v.Kind == yaml.MappingNode:
			r.Message = p.json(v, "message")
		default:
			p.errorf(v, "\"message\" must be a string, a mapping or null, not %s", kindName(v))
		}
	}
	if v := f["extra"]; v != nil {
		if v.Kind != yaml.MappingNode {
			p.errorf(v, "\"extra\" must be a mapping of field names to values, not %s", kindName(v))
		} else {
			r.Extra = make(map[string]json.RawMessage)
			for i := 0; i+1 < len(v.Content); i += 2 {
				k, val := v.Content[i], v.Content[i+1]
				if k.Kind != yaml.ScalarNode || k.Tag == "!!null" {
					p.errorf(k, "extra field names must be strings, not %s", kindName(k))
					continue
				}
				name := k.Value
				switch {
				case slices.Contains([]string{"status", "run_id", "exception_reason", "message"}, name):
					p.errorf(k, "extra field %q is one of the reply's own fields; set it with its own key", name)
				case r.Extra[name] != nil:
					p.errorf(k, "extra field %q appears twice; give it once", name)
				default:
					r.Extra[name] = p.json(val, "extra")
				}
			}
		}
	}
	return r
}

func (p *parser) runID(n *yaml.Node) RunID {
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		return RunID{}
	case n.Kind == yaml.ScalarNode && n.Tag == "!!str" && n.Value == "auto" && n.Style == 0:
		return RunID{Auto: true}
	case n.Kind == yaml.ScalarNode && n.Tag == "!!int":
		if v, err := strconv.ParseInt(n.Value, 0, 64); err == nil && v >= 0 {
			return RunID{Value: json.RawMessage(strconv.FormatInt(v, 10))}
		}
		if p.offSpec {
			return RunID{Value: p.json(n, "run_id")}
		}
	case p.offSpec:
		return RunID{Value: p.json(n, "run_id")}
	}
	p.errorf(n, "\"run_id\" must be auto, a whole number of 0 or more, or null, not %s (off-spec scenarios may serve any value)", valueName(n, "run_id"))
	return RunID{}
}

// json converts a YAML value to JSON.
func (p *parser) json(n *yaml.Node, key string) json.RawMessage {
	if !p.jsonKeys(n, key) {
		return json.RawMessage("null")
	}
	var v any
	if err := n.Decode(&v); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if le := (*yaml.LoadError)(nil); errors.As(err, &le) {
			msg = le.Message
		}
		p.errorf(n, "%q cannot be read: %s", key, msg)
		return json.RawMessage("null")
	}
	b, err := json.Marshal(jsonable(v))
	if err != nil {
		p.errorf(n, "%q cannot be written as JSON: %v", key, err)
		return json.RawMessage("null")
	}
	return b
}

// jsonKeys reports every mapping key within n, the value of key, that
// cannot be a JSON object's key (a list, a mapping or null) or appears
// twice, and whether there was none.
func (p *parser) jsonKeys(n *yaml.Node, key string) bool {
	ok := true
	if n.Kind == yaml.MappingNode {
		seen := make(map[string]bool, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			switch {
			case k.Kind != yaml.ScalarNode || k.Tag == "!!null":
				p.errorf(k, "keys in %q must be strings or numbers, not %s", key, kindName(k))
				ok = false
			case seen[k.Value]:
				p.errorf(k, "key %q appears twice in %q; give it once", k.Value, key)
				ok = false
			}
			seen[k.Value] = true
		}
	}
	for _, c := range n.Content {
		if !p.jsonKeys(c, key) {
			ok = false
		}
	}
	return ok
}

// jsonable turns the map[any]any a YAML decoder may produce into values
// encoding/json accepts.
func jsonable(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = jsonable(e)
		}
		return v
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case []any:
		for i, e := range v {
			v[i] = jsonable(e)
		}
		return v
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return fmt.Sprint(v)
		}
	}
	return v
}

func (p *parser) httpError(n *yaml.Node, what string) *HTTPError {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "\"error\" must be a mapping of %s, not %s", strings.Join(errKeys, ", "), kindName(n))
		return nil
	}
	f := p.mapping(n, what+" error", errKeys)
	e := &HTTPError{Header: http.Header{}}
	if v := f["code"]; v != nil {
		if v.Kind == yaml.ScalarNode && v.Tag == "!!int" {
			e.Code, _ = strconv.Atoi(v.Value)
		}
		if e.Code < 400 || e.Code > 599 {
			p.errorf(v, "error \"code\" must be an HTTP error status from 400 to 599, not %s", valueName(v, "int"))
		}
	} else {
		p.errorf(n, "%s error has no \"code\"; give an HTTP status from 400 to 599", what)
	}
	if v := f["headers"]; v != nil {
		if v.Kind != yaml.MappingNode {
			p.errorf(v, "error \"headers\" must be a mapping of header names to values, not %s", kindName(v))
		} else {
			for i := 0; i+1 < len(v.Content); i += 2 {
				k, val := v.Content[i], v.Content[i+1]
				name := p.str(k, "header name")
				if name == "" {
					continue
				}
				if !validHeaderName(name) {
					p.errorf(k, "header name %q is not a valid HTTP header name", name)
					continue
				}
				if val.Kind != yaml.ScalarNode || val.Tag == "!!null" {
					p.errorf(val, "header %q must have a single value, not %s", name, kindName(val))
					continue
				}
				if strings.ContainsAny(val.Value, "\r\n\x00") {
					p.errorf(val, "header %q has a line break in its value; give one line", name)
					continue
				}
				if len(e.Header.Values(name)) > 0 {
					p.errorf(k, "header %q appears twice; give it once", name)
					continue
				}
				e.Header.Set(name, val.Value)
			}
		}
	}
	if v := f["body"]; v != nil {
		e.Body = p.str(v, "body")
	} else if e.Code != 0 {
		e.Body = defaultErrorBody(e.Code)
	}
	if e.Header.Get("Content-Type") == "" {
		e.Header.Set("Content-Type", sniffContentType(e.Body))
	}
	return e
}

func validHeaderName(s string) bool {
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return s != ""
}

// defaultErrorBody is the body an error step without "body" serves: the
// spec's shape for the code.
func defaultErrorBody(code int) string {
	if code == http.StatusUnprocessableEntity {
		return `{"detail":[{"loc":["body"],"msg":"Invalid request","type":"value_error"}]}`
	}
	text := http.StatusText(code)
	if text == "" {
		text = "Error " + strconv.Itoa(code)
	}
	b, _ := json.Marshal(map[string]string{"detail": text})
	return string(b)
}

// sniffContentType names the type of an error body given without a
// Content-Type header: JSON if it parses as JSON, HTML if it starts with
// "<", else plain text.
func sniffContentType(body string) string {
	trimmed := strings.TrimSpace(body)
	switch {
	case trimmed != "" && json.Valid([]byte(trimmed)):
		return "application/json"
	case strings.HasPrefix(trimmed, "<"):
		return "text/html; charset=utf-8"
	}
	return "text/plain; charset=utf-8"
}
