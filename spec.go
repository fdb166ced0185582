// Package cambmock holds what the rest of cambmock shares about camb.ai's
// API: the OpenAPI document (openapi.yaml, embedded), which describes the
// whole family of polled tasks (text-to-sound, the default kind, tts,
// dubbing, transcription and more), the family read from its x-cambmock
// extensions ([Spec.Kinds]), the router that finds an operation for a
// request, and the words of the domain, such as [Status] and
// [ExceptionReason].
//
// The mock server lives in package mockserver, the scenario model and engine
// in package scenarios, and the contract suite in package contract.
package cambmock

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

//go:embed openapi.yaml
var specYAML []byte

// embeddedDoc (spec_doc.go) builds openapi.yaml's document as kin-openapi
// decodes it, so that LoadSpec parses no YAML (see package
// internal/specgo). Make it again after editing openapi.yaml; until then
// LoadSpec parses the YAML, and the tests fail.
//
//go:generate go run ./internal/specgo/cmd/specgo openapi.yaml spec_doc.go cambmock embeddedDoc

// SpecYAML returns a copy of the embedded openapi.yaml.
func SpecYAML() []byte { return bytes.Clone(specYAML) }

// LiveBaseURL is the base URL of camb.ai's API, as in openapi.yaml's first server.
const LiveBaseURL = "https://client.camb.ai/apis"

// Spec is the parsed openapi.yaml (validated by ParseSpec, and by the
// tests for the embedded one) and a router for it.
//
// A Spec is safe for concurrent use once loaded; nothing in cambmock modifies
// it. Each caller of [LoadSpec] gets a Spec of its own.
type Spec struct {
	// Doc is the OpenAPI document.
	Doc *openapi3.T
	// Router finds the operation for a request whose URL path is relative
	// to the API's base URL ("/text-to-sound/abc", not "/apis/text-to-sound/abc"),
	// whatever its scheme and host. Callers strip the base path first.
	Router routers.Router

	family   *family
	source   []byte
	embedded bool // parsed from the embedded openapi.yaml by LoadSpec

	memoMu sync.Mutex
	memo   map[memoKey][]string  // ValidateFixed's verdicts: nil for none
	routes map[string]fixedRoute // ValidateFixed's routes by method and path; guarded by memoMu
}

// fixedRoute is a route ValidateFixed found, kept for the next answer to
// the same method and path.
type fixedRoute struct {
	route  *routers.Route
	params map[string]string
}

// memoKey names a fixed answer to an operation's response object.
type memoKey struct {
	response *openapi3.Response
	status   int
	header   string
	body     string
}

// maxMemo bounds how many verdicts ValidateFixed remembers.
const maxMemo = 8192

// LoadSpec loads the embedded openapi.yaml and builds its router. It takes
// a few milliseconds: load it once and share the result. (The decoded
// document is built by code go generate makes from the YAML, spec_doc.go,
// so that no YAML is parsed at start; the document is the same.)
//
// The embedded document is not validated again as an OpenAPI document
// (with its examples) each time: it never changes, and its tests validate
// it with [ParseSpec], which does, so that a start-up spends nothing on it.
func LoadSpec() (*Spec, error) {
	return loadEmbedded(specYAML, embeddedDocSum, embeddedDoc)
}

// loadEmbedded is LoadSpec for the YAML src and the function that builds
// its decoded document, made from the YAML whose SHA-256 is sum. For
// another src (openapi.yaml edited, go generate not yet run), src is
// parsed, as for any document.
func loadEmbedded(src []byte, sum string, decoded func() *openapi3.T) (*Spec, error) {
	var doc *openapi3.T
	if got := sha256.Sum256(src); hex.EncodeToString(got[:]) == sum {
		// What kin-openapi's loader does once it has decoded the YAML:
		// resolve the references.
		doc = decoded()
		if err := openapi3.NewLoader().ResolveRefsIn(doc, nil); err != nil {
			return nil, fmt.Errorf("openapi.yaml, built by spec_doc.go: %w", err)
		}
	}
	s, err := buildSpec(src, doc, false)
	if err != nil {
		return nil, err
	}
	s.embedded = true
	return s, nil
}

// Embedded reports whether s is the embedded openapi.yaml, as [LoadSpec]
// returns it. Parts built into the binary beside it (the built-in
// scenarios) are checked against it by their tests rather than at each
// start; a caller that changes s.Doc takes that guarantee on itself.
func (s *Spec) Embedded() bool { return s != nil && s.embedded }

// ParseSpec is [LoadSpec] for another document, for tests and tools that
// check a changed copy of openapi.yaml. The document is validated as an
// OpenAPI document, its examples included.
func ParseSpec(data []byte) (*Spec, error) {
	return buildSpec(data, nil, true)
}

// buildSpec builds the Spec of data, decoded into doc, or parsed when doc
// is nil; validate says whether the document is validated with its
// examples.
func buildSpec(data []byte, doc *openapi3.T, validate bool) (*Spec, error) {
	if doc == nil {
		var err error
		if doc, err = openapi3.NewLoader().LoadFromData(data); err != nil {
			return nil, fmt.Errorf("openapi.yaml: %w", err)
		}
	}
	if validate {
		if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
			return nil, fmt.Errorf("openapi.yaml is not a valid OpenAPI document: %w", err)
		}
	}
	// The router matches paths relative to the base URL on any host, so that
	// one Spec serves the mock on any port, the live API and a team's own
	// deployment alike.
	pathsOnly := *doc
	pathsOnly.Servers = nil
	router, err := gorillamux.NewRouter(&pathsOnly)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: building the router: %w", err)
	}
	fam, err := readFamily(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml describes no polled-task family cambmock can serve:\n%w", err)
	}
	return &Spec{Doc: doc, Router: router, family: fam, source: bytes.Clone(data)}, nil
}

// Source returns a copy of the document the Spec was parsed from.
func (s *Spec) Source() []byte { return bytes.Clone(s.source) }

// Options returns the openapi3filter options cambmock validates with: an
// undeclared response status is a violation, every schema problem is
// reported, and authentication is checked by the caller, not by kin-openapi.
func Options() *openapi3filter.Options {
	return &openapi3filter.Options{
		IncludeResponseStatus: true,
		MultiError:            true,
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
	}
}

// Route finds the operation for method and path (relative to the base URL)
// and returns the request validation input for it. The error wraps
// [routers.ErrPathNotFound] or [routers.ErrMethodNotAllowed].
func (s *Spec) Route(req *http.Request) (*openapi3filter.RequestValidationInput, error) {
	route, params, err := s.Router.FindRoute(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	return &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route:      route,
		Options:    Options(),
	}, nil
}

// ValidateResponse checks one response against the operation that req
// (its URL path relative to the base URL) names: the status must be declared,
// declared headers present and well-formed, the content type declared and the
// body valid against its schema. A nil error means the response conforms.
// A non-nil error is a *[Violations] listing every problem found, or an error
// saying that req matches no operation.
func (s *Spec) ValidateResponse(ctx context.Context, req *http.Request, status int, header http.Header, body []byte) error {
	in, err := s.Route(req)
	if err != nil {
		return err
	}
	return s.validateIn(ctx, in, status, header, body)
}

// validateIn is ValidateResponse for a request already routed.
func (s *Spec) validateIn(ctx context.Context, in *openapi3filter.RequestValidationInput, status int, header http.Header, body []byte) error {
	rv := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 header,
		Options:                in.Options,
	}
	rv.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(ctx, rv); err != nil {
		return &Violations{Operation: in.Route.Operation.OperationID, Status: status, Problems: Problems(err)}
	}
	return nil
}

// ValidateFixed is [Spec.ValidateResponse] for an answer that never
// changes, such as a scenario step's: the verdict is remembered for the
// response object the operation declares for status (shared by every
// operation that references it), the headers and the body, so that a
// scenario checked against many kinds of task is validated once.
func (s *Spec) ValidateFixed(ctx context.Context, req *http.Request, status int, header http.Header, body []byte) error {
	in, err := s.fixedRoute(req)
	if err != nil {
		return err
	}
	ref := in.Route.Operation.Responses.Status(status)
	if ref == nil {
		// Undeclared (or only a default): not worth remembering.
		return s.ValidateResponse(ctx, req, status, header, body)
	}
	keys := make([]string, 0, len(header))
	for k := range header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var h strings.Builder
	for _, k := range keys {
		h.WriteString(k)
		h.WriteByte(0)
		h.WriteString(strings.Join(header[k], "\x00"))
		h.WriteByte(0)
	}
	key := memoKey{response: ref.Value, status: status, header: h.String(), body: string(body)}
	s.memoMu.Lock()
	problems, seen := s.memo[key]
	s.memoMu.Unlock()
	if !seen {
		err := s.validateIn(ctx, in, status, header, body)
		var v *Violations
		switch {
		case errors.As(err, &v):
			problems = v.Problems
		case err != nil:
			return err
		}
		s.memoMu.Lock()
		if s.memo == nil {
			s.memo = map[memoKey][]string{}
		}
		if len(s.memo) < maxMemo {
			s.memo[key] = problems
		}
		s.memoMu.Unlock()
	}
	if problems == nil {
		return nil
	}
	return &Violations{Operation: in.Route.Operation.OperationID, Status: status, Problems: slices.Clone(problems)}
}

// fixedRoute is Route for ValidateFixed, whose answers come again and
// again for a few paths (a scenario's steps for each kind's example URL):
// the route of a method and path is found once.
func (s *Spec) fixedRoute(req *http.Request) (*openapi3filter.RequestValidationInput, error) {
	key := req.Method + " " + req.URL.Path
	s.memoMu.Lock()
	r, ok := s.routes[key]
	s.memoMu.Unlock()
	if !ok {
		in, err := s.Route(req)
		if err != nil {
			return nil, err
		}
		r = fixedRoute{route: in.Route, params: in.PathParams}
		s.memoMu.Lock()
		if s.routes == nil {
			s.routes = map[string]fixedRoute{}
		}
		if len(s.routes) < maxMemo {
			s.routes[key] = r
		}
		s.memoMu.Unlock()
	}
	return &openapi3filter.RequestValidationInput{Request: req, PathParams: maps.Clone(r.params), Route: r.route, Options: Options()}, nil
}

// Violations is the error [Spec.ValidateResponse] returns: the ways one
// response departs from openapi.yaml.
type Violations struct {
	Operation string   // the operationId, e.g. "getTextToSoundStatus"
	Status    int      // the response's status code
	Problems  []string // each a short sentence naming where, e.g. "body /run_id: value must be an integer"
}

var _ error = (*Violations)(nil)

func (v *Violations) Error() string {
	return fmt.Sprintf("%s %d response violates openapi.yaml: %s", v.Operation, v.Status, strings.Join(v.Problems, "; "))
}

// Problems flattens an error from kin-openapi's openapi3filter or schema
// validation into short sentences that say where and what, using each
// error's Reason and JSON pointer rather than its Error text, which dumps the
// whole schema and the value. The sentences never quote the body.
func Problems(err error) []string {
	var out []string
	var walk func(where string, err error)
	walk = func(where string, err error) {
		var (
			multi  openapi3.MultiError
			schema *openapi3.SchemaError
			resp   *openapi3filter.ResponseError
			req    *openapi3filter.RequestError
			parse  *openapi3filter.ParseError
		)
		// The outer error decides: errors.As alone would find a MultiError
		// wrapped inside a ResponseError first and lose the "body" prefix.
		switch e := err.(type) {
		case *openapi3filter.ResponseError:
			resp = e
		case *openapi3filter.RequestError:
			req = e
		case *openapi3.SchemaError:
			schema = e
		}
		switch {
		case resp == nil && req == nil && schema == nil && errors.As(err, &multi):
			for _, e := range multi {
				walk(where, e)
			}
		case resp != nil || errors.As(err, &resp):
			reason := resp.Reason
			switch {
			case strings.HasPrefix(reason, "response body doesn't match schema") && resp.Err != nil:
				walk(joinWhere(where, "body"), resp.Err)
			case strings.HasPrefix(reason, "response header ") && strings.HasSuffix(reason, "doesn't match schema") && resp.Err != nil:
				name := strings.TrimSuffix(strings.TrimPrefix(reason, "response header "), " doesn't match schema")
				walk(joinWhere(where, "header "+strings.Trim(name, `"`)), resp.Err)
			case reason == "failed to decode response body":
				out = append(out, joinMsg(joinWhere(where, "body"), "cannot be decoded: "+causeText(resp.Err)))
			case reason == "status is not supported":
				out = append(out, joinMsg(where, fmt.Sprintf("status %d is not declared for this operation", resp.Input.Status)))
			default:
				msg := strings.TrimPrefix(reason, "response ")
				if resp.Err != nil {
					msg += ": " + causeText(resp.Err)
				}
				out = append(out, joinMsg(where, msg))
			}
		case req != nil || errors.As(err, &req):
			switch {
			case req.Parameter != nil:
				where = joinWhere(where, req.Parameter.In+" parameter "+req.Parameter.Name)
			case req.RequestBody != nil:
				where = joinWhere(where, "request body")
			}
			if req.Err != nil && (errors.As(req.Err, &schema) || errors.As(req.Err, &multi) || errors.As(req.Err, &parse)) {
				walk(where, req.Err)
				return
			}
			msg := req.Reason
			if msg == "" && req.Err != nil {
				msg = causeText(req.Err)
			}
			out = append(out, joinMsg(where, msg))
		case schema != nil || errors.As(err, &schema):
			if p := schema.JSONPointer(); len(p) > 0 {
				where = joinWhere(where, "/"+strings.Join(p, "/"))
			}
			out = append(out, joinMsg(where, schema.Reason))
		case errors.As(err, &parse):
			out = append(out, joinMsg(where, causeText(parse)))
		default:
			out = append(out, joinMsg(where, err.Error()))
		}
	}
	walk("", err)
	return slices.Compact(out)
}

// causeText describes err without the value kin-openapi's ParseError
// quotes.
func causeText(err error) string {
	var parse *openapi3filter.ParseError
	var schema *openapi3.SchemaError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &parse):
		var parts []string
		if parse.Reason != "" {
			parts = append(parts, parse.Reason)
		}
		if parse.Cause != nil {
			parts = append(parts, causeText(parse.Cause))
		}
		return strings.Join(parts, ": ")
	case errors.As(err, &schema):
		return schema.Reason
	default:
		return err.Error()
	}
}

func joinWhere(prefix, where string) string {
	if prefix == "" {
		return where
	}
	return prefix + " " + where
}

func joinMsg(where, msg string) string {
	if where == "" {
		return msg
	}
	return strings.TrimSpace(where) + ": " + msg
}

// ReadLimited reads at most limit bytes from r and reports whether r held more.
func ReadLimited(r io.Reader, limit int64) (data []byte, truncated bool, err error) {
	data, err = io.ReadAll(io.LimitReader(r, limit+1))
	if int64(len(data)) > limit {
		return data[:limit], true, err
	}
	return data, false, err
}
