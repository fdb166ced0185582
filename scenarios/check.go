package scenarios

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

// A Violation is one way a scenario's step departs from openapi.yaml or
// from what the spec promises beyond its schemas (a status is one the spec
// declares; a SUCCESS carries a run_id; a terminal status stays served).
type Violation struct {
	Script       string // "create", "poll" or "result"
	Step         int    // 1-based
	Line, Column int    // where the step (or its status) is in its file
	Problem      string
	// Kinds names the kinds of task the problem holds for, sorted, when it
	// holds for some of the kinds the spec declares but not for all; nil
	// when it holds whatever kind of task plays the scenario.
	Kinds []string
}

func (v Violation) String() string {
	s := fmt.Sprintf("%s step %d: %s", v.Script, v.Step, v.Problem)
	if len(v.Kinds) > 0 {
		s += " (" + kindsPhrase(v.Kinds) + ")"
	}
	return s
}

// kindsPhrase names kinds for a message: "kind tts", "kinds dub and tts".
func kindsPhrase(kinds []string) string {
	switch len(kinds) {
	case 1:
		return "kind " + kinds[0]
	case 2:
		return "kinds " + kinds[0] + " and " + kinds[1]
	}
	return "kinds " + strings.Join(kinds[:len(kinds)-1], ", ") + " and " + kinds[len(kinds)-1]
}

// violation is a Violation and whether it is an unknown status, which
// Check words differently.
type violation struct {
	Violation
	unknownStatus bool
}

// errNoSpec is what a nil spec is told.
var errNoSpec = errors.New("no spec to check the scenario against (nil *cambmock.Spec); pass the one cambmock.LoadSpec or cambmock.ParseSpec returns")

// Violations returns every way the scenario's steps depart from spec.
// An on-spec scenario has none; an off-spec one has at least one. A nil
// spec is one violation that says a spec is needed.
//
// Any scenario plays on any kind of task, so each step is checked against
// the operation its script answers for every kind the spec declares:
// create steps against each kind's create operation, poll steps against
// each status operation, result steps against each result operation
// (kinds without one are skipped). A problem found for several kinds is
// reported once, naming the kinds in [Violation.Kinds] when it does not
// hold for them all.
func (sc *Scenario) Violations(spec *cambmock.Spec) []Violation {
	vs := sc.violations(spec)
	out := make([]Violation, len(vs))
	for i, v := range vs {
		out[i] = v.Violation
	}
	return out
}

func (sc *Scenario) violations(spec *cambmock.Spec) []violation {
	if spec == nil {
		return []violation{{Violation: Violation{Script: "poll", Step: 1, Problem: errNoSpec.Error()}}}
	}
	var out []violation
	for _, s := range []struct {
		name   string
		script Script
		role   cambmock.Role
		param  string
	}{
		{"create", sc.Create, cambmock.RoleCreate, ""},
		{"poll", sc.Poll, cambmock.RoleStatus, "task"},
		{"result", sc.Result, cambmock.RoleResult, "1"},
	} {
		if len(s.script) == 0 {
			continue
		}
		var targets []target
		for _, k := range spec.Kinds() {
			op := k.Operation(s.role)
			if op == nil {
				continue
			}
			req, err := http.NewRequest(op.Method, op.URL(s.param), nil)
			if err != nil {
				// The spec's path cannot make a URL; say so on each step
				// rather than skip the kind.
				req = nil
			}
			targets = append(targets, target{kind: k.Name, req: req, path: op.Path})
		}
		for i, st := range s.script {
			for _, p := range stepProblems(spec, targets, st) {
				v := violation{
					Violation:     Violation{Script: s.name, Step: i + 1, Line: st.Line, Column: st.Column, Problem: p.text, Kinds: p.kinds},
					unknownStatus: p.unknownStatus,
				}
				if p.unknownStatus && st.Reply.Line > 0 {
					v.Line, v.Column = st.Reply.Line, st.Reply.Column
				}
				out = append(out, v)
			}
		}
	}
	return out
}

// A target is the operation of one kind that a script answers.
type target struct {
	kind string
	req  *http.Request // nil when the operation's path makes no URL
	path string
}

type problem struct {
	text          string
	kinds         []string // nil when it holds for every target
	unknownStatus bool
}

// stepProblems returns the distinct problems of one step, in the order
// they are first found, with the kinds each holds for.
func stepProblems(spec *cambmock.Spec, targets []target, st Step) []problem {
	var out []problem
	add := func(p problem) {
		for i := range out {
			if out[i].text == p.text {
				out[i].kinds = append(out[i].kinds, p.kinds...)
				return
			}
		}
		out = append(out, p)
	}
	// check validates one answer against every target; skip drops the
	// problems another rule reports better.
	check := func(code int, header http.Header, body []byte, skip func(string) bool) {
		for _, t := range targets {
			var problems []string
			if t.req == nil {
				problems = []string{fmt.Sprintf("the spec's path %s makes no URL to check the answer against", t.path)}
			} else {
				err := spec.ValidateFixed(context.Background(), t.req, code, header, body)
				var v *cambmock.Violations
				switch {
				case errors.As(err, &v):
					problems = v.Problems
				case err != nil:
					problems = []string{err.Error()}
				}
			}
			for _, p := range problems {
				if skip == nil || !skip(p) {
					add(problem{text: p, kinds: []string{t.kind}})
				}
			}
		}
	}
	switch {
	case st.Reply != nil:
		r := st.Reply
		known := spec.KnownStatus(r.Status)
		if !known {
			add(problem{text: fmt.Sprintf("unknown status %q; openapi.yaml declares %s", r.Status, spec.StatusList()), unknownStatus: true})
		}
		check(http.StatusOK, http.Header{"Content-Type": {"application/json"}}, r.Body(1), func(p string) bool {
			// The schema's complaint about the status says less than
			// the unknown status's own message.
			return !known && strings.HasPrefix(p, "body /status:")
		})
		var n json.Number
		if r.Status == cambmock.StatusSuccess && !r.RunID.Auto && (json.Unmarshal(r.RunID.Value, &n) != nil || strings.ContainsAny(n.String(), ".eE")) {
			add(problem{text: "SUCCESS without an integer run_id: the client has no result to fetch"})
		}
		// A status the spec does not declare has no place in its
		// progression: it is reported as unknown, not as terminal.
		if known && spec.Terminal(r.Status) && !st.Forever() {
			add(problem{text: fmt.Sprintf("terminal status %s ends after a while, but a terminal status stays served", r.Status)})
		}
	case st.Error != nil:
		check(st.Error.Code, st.Error.Header, []byte(st.Error.Body), nil)
	case st.Fault == FaultMalformedJSON:
		add(problem{text: "a 200 answer whose body is not valid JSON"})
	}
	// A problem that holds for every kind names none.
	for i := range out {
		if kinds := out[i].kinds; kinds != nil {
			slices.Sort(kinds)
			kinds = slices.Compact(kinds)
			if len(kinds) == len(targets) {
				kinds = nil
			}
			out[i].kinds = kinds
		}
	}
	return out
}

// Check reports whether the scenario keeps its promise about openapi.yaml:
// an on-spec scenario serves nothing the spec forbids, and a scenario marked
// off_spec does serve something the spec forbids. Every problem found is
// reported, as *[LoadError] values joined with errors.Join; each names the
// step, and the kinds of task it holds for when it does not hold for all
// (see [Scenario.Violations]).
//
// Check is where a status is checked against the statuses the spec
// declares (components.schemas.TaskStatus), and where "a terminal status
// stays served" is judged by the spec's x-in-progress-statuses: [Parse]
// has no spec and takes any status.
func (sc *Scenario) Check(spec *cambmock.Spec) error {
	if spec == nil {
		return &LoadError{File: sc.File, Err: errNoSpec}
	}
	vs := sc.violations(spec)
	if sc.OffSpec {
		if len(vs) == 0 {
			return &LoadError{File: sc.File, Err: errors.New(`scenario is marked "off_spec: true", but everything it serves conforms to openapi.yaml; remove "off_spec"`)}
		}
		return nil
	}
	var errs []error
	for _, v := range vs {
		var err error
		switch {
		case v.unknownStatus:
			err = fmt.Errorf("%s step %d: %s; mark the scenario \"off_spec: true\" to serve it anyway", v.Script, v.Step, v.Problem)
		case len(v.Kinds) > 0:
			err = fmt.Errorf("%s step %d violates openapi.yaml for %s: %s; fix the step, or mark the scenario \"off_spec: true\"", v.Script, v.Step, kindsPhrase(v.Kinds), v.Problem)
		default:
			err = fmt.Errorf("%s step %d violates openapi.yaml: %s; fix the step, or mark the scenario \"off_spec: true\"", v.Script, v.Step, v.Problem)
		}
		errs = append(errs, &LoadError{File: sc.File, Line: v.Line, Column: v.Column, Err: err})
	}
	return errors.Join(errs...)
}
