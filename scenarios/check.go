package scenarios

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/cambmock/cambmock"
)

// A Violation is one way a scenario's step departs from openapi.yaml or
// from what the spec promises beyond its schemas (a SUCCESS carries a
// run_id; a terminal status stays served).
type Violation struct {
	Script       string // "create", "poll" or "result"
	Step         int    // 1-based
	Line, Column int    // where the step is in its file
	Problem      string
}

func (v Violation) String() string {
	return fmt.Sprintf("%s step %d: %s", v.Script, v.Step, v.Problem)
}

// Violations returns every way the scenario's steps depart from spec.
// An on-spec scenario has none; an off-spec one has at least one.
func (sc *Scenario) Violations(spec *cambmock.Spec) []Violation {
	var out []Violation
	for _, s := range []struct {
		name   string
		script Script
		method string
		path   string
	}{
		{"create", sc.Create, http.MethodPost, "/text-to-sound"},
		{"poll", sc.Poll, http.MethodGet, "/text-to-sound/task"},
		{"result", sc.Result, http.MethodGet, "/text-to-sound-result/1"},
	} {
		req, _ := http.NewRequest(s.method, s.path, nil)
		for i, st := range s.script {
			add := func(problem string) {
				out = append(out, Violation{Script: s.name, Step: i + 1, Line: st.Line, Column: st.Column, Problem: problem})
			}
			for _, p := range stepProblems(spec, req, st) {
				add(p)
			}
		}
	}
	return out
}

func stepProblems(spec *cambmock.Spec, req *http.Request, st Step) []string {
	var out []string
	check := func(code int, header http.Header, body []byte) {
		err := spec.ValidateResponse(context.Background(), req, code, header, body)
		var v *cambmock.Violations
		switch {
		case errors.As(err, &v):
			out = append(out, v.Problems...)
		case err != nil:
			out = append(out, err.Error())
		}
	}
	switch {
	case st.Reply != nil:
		r := st.Reply
		check(http.StatusOK, http.Header{"Content-Type": {"application/json"}}, r.Body(1))
		var n json.Number
		if r.Status == cambmock.StatusSuccess && !r.RunID.Auto && (json.Unmarshal(r.RunID.Value, &n) != nil || strings.ContainsAny(n.String(), ".eE")) {
			out = append(out, "SUCCESS without an integer run_id: the client has no result to fetch")
		}
		if r.Status.Terminal() && !st.Forever() {
			out = append(out, fmt.Sprintf("terminal status %s ends after a while, but a terminal status stays served", r.Status))
		}
	case st.Error != nil:
		check(st.Error.Code, st.Error.Header, []byte(st.Error.Body))
	case st.Fault == FaultMalformedJSON:
		out = append(out, "a 200 answer whose body is not valid JSON")
	}
	return out
}

// Check reports whether the scenario keeps its promise about openapi.yaml:
// an on-spec scenario serves nothing the spec forbids, and a scenario marked
// off_spec does serve something the spec forbids. Every problem found is
// reported, as *[LoadError] values joined with errors.Join.
func (sc *Scenario) Check(spec *cambmock.Spec) error {
	vs := sc.Violations(spec)
	if sc.OffSpec {
		if len(vs) == 0 {
			return &LoadError{File: sc.File, Err: errors.New(`scenario is marked "off_spec: true", but everything it serves conforms to openapi.yaml; remove "off_spec"`)}
		}
		return nil
	}
	var errs []error
	for _, v := range vs {
		errs = append(errs, &LoadError{File: sc.File, Line: v.Line, Column: v.Column,
			Err: fmt.Errorf("%s step %d violates openapi.yaml: %s; fix the step, or mark the scenario \"off_spec: true\"", v.Script, v.Step, v.Problem)})
	}
	return errors.Join(errs...)
}
