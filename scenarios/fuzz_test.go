package scenarios_test

import (
	"encoding/json"
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cambmock/cambmock/scenarios"
)

// FuzzParse checks that Parse never panics, that every error it returns is
// made of *LoadError values naming the file, and that every scenario it
// returns is one the engine can play and passes Validate.
func FuzzParse(f *testing.F) {
	builtin := scenarios.BuiltinFS()
	files, err := fs.Glob(builtin, "*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := fs.ReadFile(builtin, name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(name, data)
	}
	for _, tc := range parseErrorCases {
		if len(tc.text) > 64<<10 {
			continue // a megabyte seed slows every mutation down
		}
		file := tc.file
		if file == "" {
			file = "test.yaml"
		}
		f.Add(file, []byte(tc.text))
	}

	nameRE := regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	f.Fuzz(func(t *testing.T, file string, data []byte) {
		sc, err := scenarios.Parse(file, data)
		if err != nil {
			if sc != nil {
				t.Errorf("Parse returned a scenario and an error")
			}
			parts := []error{err}
			if joined, ok := err.(interface{ Unwrap() []error }); ok {
				parts = joined.Unwrap()
			}
			for _, e := range parts {
				le, ok := e.(*scenarios.LoadError)
				if !ok {
					t.Fatalf("Parse error part %T %q; want a *scenarios.LoadError", e, e)
				}
				if le.File != file || le.Err == nil || le.Line < 0 || le.Column < 0 {
					t.Errorf("Parse error %#v; want File %q, an Err and no negative position", le, file)
				}
			}
			return
		}
		if sc == nil {
			t.Fatal("Parse returned neither a scenario nor an error")
		}
		if len(sc.Poll) == 0 || !sc.Poll[len(sc.Poll)-1].Forever() {
			t.Fatalf("Parse returned a poll script whose last step does not last forever: %+v", sc.Poll)
		}
		if !nameRE.MatchString(sc.Name) {
			t.Errorf("Parse returned the name %q", sc.Name)
		}
		if sc.Description == "" || strings.ContainsAny(sc.Description, "\r\n") {
			t.Errorf("Parse returned the description %q", sc.Description)
		}
		for _, s := range []struct {
			name   string
			script scenarios.Script
		}{{"create", sc.Create}, {"poll", sc.Poll}, {"result", sc.Result}} {
			for i, st := range s.script {
				checkStep(t, s.name, i, len(s.script), st)
			}
		}
		if err := sc.Validate(); err != nil {
			t.Errorf("Parse returned a scenario that fails Validate: %v", err)
		}
	})
}

// checkStep reports a parsed step the engine and the server cannot play.
func checkStep(t *testing.T, script string, i, n int, st scenarios.Step) {
	t.Helper()
	answers := 0
	for _, has := range []bool{st.Reply != nil, st.Error != nil, st.Fault != "", st.Normal} {
		if has {
			answers++
		}
	}
	switch {
	case answers != 1:
		t.Errorf("%s step %d gives %d answers; want 1: %+v", script, i+1, answers, st)
	case st.Polls < 0 || st.For < 0 || st.Polls > 0 && st.For > 0:
		t.Errorf("%s step %d lasts Polls %d, For %v", script, i+1, st.Polls, st.For)
	case st.Forever() && i != n-1:
		t.Errorf("%s step %d of %d lasts forever", script, i+1, n)
	case st.Latency.Min < 0 || st.Latency.Max < st.Latency.Min || st.Latency.Max > time.Hour:
		t.Errorf("%s step %d has latency %+v", script, i+1, st.Latency)
	case st.Reply != nil && script != "poll", st.Normal && script == "poll":
		t.Errorf("%s step %d answers %+v", script, i+1, st)
	case st.Reply != nil && !json.Valid(st.Reply.Body(1)):
		t.Errorf("%s step %d serves a body that is not JSON: %s", script, i+1, st.Reply.Body(1))
	case st.Error != nil && (st.Error.Code < 400 || st.Error.Code > 599 || st.Error.Header.Get("Content-Type") == ""):
		t.Errorf("%s step %d serves the error %+v", script, i+1, st.Error)
	}
}
