package cambmock

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Role is what an operation does for its kind of task.
type Role string

// The roles of the polled-task family: create a task, poll its status,
// fetch its result, fetch many results at once.
const (
	RoleCreate Role = "create"
	RoleStatus Role = "status"
	RoleResult Role = "result"
	RoleBulk   Role = "bulk"
)

// Roles returns the roles, in the order a task meets them.
func Roles() []Role { return []Role{RoleCreate, RoleStatus, RoleResult, RoleBulk} }

// An Operation is one operation of openapi.yaml that belongs to a kind of
// task, as its x-cambmock extension says.
type Operation struct {
	ID     string // the operationId, such as "getTextToSoundStatus"
	Kind   string // the kind of task, such as "text-to-sound"
	Role   Role
	Method string // such as "GET"
	// Path is relative to the base path, as openapi.yaml writes it, such as
	// "/text-to-sound/{task_id}".
	Path string
	// Param is the name of the path's one parameter, such as "task_id", or
	// "" when the path has none.
	Param string
	// Op is the operation in the document.
	Op *openapi3.Operation

	// AudioLength says, for a create operation, how long the audio of the
	// task's result is; nil for other operations.
	AudioLength *AudioLength
	// JSONWhen says, for a result operation that can answer audio or JSON,
	// which query parameters select the JSON answer; nil means the
	// operation has one way to answer.
	JSONWhen map[string]string
	// AlsoKinds names, for a result or bulk operation, the other kinds whose
	// runs it serves too (as /tts-result serves translated-tts runs).
	AlsoKinds []string
}

// URL returns the operation's path relative to the base path with its
// parameter filled in (escaped), such as "/text-to-sound/abc".
func (o *Operation) URL(param string) string {
	if o.Param == "" {
		return o.Path
	}
	return strings.Replace(o.Path, "{"+o.Param+"}", url.PathEscape(param), 1)
}

// AudioLength is how a create request says how long its task's audio is
// (the x-cambmock extension's audio-length).
type AudioLength struct {
	// Field is the request body's field holding the length in seconds, or
	// "" when the request cannot say.
	Field string `json:"field,omitempty"`
	// Default is the length in seconds when the field is absent.
	Default float64 `json:"default"`
	// Max is the longest length in seconds a request may ask for; 0 means
	// no limit. A longer one is a 422.
	Max float64 `json:"max,omitempty"`
	// Cases override the above when a request's fields hold given values;
	// the first that matches applies.
	Cases []AudioCase `json:"cases,omitempty"`
}

// An AudioCase is an [AudioLength] rule for requests whose fields hold
// given values (strings, compared as JSON scalars written as text).
type AudioCase struct {
	When map[string]string `json:"when"`
	// Fixed, when above zero, is the length whatever the request asks
	// for, with no maximum.
	Fixed float64 `json:"fixed,omitempty"`
	// Max replaces AudioLength.Max when Fixed is zero; 0 means no limit.
	Max float64 `json:"max,omitempty"`
}

// Seconds returns the audio length for a decoded JSON request body: the
// length asked for (or the default), and the maximum that applies (0 for
// none). A fixed length applies whatever was asked.
func (a *AudioLength) Seconds(body map[string]any) (seconds, maximum float64, fixed bool) {
	seconds, maximum = a.Default, a.Max
	for _, c := range a.Cases {
		if c.matches(body) {
			if c.Fixed > 0 {
				return c.Fixed, 0, true
			}
			maximum = c.Max
			break
		}
	}
	if a.Field != "" {
		if v, ok := body[a.Field].(float64); ok {
			seconds = v
		}
	}
	return seconds, maximum, false
}

func (c AudioCase) matches(body map[string]any) bool {
	for k, want := range c.When {
		got, ok := body[k]
		if !ok {
			return false
		}
		if s, ok := got.(string); ok {
			if s != want {
				return false
			}
			continue
		}
		b, _ := json.Marshal(got)
		if string(b) != want {
			return false
		}
	}
	return true
}

// A Kind is one kind of task of camb.ai's polled-task family, such as
// text-to-sound or tts: its create, status, result and bulk operations, of
// which only create and status are always present.
type Kind struct {
	Name   string
	Create *Operation
	Status *Operation
	Result *Operation // nil when the kind has no result operation
	Bulk   *Operation // nil when the kind has no bulk operation
}

// Operation returns the kind's operation for role, or nil.
func (k *Kind) Operation(role Role) *Operation {
	switch role {
	case RoleCreate:
		return k.Create
	case RoleStatus:
		return k.Status
	case RoleResult:
		return k.Result
	case RoleBulk:
		return k.Bulk
	}
	return nil
}

// Operations returns the kind's operations in the order of [Roles].
func (k *Kind) Operations() []*Operation {
	var out []*Operation
	for _, r := range Roles() {
		if op := k.Operation(r); op != nil {
			out = append(out, op)
		}
	}
	return out
}

// family is what a Spec knows of the polled-task family, read from its
// extensions.
type family struct {
	kinds       []*Kind // sorted by name
	byName      map[string]*Kind
	byID        map[string]*Operation
	defaultKind *Kind
	basePath    string
	keyHeader   string
	statuses    []Status
	inProgress  []Status
	reasons     []ExceptionReason
	fields      []string // the status body's properties, sorted
}

// extension is the x-cambmock object of an operation.
type extension struct {
	Kind        string            `json:"kind"`
	Role        Role              `json:"role"`
	AudioLength *AudioLength      `json:"audio-length"`
	JSONWhen    map[string]string `json:"json-when"`
	AlsoKinds   []string          `json:"also-kinds"`
}

// readFamily reads the family from doc's extensions, reporting every
// problem that would stop the mock or the suite from serving it.
func readFamily(doc *openapi3.T) (*family, error) {
	f := &family{byName: map[string]*Kind{}, byID: map[string]*Operation{}}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	// The base path: the path of the first server's URL.
	if len(doc.Servers) == 0 {
		bad("servers: none is given; give one such as https://client.camb.ai/apis, whose path is the base path of every operation")
	} else if u, err := url.Parse(doc.Servers[0].URL); err != nil || strings.Contains(doc.Servers[0].URL, "{") {
		bad("servers[0].url %q is not a URL without variables, such as https://client.camb.ai/apis", doc.Servers[0].URL)
	} else {
		f.basePath = strings.TrimSuffix(u.Path, "/")
	}

	// The API key: the one apiKey scheme in a header that the document's
	// security requires.
	f.keyHeader = apiKeyHeader(doc)
	if f.keyHeader == "" {
		bad("components.securitySchemes: no scheme of type apiKey in a header is required by the top-level security; cambmock needs the header that carries the API key")
	}

	// The statuses.
	var ts *openapi3.Schema
	if doc.Components != nil {
		if ref := doc.Components.Schemas["TaskStatus"]; ref != nil {
			ts = ref.Value
		}
	}
	if ts == nil || len(ts.Enum) == 0 {
		bad("components.schemas.TaskStatus: missing, or without an enum; it must list the statuses a task reports")
	} else {
		for _, v := range ts.Enum {
			s, ok := v.(string)
			if !ok {
				bad("components.schemas.TaskStatus: enum value %v is not a string", v)
				continue
			}
			f.statuses = append(f.statuses, Status(s))
		}
		raw, ok := ts.Extensions["x-in-progress-statuses"]
		list, isList := raw.([]any)
		switch {
		case !ok:
			bad("components.schemas.TaskStatus: no x-in-progress-statuses; list the statuses that are not terminal, such as [PENDING]")
		case !isList || len(list) == 0:
			bad("components.schemas.TaskStatus: x-in-progress-statuses must be a list of at least one status, such as [PENDING]")
		default:
			for _, v := range list {
				s, _ := v.(string)
				if !slices.Contains(f.statuses, Status(s)) {
					bad("components.schemas.TaskStatus: x-in-progress-statuses names %v, which its enum does not list", v)
					continue
				}
				f.inProgress = append(f.inProgress, Status(s))
			}
			if len(f.inProgress) == len(f.statuses) && len(f.statuses) > 0 {
				bad("components.schemas.TaskStatus: every status is in x-in-progress-statuses, so no task could ever end; leave the terminal ones out")
			}
		}
	}
	if doc.Components != nil {
		if ref := doc.Components.Schemas["ExceptionReason"]; ref != nil && ref.Value != nil {
			for _, v := range ref.Value.Enum {
				if s, ok := v.(string); ok {
					f.reasons = append(f.reasons, ExceptionReason(s))
				}
			}
		}
	}

	// The operations.
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		for method, op := range item.Operations() {
			raw, ok := op.Extensions["x-cambmock"]
			if !ok {
				continue
			}
			where := fmt.Sprintf("%s %s", method, path)
			if op.OperationID != "" {
				where += " (" + op.OperationID + ")"
			}
			b, _ := json.Marshal(raw)
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			var ext extension
			if err := dec.Decode(&ext); err != nil {
				bad("%s: x-cambmock: %v; it takes kind, role, and for create audio-length, for result json-when", where, err)
				continue
			}
			if ext.Kind == "" {
				bad("%s: x-cambmock has no kind; name the kind of task, such as text-to-sound", where)
				continue
			}
			if !slices.Contains(Roles(), ext.Role) {
				bad("%s: x-cambmock role %q is not one of create, status, result, bulk", where, ext.Role)
				continue
			}
			if op.OperationID == "" {
				bad("%s: the operation has no operationId; cambmock names operations by it", where)
				continue
			}
			o := &Operation{ID: op.OperationID, Kind: ext.Kind, Role: ext.Role, Method: method, Path: path, Op: op,
				AudioLength: ext.AudioLength, JSONWhen: ext.JSONWhen, AlsoKinds: ext.AlsoKinds}
			params := pathParams(path)
			switch {
			case len(params) > 1:
				bad("%s: the path has %d parameters; cambmock serves paths with at most one", where, len(params))
				continue
			case len(params) == 1:
				o.Param = params[0]
			}
			if ext.AudioLength != nil && ext.Role != RoleCreate {
				bad("%s: x-cambmock audio-length goes on a create operation, not a %s one", where, ext.Role)
			}
			if ext.JSONWhen != nil && ext.Role != RoleResult {
				bad("%s: x-cambmock json-when goes on a result operation, not a %s one", where, ext.Role)
			}
			if ext.AlsoKinds != nil && ext.Role != RoleResult && ext.Role != RoleBulk {
				bad("%s: x-cambmock also-kinds goes on a result or bulk operation, not a %s one", where, ext.Role)
			}
			switch ext.Role {
			case RoleStatus, RoleResult:
				if o.Param == "" || method != http.MethodGet {
					bad("%s: a %s operation must be a GET of a path with one parameter, such as /%s/{id}", where, ext.Role, ext.Kind)
				}
			case RoleCreate, RoleBulk:
				if method != http.MethodPost {
					bad("%s: a %s operation must be a POST", where, ext.Role)
				}
			}
			k := f.byName[ext.Kind]
			if k == nil {
				k = &Kind{Name: ext.Kind}
				f.byName[ext.Kind] = k
				f.kinds = append(f.kinds, k)
			}
			slot := map[Role]**Operation{RoleCreate: &k.Create, RoleStatus: &k.Status, RoleResult: &k.Result, RoleBulk: &k.Bulk}[ext.Role]
			if *slot != nil {
				bad("%s: kind %s already has a %s operation (%s); give each role once per kind", where, ext.Kind, ext.Role, (*slot).ID)
				continue
			}
			if other := f.byID[o.ID]; other != nil {
				bad("%s: operationId %s is taken by %s %s", where, o.ID, other.Method, other.Path)
				continue
			}
			*slot = o
			f.byID[o.ID] = o
		}
	}
	sort.Slice(f.kinds, func(i, j int) bool { return f.kinds[i].Name < f.kinds[j].Name })
	if len(f.kinds) == 0 {
		bad("no operation has an x-cambmock extension; mark each operation of a kind of task with x-cambmock: {kind: NAME, role: create|status|result|bulk}")
	}
	var statusSchema *openapi3.Schema
	for _, k := range f.kinds {
		if k.Create == nil {
			bad("kind %s has no create operation (x-cambmock role: create); a task cannot be made without one", k.Name)
		}
		if k.Status == nil {
			bad("kind %s has no status operation (x-cambmock role: status); a task cannot be polled without one", k.Name)
			continue
		}
		s := k.Status.JSONSchema(http.StatusOK)
		if s == nil || s.Properties["status"] == nil {
			bad("%s: the status operation's 200 answer has no JSON schema with a status property", k.Status.ID)
			continue
		}
		if statusSchema == nil {
			statusSchema = s
			f.fields = sortedKeys(s.Properties)
		}
	}
	for _, op := range f.byID {
		for _, other := range op.AlsoKinds {
			if f.byName[other] == nil {
				bad("%s: x-cambmock also-kinds names %q, which no operation's x-cambmock kind is", op.ID, other)
			}
		}
	}
	if name, ok := doc.Extensions["x-cambmock-default-kind"].(string); ok {
		f.defaultKind = f.byName[name]
		if f.defaultKind == nil {
			bad("x-cambmock-default-kind names %q, which no operation's x-cambmock kind is", name)
		}
	} else if len(f.kinds) > 0 {
		f.defaultKind = f.kinds[0]
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return f, nil
}

func pathParams(path string) []string {
	var out []string
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			out = append(out, seg[1:len(seg)-1])
		}
	}
	return out
}

func apiKeyHeader(doc *openapi3.T) string {
	if doc.Components == nil {
		return ""
	}
	for _, req := range doc.Security {
		for name := range req {
			ref := doc.Components.SecuritySchemes[name]
			if ref != nil && ref.Value != nil && ref.Value.Type == "apiKey" && ref.Value.In == "header" {
				return ref.Value.Name
			}
		}
	}
	return ""
}

// JSONSchema returns the schema of the operation's application/json
// answer with code, or nil when it declares none.
func (o *Operation) JSONSchema(code int) *openapi3.Schema {
	if o == nil || o.Op == nil {
		return nil
	}
	ref := o.Op.Responses.Status(code)
	if ref == nil || ref.Value == nil {
		return nil
	}
	mt := ref.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return nil
	}
	return mt.Schema.Value
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Kinds returns the kinds of task the spec declares, sorted by name.
func (s *Spec) Kinds() []*Kind { return slices.Clone(s.family.kinds) }

// Kind returns the kind with the given name, or nil.
func (s *Spec) Kind(name string) *Kind { return s.family.byName[name] }

// DefaultKind returns the kind the spec names in x-cambmock-default-kind
// (text-to-sound in the embedded openapi.yaml), else the first by name.
func (s *Spec) DefaultKind() *Kind { return s.family.defaultKind }

// OperationByID returns the family operation with the given operationId, or nil.
func (s *Spec) OperationByID(id string) *Operation { return s.family.byID[id] }

// BasePath returns the path of the first server's URL, under which every
// operation is served, such as "/apis"; "" when it has none.
func (s *Spec) BasePath() string { return s.family.basePath }

// APIKeyHeader returns the name of the header that carries the API key,
// as the spec's security scheme declares it, such as "x-api-key".
func (s *Spec) APIKeyHeader() string { return s.family.keyHeader }

// Statuses returns the statuses components.schemas.TaskStatus declares,
// in its order.
func (s *Spec) Statuses() []Status { return slices.Clone(s.family.statuses) }

// InProgressStatuses returns the statuses TaskStatus's
// x-in-progress-statuses lists: those that are not terminal.
func (s *Spec) InProgressStatuses() []Status { return slices.Clone(s.family.inProgress) }

// KnownStatus reports whether the spec declares st.
func (s *Spec) KnownStatus(st Status) bool { return slices.Contains(s.family.statuses, st) }

// InProgress reports whether st is one of the statuses still in progress.
func (s *Spec) InProgress(st Status) bool { return slices.Contains(s.family.inProgress, st) }

// Terminal reports whether a task with status st is finished: every status
// but those in progress is, including statuses the spec does not declare,
// since a client that keeps polling on an unknown status loops forever.
func (s *Spec) Terminal(st Status) bool { return !s.InProgress(st) }

// ExceptionReasons returns the reasons components.schemas.ExceptionReason
// lists, in its order.
func (s *Spec) ExceptionReasons() []ExceptionReason { return slices.Clone(s.family.reasons) }

// KnownReason reports whether the spec lists r.
func (s *Spec) KnownReason(r ExceptionReason) bool { return slices.Contains(s.family.reasons, r) }

// StatusFields returns the properties of the status answer's schema,
// sorted, such as exception_reason, message, run_id, status.
func (s *Spec) StatusFields() []string { return slices.Clone(s.family.fields) }

// StatusList returns the declared statuses joined with ", ", for messages.
func (s *Spec) StatusList() string {
	names := make([]string, len(s.family.statuses))
	for i, st := range s.family.statuses {
		names[i] = string(st)
	}
	return strings.Join(names, ", ")
}
