package contract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock"
)

// observer checks single answers against the spec and gathers drift: what
// both the suite and a [Monitor] do with every answer they see. It is not
// safe for concurrent use.
type observer struct {
	spec   *cambmock.Spec
	drift  Drift
	warned map[string]int // warning key -> index in drift.Warnings
}

func newObserver(spec *cambmock.Spec) *observer {
	return &observer{
		spec: spec,
		drift: Drift{Statuses: map[string]int{}, ExceptionReasons: map[string]int{}, Fields: map[string][]string{},
			ContentTypes: map[string][]string{}, Codes: map[string][]int{}, Warnings: []Warning{}},
		warned: map[string]int{},
	}
}

// finding is one problem an observer found. An empty check means the
// check the answer was made for (its operation's conformance check when
// observing passively).
type finding struct {
	check   string
	problem string
	diff    string
}

// observe validates an answer and notes its drift. e.req's URL path is
// relative to the base URL when relPath is set.
func (o *observer) observe(e *exchange) []finding {
	var out []finding
	d := &o.drift
	d.Codes[e.op] = addUnique(d.Codes[e.op], e.code)
	if ct := e.header.Get("Content-Type"); ct != "" {
		d.ContentTypes[e.op] = addUnique(d.ContentTypes[e.op], ct)
	}
	if e.code == http.StatusTooManyRequests {
		f := finding{check: CheckRetryAfter}
		if _, ok := retryAfter(e.header); !ok {
			f.problem = "a 429 has no Retry-After header, so a client cannot tell how long to wait"
			if e.header.Get("Retry-After") != "" {
				f.problem = fmt.Sprintf("a 429 has a Retry-After header %q that is neither seconds nor an HTTP date", e.header.Get("Retry-After"))
			}
			f.diff = cmp.Diff("Retry-After: <seconds or HTTP date>", "Retry-After: "+e.header.Get("Retry-After"))
		}
		out = append(out, f)
	}
	if e.op == opFile {
		return out
	}
	rel := e.req.Clone(context.Background())
	rel.URL.Path = e.rel
	err := o.spec.ValidateResponse(context.Background(), rel, e.code, e.header, e.body)
	var v *cambmock.Violations
	switch {
	case errors.As(err, &v):
		for _, p := range v.Problems {
			out = append(out, finding{problem: fmt.Sprintf("the %d answer violates openapi.yaml: %s", e.code, p)})
		}
	case err != nil:
		out = append(out, finding{problem: "the answer could not be validated: " + err.Error()})
	}
	o.noteDrift(e)
	return out
}

// noteDrift notes the fields, statuses and reasons of a JSON body, warning
// of those the spec does not list.
func (o *observer) noteDrift(e *exchange) {
	if !strings.Contains(e.header.Get("Content-Type"), "json") {
		return
	}
	var body map[string]any
	if json.Unmarshal(e.body, &body) != nil {
		return
	}
	known := o.knownFields(e.op, e.code)
	d := &o.drift
	if e.code >= 200 && e.code < 300 && e.op != opBulk {
		for k := range body {
			d.Fields[e.op] = addUnique(d.Fields[e.op], k)
		}
	}
	if known != nil {
		for _, k := range sortedKeys(body) {
			if !slices.Contains(known, k) {
				o.warn("field", k, e.op, fmt.Sprintf("%s %d answers carry a field %q that openapi.yaml does not list", e.op, e.code, k))
			}
		}
	}
	if e.op == opBulk && e.code == http.StatusOK {
		for _, v := range body {
			if entry, ok := v.(map[string]any); ok {
				for k := range entry {
					if k != "output_url" {
						o.warn("field", k, e.op, fmt.Sprintf("%s entries carry a field %q that openapi.yaml does not list", e.op, k))
					}
				}
			}
		}
	}
	if e.op != opStatus || e.code != http.StatusOK {
		return
	}
	if st, ok := body["status"].(string); ok {
		d.Statuses[st]++
		if !cambmock.Status(st).Known() {
			o.warn("status", st, e.op, fmt.Sprintf("status %q is not in openapi.yaml's TaskStatus (%s)", st, statusList()))
		}
	}
	if r, ok := body["exception_reason"].(string); ok {
		d.ExceptionReasons[r]++
		if !cambmock.ExceptionReason(r).Known() {
			o.warn("exception_reason", r, e.op, fmt.Sprintf("exception_reason %q is not in openapi.yaml's ExceptionReason list", r))
		}
	}
}

func statusList() string {
	var out []string
	for _, s := range cambmock.Statuses() {
		out = append(out, string(s))
	}
	return strings.Join(out, ", ")
}

func (o *observer) warn(kind, value, where, message string) {
	key := kind + "\x00" + value + "\x00" + where
	d := &o.drift
	if i, ok := o.warned[key]; ok {
		d.Warnings[i].Count++
		return
	}
	o.warned[key] = len(d.Warnings)
	d.Warnings = append(d.Warnings, Warning{Kind: kind, Value: value, Where: where, Count: 1, Message: message})
}

// knownFields returns the top-level properties the spec lists for the JSON
// answer of op with code, or nil if it lists none.
func (o *observer) knownFields(op string, code int) []string {
	for _, item := range o.spec.Doc.Paths.Map() {
		for _, op2 := range item.Operations() {
			if op2.OperationID != op {
				continue
			}
			ref := op2.Responses.Status(code)
			if ref == nil || ref.Value == nil {
				return nil
			}
			mt := ref.Value.Content.Get("application/json")
			if mt == nil || mt.Schema == nil || mt.Schema.Value == nil || len(mt.Schema.Value.Properties) == 0 {
				return nil
			}
			return sortedKeys(mt.Schema.Value.Properties)
		}
	}
	return nil
}
