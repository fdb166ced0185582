package contract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/cambmock/cambmock"
)

// The bounds on what an observer keeps, since the values come from the
// target or the client: a proxy shown 100,000 odd answers keeps no more
// than these, and counts the rest in Drift.Dropped.
const (
	// maxDistinct is the most distinct values kept in each drift map:
	// statuses, exception reasons, and per operation the fields, content
	// types and codes.
	maxDistinct = 100
	// maxWarnings is the most distinct warnings kept.
	maxWarnings = 200
	// maxValue is the longest value (a status, a field name, a content
	// type) kept as it came, in bytes; a longer one is cut.
	maxValue = 120
)

// The names Drift.Dropped counts under.
const (
	droppedStatuses     = "statuses"
	droppedReasons      = "exception_reasons"
	droppedFields       = "fields"
	droppedContentTypes = "content_types"
	droppedCodes        = "codes"
	droppedWarnings     = "warnings"
)

// observer checks single answers against the spec and gathers drift: what
// both the suite and a [Monitor] do with every answer they see. It is not
// safe for concurrent use.
type observer struct {
	spec *cambmock.Spec
	// redirect ends the problem of an undeclared redirect: what became of it.
	redirect string
	drift    Drift
	warned   map[string]int // warning key -> index in drift.Warnings
}

func newObserver(spec *cambmock.Spec, redirect string) *observer {
	return &observer{
		spec:     spec,
		redirect: redirect,
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

// role returns the role of the operation op names, or "" for one outside
// the polled-task family (and for the file URL).
func (o *observer) role(op string) cambmock.Role {
	if fam := o.spec.OperationByID(op); fam != nil {
		return fam.Role
	}
	return ""
}

// conforms names the check that every response of op conforms, by the
// operation's role.
func (o *observer) conforms(op string) string {
	switch o.role(op) {
	case cambmock.RoleCreate:
		return CheckCreateConforms
	case cambmock.RoleStatus:
		return CheckStatusConforms
	case cambmock.RoleResult:
		return CheckResultConforms
	case cambmock.RoleBulk:
		return CheckBulkConforms
	}
	return ""
}

// drop counts a value a drift map had no room for.
func (o *observer) drop(what string) {
	if o.drift.Dropped == nil {
		o.drift.Dropped = map[string]int{}
	}
	o.drift.Dropped[what]++
}

// count counts v in m, if m has room for it.
func (o *observer) count(m map[string]int, what, v string) {
	if _, ok := m[v]; !ok && len(m) >= maxDistinct {
		o.drop(what)
		return
	}
	m[v]++
}

// note adds v to the sorted list m[op], if the list has room for it.
func note[T string | int](o *observer, m map[string][]T, what, op string, v T) {
	list := m[op]
	if !slices.Contains(list, v) && len(list) >= maxDistinct {
		o.drop(what)
		return
	}
	m[op] = addUnique(list, v)
}

// value readies a value the target chose for keeping: without the key,
// and cut short.
func value(e *exchange, v string) string { return clip(e.scrub.text(v), maxValue) }

// observe validates an answer and notes its drift.
func (o *observer) observe(e *exchange) []finding {
	var out []finding
	d := &o.drift
	note(o, d.Codes, droppedCodes, e.op, e.code)
	if ct := e.header.Get("Content-Type"); ct != "" {
		note(o, d.ContentTypes, droppedContentTypes, e.op, value(e, ct))
	}
	if e.code == http.StatusTooManyRequests {
		f := finding{check: CheckRetryAfter}
		if _, ok := retryAfter(e.header); !ok {
			got := value(e, e.header.Get("Retry-After"))
			f.problem = "a 429 has no Retry-After header, so a client cannot tell how long to wait"
			if got != "" {
				f.problem = fmt.Sprintf("a 429 has a Retry-After header %q that is neither seconds nor an HTTP date", got)
			}
			f.diff = wantGot("Retry-After: <seconds or an HTTP date>", "Retry-After: "+got)
		}
		out = append(out, f)
	}
	if e.op == opFile {
		return out
	}
	if isRedirect(e.code) && !o.declares(e.op, e.code) {
		loc := "no Location"
		if l := e.header.Get("Location"); l != "" {
			loc = "Location " + clip(e.scrub.text(redactURL(l, o.spec.APIKeyHeader())), 2*maxValue)
		}
		out = append(out, finding{problem: fmt.Sprintf("the target answered %d with %s; openapi.yaml declares no redirect%s", e.code, loc, o.redirect)})
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

// isRedirect reports whether code is a redirect.
func isRedirect(code int) bool { return code >= 300 && code < 400 }

// declares reports whether openapi.yaml declares the answer code for op.
func (o *observer) declares(op string, code int) bool {
	fam := o.spec.OperationByID(op)
	if fam == nil || fam.Op.Responses == nil {
		return false
	}
	return fam.Op.Responses.Status(code) != nil || fam.Op.Responses.Value(fmt.Sprintf("%dXX", code/100)) != nil
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
	role := o.role(e.op)
	known := o.knownFields(e.op, e.code)
	d := &o.drift
	if e.code >= 200 && e.code < 300 && role != cambmock.RoleBulk {
		for k := range body {
			note(o, d.Fields, droppedFields, e.op, value(e, k))
		}
	}
	if known != nil {
		for _, k := range sortedKeys(body) {
			if !slices.Contains(known, k) {
				k := value(e, k)
				o.warn("field", k, e.op, fmt.Sprintf("%s %d answers carry a field %q that openapi.yaml does not list", e.op, e.code, k))
			}
		}
	}
	if role == cambmock.RoleBulk && e.code == http.StatusOK {
		entryFields := o.bulkEntryFields(e.op)
		for _, id := range sortedKeys(body) {
			if entry, ok := body[id].(map[string]any); ok && entryFields != nil {
				for _, k := range sortedKeys(entry) {
					if !slices.Contains(entryFields, k) {
						k := value(e, k)
						o.warn("field", k, e.op, fmt.Sprintf("%s entries carry a field %q that openapi.yaml does not list", e.op, k))
					}
				}
			}
		}
	}
	if role != cambmock.RoleStatus || e.code != http.StatusOK {
		return
	}
	if st, ok := body["status"].(string); ok {
		known := o.spec.KnownStatus(cambmock.Status(st))
		st := value(e, st)
		o.count(d.Statuses, droppedStatuses, st)
		if !known {
			o.warn("status", st, e.op, fmt.Sprintf("status %q is not in openapi.yaml's TaskStatus (%s)", st, o.spec.StatusList()))
		}
	}
	if r, ok := body["exception_reason"].(string); ok {
		known := o.spec.KnownReason(cambmock.ExceptionReason(r))
		r := value(e, r)
		o.count(d.ExceptionReasons, droppedReasons, r)
		if !known {
			o.warn("exception_reason", r, e.op, fmt.Sprintf("exception_reason %q is not in openapi.yaml's ExceptionReason list", r))
		}
	}
}

func (o *observer) warn(kind, value, where, message string) {
	key := kind + "\x00" + value + "\x00" + where
	d := &o.drift
	if i, ok := o.warned[key]; ok {
		d.Warnings[i].Count++
		return
	}
	if len(d.Warnings) >= maxWarnings {
		o.drop(droppedWarnings)
		return
	}
	o.warned[key] = len(d.Warnings)
	d.Warnings = append(d.Warnings, Warning{Kind: kind, Value: value, Where: where, Count: 1, Message: message})
}

// bulkEntryFields returns the properties the spec lists for an entry of
// the bulk operation op's 200 answer (its additionalProperties), or nil if
// it lists none.
func (o *observer) bulkEntryFields(op string) []string {
	fam := o.spec.OperationByID(op)
	if fam == nil {
		return nil
	}
	s := fam.JSONSchema(http.StatusOK)
	if s == nil || s.AdditionalProperties.Schema == nil || s.AdditionalProperties.Schema.Value == nil {
		return nil
	}
	props := properties(s.AdditionalProperties.Schema.Value)
	if len(props) == 0 {
		return nil
	}
	return sortedKeys(props)
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
