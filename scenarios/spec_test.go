package scenarios_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v4"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/scenarios"
)

// editSpec parses the embedded openapi.yaml with each edit (old, new,
// old, new, ...) made once, failing the test when an edit finds nothing.
func editSpec(t testing.TB, edits ...string) *cambmock.Spec {
	t.Helper()
	text := string(cambmock.SpecYAML())
	for i := 0; i+1 < len(edits); i += 2 {
		if !strings.Contains(text, edits[i]) {
			t.Fatalf("openapi.yaml holds no %q to edit", edits[i])
		}
		text = strings.Replace(text, edits[i], edits[i+1], 1)
	}
	spec, err := cambmock.ParseSpec([]byte(text))
	if err != nil {
		t.Fatalf("ParseSpec(edited openapi.yaml): %v", err)
	}
	return spec
}

const taskStatusEnum = "enum: [SUCCESS, PENDING, TIMEOUT, ERROR, PAYMENT_REQUIRED]\n      x-in-progress-statuses: [PENDING]"

// queuedSpec is openapi.yaml with QUEUED added to TaskStatus, as a status
// still in progress.
func queuedSpec(t testing.TB) *cambmock.Spec {
	return editSpec(t, taskStatusEnum,
		"enum: [SUCCESS, PENDING, TIMEOUT, ERROR, PAYMENT_REQUIRED, QUEUED]\n      x-in-progress-statuses: [QUEUED, PENDING]")
}

const queuedFile = `description: QUEUED, then PENDING, then SUCCESS
poll:
  - status: QUEUED
    polls: 1
  - status: PENDING
    polls: 1
  - status: SUCCESS
`

// TestStatusesFromTheSpec: which statuses exist and which are terminal is
// the spec's to say. A scenario playing QUEUED loads on-spec with a spec
// that declares it, and is refused, naming QUEUED, with the embedded one.
func TestStatusesFromTheSpec(t *testing.T) {
	embedded := loadSpec(t)
	queued := queuedSpec(t)
	fsys := fstest.MapFS{"queued.yaml": {Data: []byte(queuedFile)}}
	dir := t.TempDir()
	file := filepath.Join(dir, "queued.yaml")
	if err := os.WriteFile(file, []byte(queuedFile), 0o644); err != nil {
		t.Fatal(err)
	}
	const refused = `:3:13: poll step 1: unknown status "QUEUED"; openapi.yaml declares SUCCESS, PENDING, TIMEOUT, ERROR, PAYMENT_REQUIRED; mark the scenario "off_spec: true" to serve it anyway`

	t.Run("declared", func(t *testing.T) {
		for _, load := range []struct {
			name string
			f    func() ([]*scenarios.Scenario, error)
		}{
			{"Load", func() ([]*scenarios.Scenario, error) { return scenarios.Load(fsys, queued) }},
			{"LoadPath", func() ([]*scenarios.Scenario, error) { return scenarios.LoadPath(file, queued) }},
		} {
			all, err := load.f()
			if err != nil {
				t.Fatalf("%s with QUEUED declared: %v", load.name, err)
			}
			if len(all) != 1 || all[0].OffSpec {
				t.Fatalf("%s with QUEUED declared = %+v; want one on-spec scenario", load.name, all)
			}
			if vs := all[0].Violations(queued); len(vs) != 0 {
				t.Errorf("%s with QUEUED declared: Violations() = %v; want none", load.name, vs)
			}
		}
	})
	t.Run("not declared", func(t *testing.T) {
		_, err := scenarios.Load(fsys, embedded)
		if err == nil || err.Error() != "queued.yaml"+refused {
			t.Errorf("Load with the embedded spec = %v; want %q", err, "queued.yaml"+refused)
		}
		_, err = scenarios.LoadPath(file, embedded)
		if err == nil || err.Error() != file+refused {
			t.Errorf("LoadPath with the embedded spec = %v; want %q", err, file+refused)
		}
		var le *scenarios.LoadError
		if !errors.As(err, &le) || le.File != file || le.Line != 3 || le.Column != 13 {
			t.Errorf("LoadPath with the embedded spec: error %#v is not a *LoadError at %s:3:13", err, file)
		}
	})
	t.Run("terminal by the spec", func(t *testing.T) {
		// Declared but not in progress, QUEUED is terminal: it must stay.
		terminal := editSpec(t, taskStatusEnum,
			"enum: [SUCCESS, PENDING, TIMEOUT, ERROR, PAYMENT_REQUIRED, QUEUED]\n      x-in-progress-statuses: [PENDING]")
		_, err := scenarios.Load(fsys, terminal)
		want := `queued.yaml:3:5: poll step 1 violates openapi.yaml: terminal status QUEUED ends after a while, but a terminal status stays served; fix the step, or mark the scenario "off_spec: true"`
		if err == nil || err.Error() != want {
			t.Errorf("Load with QUEUED terminal = %v; want %q", err, want)
		}
	})
	t.Run("in progress by the spec", func(t *testing.T) {
		// With QUEUED in progress, PENDING alone may be made terminal.
		pendingLast := editSpec(t, taskStatusEnum,
			"enum: [SUCCESS, PENDING, TIMEOUT, ERROR, PAYMENT_REQUIRED, QUEUED]\n      x-in-progress-statuses: [QUEUED]")
		_, err := scenarios.Load(fsys, pendingLast)
		want := `queued.yaml:5:5: poll step 2 violates openapi.yaml: terminal status PENDING ends after a while, but a terminal status stays served; fix the step, or mark the scenario "off_spec: true"`
		if err == nil || err.Error() != want {
			t.Errorf("Load with PENDING terminal = %v; want %q", err, want)
		}
	})
	t.Run("off-spec", func(t *testing.T) {
		off := "off_spec: true\n" + queuedFile
		all, err := scenarios.Load(fstest.MapFS{"queued.yaml": {Data: []byte(off)}}, embedded)
		if err != nil {
			t.Fatalf("Load of QUEUED marked off-spec, with the embedded spec: %v", err)
		}
		got := []string{}
		for _, v := range all[0].Violations(embedded) {
			got = append(got, v.String())
		}
		want := []string{`poll step 1: unknown status "QUEUED"; openapi.yaml declares SUCCESS, PENDING, TIMEOUT, ERROR, PAYMENT_REQUIRED`}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Violations() mismatch (-want +got):\n%s", diff)
		}
		_, err = scenarios.Load(fstest.MapFS{"queued.yaml": {Data: []byte(off)}}, queued)
		wantErr := `queued.yaml: scenario is marked "off_spec: true", but everything it serves conforms to openapi.yaml; remove "off_spec"`
		if err == nil || err.Error() != wantErr {
			t.Errorf("Load of QUEUED marked off-spec, with QUEUED declared = %v; want %q", err, wantErr)
		}
	})
	t.Run("built-ins", func(t *testing.T) {
		// The built-ins load with the edited spec as with the embedded one.
		all, err := scenarios.Builtins(queued)
		if err != nil {
			t.Fatalf("Builtins(spec with QUEUED): %v", err)
		}
		for _, sc := range all {
			if got := len(sc.Violations(queued)) > 0; got != sc.OffSpec {
				t.Errorf("%s: OffSpec %v, but has violations %v", sc.Name, sc.OffSpec, got)
			}
		}
	})
}

// familySpec returns a spec of three kinds made from the embedded
// text-to-sound operations: text-to-sound as it is; tts, whose create
// operation does not declare 413, whose status operation does not declare
// 404 and whose result operation does not declare 400; and text-to-voice,
// which has no result operation and whose status operation does not
// declare 404 either. Other kinds the embedded spec declares are left out,
// so the test does not change as the family grows.
func familySpec(t testing.TB) *cambmock.Spec {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(cambmock.SpecYAML(), &doc); err != nil {
		t.Fatal(err)
	}
	paths := doc["paths"].(map[string]any)
	kindOf := func(item any) (kind, role string) {
		for _, op := range item.(map[string]any) {
			if ext, ok := op.(map[string]any)["x-cambmock"].(map[string]any); ok {
				kind, _ = ext["kind"].(string)
				role, _ = ext["role"].(string)
			}
		}
		return kind, role
	}
	byRole := map[string]string{} // text-to-sound's path of each role
	for p, item := range paths {
		switch kind, role := kindOf(item); {
		case kind != "text-to-sound":
			delete(paths, p)
		default:
			byRole[role] = p
		}
	}
	// clone copies text-to-sound's operation of role to path under kind,
	// without the responses of the codes drop.
	clone := func(kind, role, path string, drop ...string) {
		src := byRole[role]
		b, err := yaml.Marshal(paths[src])
		if err != nil {
			t.Fatal(err)
		}
		var item map[string]any
		if err := yaml.Unmarshal(b, &item); err != nil {
			t.Fatal(err)
		}
		for method, v := range item {
			op := v.(map[string]any)
			op["operationId"] = strings.ReplaceAll(kind, "-", "") + "-" + role + "-" + method
			op["x-cambmock"] = map[string]any{"kind": kind, "role": role}
			responses := op["responses"].(map[string]any)
			for _, code := range drop {
				if _, ok := responses[code]; !ok {
					t.Fatalf("%s %s declares no %s to drop", method, src, code)
				}
				delete(responses, code)
			}
		}
		paths[path] = item
	}
	clone("tts", "create", "/tts", "413")
	clone("tts", "status", "/tts/{task_id}", "404")
	clone("tts", "result", "/tts-result/{run_id}", "400")
	clone("text-to-voice", "create", "/text-to-voice")
	clone("text-to-voice", "status", "/text-to-voice/{task_id}", "404")
	b, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := cambmock.ParseSpec(b)
	if err != nil {
		t.Fatalf("ParseSpec(the family of three kinds): %v", err)
	}
	var names []string
	for _, k := range spec.Kinds() {
		names = append(names, k.Name)
	}
	if diff := cmp.Diff([]string{"text-to-sound", "text-to-voice", "tts"}, names); diff != "" {
		t.Fatalf("familySpec kinds mismatch (-want +got):\n%s", diff)
	}
	return spec
}

// TestCheckEveryKind: any scenario plays on any kind, so each step is
// checked against its operation of every kind, and a problem that holds
// for some kinds only names them.
func TestCheckEveryKind(t *testing.T) {
	spec := familySpec(t)
	tests := []struct {
		name, text, want string
	}{
		{
			name: "a code one kind does not declare",
			text: `description: x
create:
  - error:
      code: 413
    polls: 1
poll:
  - status: SUCCESS
`,
			want: `x.yaml:3:5: create step 1 violates openapi.yaml for kind tts: status 413 is not declared for this operation; fix the step, or mark the scenario "off_spec: true"`,
		},
		{
			name: "a code two kinds do not declare",
			text: `description: x
poll:
  - error:
      code: 404
    polls: 1
  - status: SUCCESS
`,
			want: `x.yaml:3:5: poll step 1 violates openapi.yaml for kinds text-to-voice and tts: status 404 is not declared for this operation; fix the step, or mark the scenario "off_spec: true"`,
		},
		{
			name: "a code no kind declares is reported once, naming none",
			text: `description: x
poll:
  - error:
      code: 418
    polls: 1
  - status: SUCCESS
`,
			want: `x.yaml:3:5: poll step 1 violates openapi.yaml: status 418 is not declared for this operation; fix the step, or mark the scenario "off_spec: true"`,
		},
		{
			name: "a result step, where text-to-voice has no result operation",
			text: `description: x
poll:
  - status: SUCCESS
result:
  - error:
      code: 400
    polls: 1
  - error:
      code: 413
    polls: 1
`,
			want: `x.yaml:5:5: result step 1 violates openapi.yaml for kind tts: status 400 is not declared for this operation; fix the step, or mark the scenario "off_spec: true"
x.yaml:8:5: result step 2 violates openapi.yaml: status 413 is not declared for this operation; fix the step, or mark the scenario "off_spec: true"`,
		},
		{
			name: "problems of every kind and of some",
			text: `description: x
poll:
  - error:
      code: 429
      body: '{"detail":"slow down"}'
    polls: 1
  - error:
      code: 404
      headers:
        Content-Type: text/html
      body: <html>gone</html>
    polls: 1
  - status: SUCCESS
`,
			want: `x.yaml:3:5: poll step 1 violates openapi.yaml: header "Retry-After" missing; fix the step, or mark the scenario "off_spec: true"
x.yaml:7:5: poll step 2 violates openapi.yaml for kind text-to-sound: header Content-Type has unexpected value: "text/html"; fix the step, or mark the scenario "off_spec: true"
x.yaml:7:5: poll step 2 violates openapi.yaml for kinds text-to-voice and tts: status 404 is not declared for this operation; fix the step, or mark the scenario "off_spec: true"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := scenarios.Load(fstest.MapFS{"x.yaml": {Data: []byte(tc.text)}}, spec)
			if err == nil {
				t.Fatalf("Load(...) = nil error; want %q", tc.want)
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("Load(...) mismatch (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("Violations", func(t *testing.T) {
		sc, err := scenarios.Parse("x.yaml", []byte(tests[1].text))
		if err != nil {
			t.Fatal(err)
		}
		got := sc.Violations(spec)
		want := []scenarios.Violation{{Script: "poll", Step: 1, Line: 3, Column: 5,
			Problem: "status 404 is not declared for this operation", Kinds: []string{"text-to-voice", "tts"}}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Violations() mismatch (-want +got):\n%s", diff)
		}
		if got, want := got[0].String(), "poll step 1: status 404 is not declared for this operation (kinds text-to-voice and tts)"; got != want {
			t.Errorf("Violation.String() = %q; want %q", got, want)
		}
	})
	t.Run("the built-ins play on every kind", func(t *testing.T) {
		all, err := scenarios.Builtins(spec)
		if err != nil {
			t.Fatalf("Builtins(the family of three kinds): %v", err)
		}
		if len(all) == 0 {
			t.Fatal("Builtins returned none")
		}
	})
}

// TestCheckGoBuiltUnknownStatus: a scenario built in Go is checked as a
// file is; the schema's complaint about an unknown status gives way to
// the unknown status's own message, while its other complaints remain.
func TestCheckGoBuiltUnknownStatus(t *testing.T) {
	spec := loadSpec(t)
	sc := &scenarios.Scenario{
		Name:        "built",
		Description: "built in Go",
		Poll: scenarios.Script{{Reply: &scenarios.Reply{Status: "DONE",
			RunID: scenarios.RunID{Value: []byte(`"7"`)}}}},
	}
	var got []string
	for _, v := range sc.Violations(spec) {
		got = append(got, v.String())
	}
	want := []string{
		`poll step 1: unknown status "DONE"; openapi.yaml declares SUCCESS, PENDING, TIMEOUT, ERROR, PAYMENT_REQUIRED`,
		`poll step 1: body /run_id: value must be an integer`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Violations() mismatch (-want +got):\n%s", diff)
	}
	wantErr := `poll step 1: unknown status "DONE"; openapi.yaml declares SUCCESS, PENDING, TIMEOUT, ERROR, PAYMENT_REQUIRED; mark the scenario "off_spec: true" to serve it anyway
poll step 1 violates openapi.yaml: body /run_id: value must be an integer; fix the step, or mark the scenario "off_spec: true"`
	if err := sc.Check(spec); err == nil || err.Error() != wantErr {
		t.Errorf("Check() = %v; want %q", err, wantErr)
	}
}
