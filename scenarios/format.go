package scenarios

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/cambmock/cambmock"
)

// Format writes sc in the scenario file format, so that Parse gives back
// an equal scenario (but for File and the Line and Column of its steps and
// replies). comment,
// if not empty, is written first as YAML comment lines.
func Format(sc *Scenario, comment string) ([]byte, error) {
	root := &yaml.Node{Kind: yaml.MappingNode}
	add := func(key string, v *yaml.Node) {
		root.Content = append(root.Content, str(key), v)
	}
	add("name", str(sc.Name))
	add("description", str(sc.Description))
	if sc.OffSpec {
		add("off_spec", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
	}
	if sc.Seed != 0 {
		add("seed", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatUint(sc.Seed, 10)})
	}
	for _, s := range []struct {
		name   string
		script Script
	}{{"create", sc.Create}, {"poll", sc.Poll}, {"result", sc.Result}} {
		if len(s.script) == 0 {
			continue
		}
		seq := &yaml.Node{Kind: yaml.SequenceNode}
		for i, st := range s.script {
			n, err := formatStep(st)
			if err != nil {
				return nil, fmt.Errorf("scenario %q: %s step %d: %w", sc.Name, s.name, i+1, err)
			}
			seq.Content = append(seq.Content, n)
		}
		add(s.name, seq)
	}
	if comment != "" {
		var lines []string
		for _, l := range strings.Split(strings.TrimRight(comment, "\n"), "\n") {
			lines = append(lines, "# "+l)
		}
		root.HeadComment = strings.Join(lines, "\n")
	}
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func str(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func formatStep(st Step) (*yaml.Node, error) {
	m := &yaml.Node{Kind: yaml.MappingNode}
	add := func(key string, v *yaml.Node) { m.Content = append(m.Content, str(key), v) }
	switch {
	case st.Reply != nil:
		r := st.Reply
		add("status", str(string(r.Status)))
		switch {
		case r.RunID.Auto:
			add("run_id", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "auto"})
		case r.RunID.Value == nil && r.Status != cambmock.StatusSuccess:
			// null is the default for every status but SUCCESS.
		default:
			n, err := fromJSON(r.RunID.Value)
			if err != nil {
				return nil, fmt.Errorf("run_id: %w", err)
			}
			if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
				n.Style = yaml.DoubleQuotedStyle // a plain auto would mean a fresh id
			}
			add("run_id", n)
		}
		if r.ExceptionReason != "" {
			add("exception_reason", str(string(r.ExceptionReason)))
		}
		if r.Message != nil {
			n, err := fromJSON(r.Message)
			if err != nil {
				return nil, fmt.Errorf("message: %w", err)
			}
			add("message", n)
		}
		if len(r.Extra) > 0 {
			extra := &yaml.Node{Kind: yaml.MappingNode}
			for _, k := range sortedKeys(r.Extra) {
				n, err := fromJSON(r.Extra[k])
				if err != nil {
					return nil, fmt.Errorf("extra %q: %w", k, err)
				}
				extra.Content = append(extra.Content, str(k), n)
			}
			add("extra", extra)
		}
	case st.Error != nil:
		e := &yaml.Node{Kind: yaml.MappingNode}
		e.Content = append(e.Content, str("code"), &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(st.Error.Code)})
		var names []string
		for k := range st.Error.Header {
			if k == "Content-Type" && st.Error.Header.Get(k) == sniffContentType(st.Error.Body) {
				continue // Parse infers it
			}
			names = append(names, k)
		}
		slices.Sort(names)
		if len(names) > 0 {
			h := &yaml.Node{Kind: yaml.MappingNode}
			for _, k := range names {
				h.Content = append(h.Content, str(k), str(st.Error.Header.Get(k)))
			}
			e.Content = append(e.Content, str("headers"), h)
		}
		e.Content = append(e.Content, str("body"), str(st.Error.Body))
		add("error", e)
	case st.Fault != "":
		add("fault", str(string(st.Fault)))
	case st.Normal:
		add("normal", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
	default:
		return nil, fmt.Errorf("the step answers nothing")
	}
	switch {
	case st.Polls > 0:
		add("polls", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(st.Polls)})
	case st.For > 0:
		add("for", str(st.For.String()))
	}
	if st.Latency.Min > 0 || st.Latency.Max > 0 {
		v := st.Latency.Min.String()
		if st.Latency.Max > st.Latency.Min {
			v += ".." + st.Latency.Max.String()
		}
		add("latency", str(v))
	}
	return m, nil
}

// fromJSON turns a JSON value into a YAML node; nil is null.
func fromJSON(raw json.RawMessage) (*yaml.Node, error) {
	if raw == nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	}
	var v any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	n := &yaml.Node{}
	if err := n.Encode(yamlable(v)); err != nil {
		return nil, err
	}
	return n, nil
}

// yamlable turns json.Number into int64 or float64 for the YAML encoder.
func yamlable(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		f, _ := v.Float64()
		return f
	case map[string]any:
		for k, e := range v {
			v[k] = yamlable(e)
		}
	case []any:
		for i, e := range v {
			v[i] = yamlable(e)
		}
	}
	return v
}
