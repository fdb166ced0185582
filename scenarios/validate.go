package scenarios

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// maxPolls is the most requests a step may last, as the file format says.
const maxPolls = 1_000_000_000

// Validate reports whether sc is a scenario the engine can play: the rules
// [Parse] enforces on a file, applied to a value built in Go. A scenario
// Parse returns always passes. Every problem is reported, joined with
// errors.Join; each message names the scenario, and the script and step
// where there is one, and says what would be right, such as
//
//	scenario "flaky": poll step 2 answers nothing; give it a Reply, an Error or a Fault
//
// The rules: the Name is valid and the Description one line, not empty;
// the Poll script has at least one step and its last step lasts forever;
// in every script only the last step may last forever; a step lasts by
// Polls (1 to 1000000000) or For (above zero), not both, and neither is
// negative; a step gives exactly one answer, a Reply only in the Poll
// script and Normal never in it; an Error has a code from 400 to 599 and a
// Content-Type header, with canonical header names of one value each on
// one line; a Latency is from 0 to 1h, its Max (when set) not below its
// Min; a Fault is one of [Faults]; a Reply's Message, RunID and Extra hold
// valid JSON, and Extra does not name the reply's own fields.
//
// Validate does not look at openapi.yaml: [Scenario.Check] does. Package
// mockserver calls Validate on every scenario it is given, so a scenario
// built in Go that would run out of steps, or answer nothing, is refused
// when the server is made rather than answered with a 500 at play.
func (sc *Scenario) Validate() error {
	if sc == nil {
		return errors.New("scenario is nil; give a *Scenario with a Name, a Description and a Poll script")
	}
	v := &validator{sc: sc}
	switch {
	case sc.Name == "":
		v.errorf("the Name is empty; give one of lowercase letters, digits and dashes, starting with a letter or digit")
	case !nameRE.MatchString(sc.Name):
		v.errorf("the Name is not allowed; use lowercase letters, digits and dashes, starting with a letter or digit")
	}
	switch {
	case strings.TrimSpace(sc.Description) == "":
		v.errorf("the Description is empty; say in one line what the scenario plays")
	case strings.ContainsAny(sc.Description, "\r\n"):
		v.errorf("the Description has more than one line; keep it to one line")
	}
	if len(sc.Poll) == 0 {
		v.errorf("the Poll script is empty; give it at least one step, the last lasting forever")
	}
	v.script("create", sc.Create)
	v.script("poll", sc.Poll)
	v.script("result", sc.Result)
	return errors.Join(v.errs...)
}

type validator struct {
	sc   *Scenario
	errs []error
}

func (v *validator) errorf(format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("scenario %q: %s", v.sc.Name, fmt.Sprintf(format, args...)))
}

func (v *validator) script(name string, s Script) {
	// sure[i] is false when how long step i lasts is already reported as
	// wrong; the rules about lasting forever skip such steps.
	sure := make([]bool, len(s))
	for i, st := range s {
		sure[i] = v.step(name, i+1, st)
	}
	for i, st := range s[:max(len(s)-1, 0)] {
		if st.Forever() && sure[i] {
			later := "step after it never plays"
			if rest := len(s) - 1 - i; rest > 1 {
				later = fmt.Sprintf("%d steps after it never play", rest)
			}
			v.errorf("%s step %d lasts forever (its Polls and For are 0), so the %s; give it Polls or For", name, i+1, later)
			break
		}
	}
	if n := len(s); name == "poll" && n > 0 && sure[n-1] && !s[n-1].Forever() {
		last := s[n-1]
		lasts, field := fmt.Sprintf("%d polls", last.Polls), "Polls"
		if last.Polls == 1 {
			lasts = "1 poll"
		}
		if last.For > 0 {
			lasts, field = last.For.String(), "For"
		}
		v.errorf("poll step %d is the last and lasts %s, but the last poll step must last forever, since a task answers every poll; set its %s to 0", n, lasts, field)
	}
}

// step checks one step and reports whether how long it lasts is sound.
func (v *validator) step(script string, n int, st Step) (durationOK bool) {
	what := fmt.Sprintf("%s step %d", script, n)
	durationOK = true
	if st.Polls < 0 || st.Polls > maxPolls {
		v.errorf("%s has Polls %d; give 1 to %d, or 0 to last by For or forever", what, st.Polls, maxPolls)
		durationOK = false
	}
	if st.For < 0 {
		v.errorf("%s has For %v; give a duration above zero, or 0 to last by Polls or forever", what, st.For)
		durationOK = false
	}
	if st.Polls != 0 && st.For != 0 {
		v.errorf("%s has both Polls (%d) and For (%v); give one", what, st.Polls, st.For)
		durationOK = false
	}

	allowed := "a Reply, an Error or a Fault"
	if script != "poll" {
		allowed = "an Error, a Fault or Normal"
	}
	var answers []string
	if st.Reply != nil {
		answers = append(answers, "a Reply")
	}
	if st.Error != nil {
		answers = append(answers, "an Error")
	}
	if st.Fault != "" {
		answers = append(answers, "a Fault")
	}
	if st.Normal {
		answers = append(answers, "Normal")
	}
	switch len(answers) {
	case 0:
		v.errorf("%s answers nothing; give it %s", what, allowed)
	case 1:
	case 2:
		v.errorf("%s has both %s and %s; give one of %s", what, answers[0], answers[1], allowed)
	default:
		v.errorf("%s has %s and %s; give one of %s", what, strings.Join(answers[:len(answers)-1], ", "), answers[len(answers)-1], allowed)
	}
	if st.Reply != nil {
		if script != "poll" {
			v.errorf("%s has a Reply, but only poll steps serve a status; give it %s", what, allowed)
		} else {
			v.reply(what, st.Reply)
		}
	}
	if st.Normal && script == "poll" {
		v.errorf("%s has Normal, but a poll has no normal answer; give it %s", what, allowed)
	}
	if st.Error != nil {
		v.httpError(what, st.Error)
	}
	if st.Fault != "" && !slices.Contains(Faults(), st.Fault) {
		v.errorf("%s has Fault %q; give one of %s", what, st.Fault, joinFaults())
	}
	v.latency(what, st.Latency)
	return durationOK
}

func (v *validator) httpError(what string, e *HTTPError) {
	if e.Code < 400 || e.Code > 599 {
		v.errorf("%s has Error.Code %d; give an HTTP error status from 400 to 599", what, e.Code)
	}
	for _, name := range sortedKeys(e.Header) {
		values := e.Header[name]
		switch {
		case !validHeaderName(name):
			v.errorf("%s has Error.Header %q, which is not a valid HTTP header name", what, name)
		case name != http.CanonicalHeaderKey(name):
			v.errorf("%s has Error.Header %q, which Header.Get cannot find; write it %q, as Header.Set does", what, name, http.CanonicalHeaderKey(name))
		case len(values) != 1:
			v.errorf("%s has Error.Header %q with %d values; give it one", what, name, len(values))
		case strings.ContainsAny(values[0], "\r\n\x00"):
			v.errorf("%s has Error.Header %q with a line break in its value; give one line", what, name)
		}
	}
	if len(e.Header.Values("Content-Type")) == 0 {
		v.errorf("%s has an Error without a Content-Type header; set one in Error.Header, such as application/json", what)
	}
}

func (v *validator) latency(what string, l Latency) {
	switch {
	case l.Min < 0:
		v.errorf("%s has Latency.Min %v; give 0 or more", what, l.Min)
	case l.Max != 0 && l.Max < l.Min:
		v.errorf("%s has Latency.Max %v below its Min %v; give a Max of at least the Min, or 0 for a fixed latency", what, l.Max, l.Min)
	case l.Min > time.Hour || l.Max > time.Hour:
		v.errorf("%s has a Latency over an hour (%v); give at most 1h", what, max(l.Min, l.Max))
	}
}

func (v *validator) reply(what string, r *Reply) {
	if m := bytes.TrimSpace(r.Message); r.Message != nil && (!json.Valid(m) || m[0] != '"' && m[0] != '{' && string(m) != "null") {
		v.errorf("%s has a Reply.Message that is not a JSON string or object; give one such as json.RawMessage(`\"queued\"`), or nil for null", what)
	}
	if !r.RunID.Auto && r.RunID.Value != nil && !json.Valid(r.RunID.Value) {
		v.errorf("%s has a Reply.RunID.Value that is not valid JSON; give an integer such as json.RawMessage(\"1001\"), nil for null, or Auto", what)
	}
	for _, k := range sortedKeys(r.Extra) {
		switch {
		case slices.Contains([]string{"status", "run_id", "exception_reason", "message"}, k):
			v.errorf("%s has Reply.Extra %q, one of the reply's own fields; set it with its own field", what, k)
		case !json.Valid(r.Extra[k]):
			v.errorf("%s has Reply.Extra %q that is not valid JSON; give a JSON value such as json.RawMessage(\"1\")", what, k)
		}
	}
}
