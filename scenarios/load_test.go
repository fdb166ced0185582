package scenarios_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/scenarios"
)

func loadSpec(t testing.TB) *cambmock.Spec {
	t.Helper()
	spec, err := cambmock.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// TestBuiltins checks that every built-in file loads, under its own name,
// and that exactly the drift-* scenarios and malformed-json are off-spec.
func TestBuiltins(t *testing.T) {
	spec := loadSpec(t)
	all, err := scenarios.Builtins(spec)
	if err != nil {
		t.Fatalf("Builtins: %v", err)
	}
	files, err := fs.Glob(scenarios.BuiltinFS(), "*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(files) || len(all) == 0 {
		t.Fatalf("Builtins returned %d scenarios from %d files", len(all), len(files))
	}
	for _, sc := range all {
		t.Run(sc.Name, func(t *testing.T) {
			if want := "scenarios/" + sc.Name + ".yaml"; sc.File != want {
				t.Errorf("File = %q; want %q", sc.File, want)
			}
			wantOff := strings.HasPrefix(sc.Name, "drift-") || sc.Name == "malformed-json"
			if sc.OffSpec != wantOff {
				t.Errorf("OffSpec = %v; want %v", sc.OffSpec, wantOff)
			}
			if vs := sc.Violations(spec); (len(vs) > 0) != sc.OffSpec {
				t.Errorf("OffSpec = %v, but Violations() = %v", sc.OffSpec, vs)
			}
			// Builtins does not check them against the embedded spec at
			// each start (Spec.Embedded): this is where they are checked.
			if err := sc.Check(spec); err != nil {
				t.Errorf("Check against the embedded spec: %v", err)
			}
		})
	}
	if !spec.Embedded() {
		t.Error("LoadSpec's Spec says it is not the embedded one")
	}
	other, err := cambmock.ParseSpec(spec.Source())
	if err != nil {
		t.Fatal(err)
	}
	if other.Embedded() {
		t.Error("ParseSpec's Spec says it is the embedded one")
	}
}

// TestBuiltinViolations pins how each off-spec built-in departs from the
// spec: the contract suite relies on each one breaking one rule.
func TestBuiltinViolations(t *testing.T) {
	spec := loadSpec(t)
	all, err := scenarios.Builtins(spec)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, sc := range all {
		for _, v := range sc.Violations(spec) {
			got[sc.Name] = append(got[sc.Name], v.String())
		}
	}
	want := map[string][]string{
		"drift-failed-status":          {`poll step 2: unknown status "FAILED"; openapi.yaml declares SUCCESS, PENDING, TIMEOUT, ERROR, PAYMENT_REQUIRED`},
		"drift-html-error":             {`poll step 1: header Content-Type has unexpected value: "text/html; charset=utf-8"`},
		"drift-missing-retry-after":    {`poll step 1: header "Retry-After" missing`},
		"drift-run-id-string":          {`poll step 2: body /run_id: value must be an integer`},
		"drift-success-without-run-id": {`poll step 2: SUCCESS without an integer run_id: the client has no result to fetch`},
		"drift-terminal-regress":       {`poll step 2: terminal status SUCCESS ends after a while, but a terminal status stays served`},
		"drift-undeclared-status":      {`poll step 1: status 409 is not declared for this operation`},
		"malformed-json":               {`poll step 2: a 200 answer whose body is not valid JSON`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Violations() of the built-ins mismatch (-want +got):\n%s", diff)
	}
}

func TestLoadCheckErrors(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		want   string
		reason string
	}{
		{
			name: "429 without Retry-After",
			text: `description: x
poll:
  - error:
      code: 429
    polls: 1
  - status: SUCCESS
`,
			want: `x.yaml:3:5: poll step 1 violates openapi.yaml: header "Retry-After" missing; fix the step, or mark the scenario "off_spec: true"`,
		},
		{
			name: "500 with an HTML body",
			text: `description: x
poll:
  - status: PENDING
    polls: 1
  - error:
      code: 500
      body: <html><body>oops</body></html>
    polls: 1
  - status: SUCCESS
`,
			want: `x.yaml:5:5: poll step 2 violates openapi.yaml: header Content-Type has unexpected value: "text/html; charset=utf-8"; fix the step, or mark the scenario "off_spec: true"`,
		},
		{
			name: "run_id a string",
			text: `description: x
poll:
  - status: SUCCESS
    run_id: "1001"
`,
			want: `x.yaml:4:13: "run_id" must be auto, a whole number of 0 or more, or null, not the string "1001"; remove the quotes (off-spec scenarios may serve any value)`,
		},
		{
			name: "SUCCESS with run_id null",
			text: `description: x
poll:
  - status: SUCCESS
    run_id: null
`,
			want: `x.yaml:3:5: poll step 1 violates openapi.yaml: SUCCESS without an integer run_id: the client has no result to fetch; fix the step, or mark the scenario "off_spec: true"`,
		},
		{
			name: "terminal status that ends",
			text: `description: x
poll:
  - status: TIMEOUT
    for: 5s
  - status: PENDING
`,
			want: `x.yaml:3:5: poll step 1 violates openapi.yaml: terminal status TIMEOUT ends after a while, but a terminal status stays served; fix the step, or mark the scenario "off_spec: true"`,
		},
		{
			name: "malformed-json fault",
			text: `description: x
poll:
  - fault: malformed-json
    polls: 1
  - status: SUCCESS
`,
			want: `x.yaml:3:5: poll step 1 violates openapi.yaml: a 200 answer whose body is not valid JSON; fix the step, or mark the scenario "off_spec: true"`,
		},
		{
			name: "undeclared code in a create script",
			text: `description: x
create:
  - error:
      code: 404
    polls: 1
poll:
  - status: SUCCESS
`,
			want: `x.yaml:3:5: create step 1 violates openapi.yaml: status 404 is not declared for this operation; fix the step, or mark the scenario "off_spec: true"`,
		},
		{
			name: "undeclared code in a result script",
			text: `description: x
poll:
  - status: SUCCESS
result:
  - error:
      code: 413
    polls: 1
`,
			want: `x.yaml:5:5: result step 1 violates openapi.yaml: status 413 is not declared for this operation; fix the step, or mark the scenario "off_spec: true"`,
		},
		{
			name: "two violations",
			text: `description: x
poll:
  - error:
      code: 418
    polls: 1
  - status: SUCCESS
    run_id: null
`,
			want: `x.yaml:3:5: poll step 1 violates openapi.yaml: status 418 is not declared for this operation; fix the step, or mark the scenario "off_spec: true"
x.yaml:6:5: poll step 2 violates openapi.yaml: SUCCESS without an integer run_id: the client has no result to fetch; fix the step, or mark the scenario "off_spec: true"`,
		},
		{
			name: "unknown status",
			text: `description: x
poll:
  - status: FAILED
`,
			want: `x.yaml:3:13: poll step 1: unknown status "FAILED"; openapi.yaml declares SUCCESS, PENDING, TIMEOUT, ERROR, PAYMENT_REQUIRED; mark the scenario "off_spec: true" to serve it anyway`,
		},
		{
			name: "empty status",
			text: `description: x
poll:
  - status: ""
`,
			want: `x.yaml:3:13: poll step 1: unknown status ""; openapi.yaml declares SUCCESS, PENDING, TIMEOUT, ERROR, PAYMENT_REQUIRED; mark the scenario "off_spec: true" to serve it anyway`,
		},
		{
			name:   "unknown status that ends",
			reason: "an undeclared status is reported as unknown, not also as a terminal status that ends",
			text: `description: x
poll:
  - status: QUEUED
    polls: 1
  - status: SUCCESS
`,
			want: `x.yaml:3:13: poll step 1: unknown status "QUEUED"; openapi.yaml declares SUCCESS, PENDING, TIMEOUT, ERROR, PAYMENT_REQUIRED; mark the scenario "off_spec: true" to serve it anyway`,
		},
		{
			name:   "unknown status and another problem",
			reason: "the schema's complaint about the status is left out, as the unknown status says more",
			text: `description: x
poll:
  - status: DONE
    polls: 2
  - status: SUCCESS
    run_id: null
`,
			want: `x.yaml:3:13: poll step 1: unknown status "DONE"; openapi.yaml declares SUCCESS, PENDING, TIMEOUT, ERROR, PAYMENT_REQUIRED; mark the scenario "off_spec: true" to serve it anyway
x.yaml:5:5: poll step 2 violates openapi.yaml: SUCCESS without an integer run_id: the client has no result to fetch; fix the step, or mark the scenario "off_spec: true"`,
		},
		{
			name: "off-spec scenario that conforms",
			text: `description: x
off_spec: true
poll:
  - status: PENDING
    polls: 1
  - status: SUCCESS
`,
			want: `x.yaml: scenario is marked "off_spec: true", but everything it serves conforms to openapi.yaml; remove "off_spec"`,
		},
	}
	spec := loadSpec(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{"x.yaml": {Data: []byte(tc.text)}}
			got, err := scenarios.Load(fsys, spec)
			if err == nil {
				t.Fatalf("Load(...) = %d scenarios, nil; want error %q", len(got), tc.want)
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("Load(...) mismatch (-want +got):\n%s", diff)
				if tc.reason != "" {
					t.Logf("reason: %s", tc.reason)
				}
			}
			var le *scenarios.LoadError
			if !errors.As(err, &le) || le.File != "x.yaml" {
				t.Errorf("Load(...) error %v is not a *LoadError for x.yaml", err)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	spec := loadSpec(t)
	const onSpec = `description: x
poll:
  - status: SUCCESS
`
	sc, err := scenarios.Parse("ok.yaml", []byte(onSpec))
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Check(spec); err != nil {
		t.Errorf("Check() of an on-spec scenario = %v; want nil", err)
	}
	if vs := sc.Violations(spec); len(vs) != 0 {
		t.Errorf("Violations() of an on-spec scenario = %v; want none", vs)
	}

	// A scenario built in Go has no file and no positions, so its message
	// starts with ": ". That is a wart, pinned here and in mockserver's
	// tests: changing LoadError.Error for an empty File changes both.
	built := &scenarios.Scenario{
		Name: "built",
		Poll: scenarios.Script{{Reply: &scenarios.Reply{Status: "FAILED"}}},
	}
	want := `poll step 1: unknown status "FAILED"; openapi.yaml declares SUCCESS, PENDING, TIMEOUT, ERROR, PAYMENT_REQUIRED; mark the scenario "off_spec: true" to serve it anyway`
	if err := built.Check(spec); err == nil || err.Error() != want {
		t.Errorf("Check() of a Go-built off-spec scenario = %v; want %q", err, want)
	}
	built.OffSpec = true
	if err := built.Check(spec); err != nil {
		t.Errorf("Check() with OffSpec = %v; want nil", err)
	}
}

func TestLoad(t *testing.T) {
	spec := loadSpec(t)
	const body = "description: d\npoll:\n  - status: SUCCESS\n"
	fsys := fstest.MapFS{
		"zeta.yaml":           {Data: []byte(body)},
		"alpha.yml":           {Data: []byte(body)},
		"sub/dir/nested.yaml": {Data: []byte(body)},
		"named.yaml":          {Data: []byte("name: beta\n" + body)},
		"README.md":           {Data: []byte("not a scenario")},
		"notes.txt":           {Data: []byte("poll: [")},
	}
	all, err := scenarios.Load(fsys, spec)
	if err != nil {
		t.Fatalf("Load(...) error: %v", err)
	}
	var got [][2]string
	for _, sc := range all {
		got = append(got, [2]string{sc.Name, sc.File})
	}
	want := [][2]string{
		{"alpha", "alpha.yml"},
		{"beta", "named.yaml"},
		{"nested", "sub/dir/nested.yaml"},
		{"zeta", "zeta.yaml"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load(...) names and files mismatch (-want +got):\n%s", diff)
	}
}

func TestLoadReportsEveryFile(t *testing.T) {
	spec := loadSpec(t)
	fsys := fstest.MapFS{
		"a.yaml":     {Data: []byte("description: a\npoll:\n  - status: SUCCESS\n")},
		"b.yaml":     {Data: []byte("name: a\ndescription: b\npoll:\n  - status: SUCCESS\n")},
		"c.yaml":     {Data: []byte("description: c\n")},
		"dir/d.yaml": {Data: []byte("description: d\npoll:\n  - status: SUCCESS\n    run_id: null\n")},
	}
	_, err := scenarios.Load(fsys, spec)
	want := `b.yaml: scenario "a" is already defined in a.yaml; give each scenario its own name
c.yaml:1:1: scenario has no "poll" script; every scenario says what its status polls answer
dir/d.yaml:3:5: poll step 1 violates openapi.yaml: SUCCESS without an integer run_id: the client has no result to fetch; fix the step, or mark the scenario "off_spec: true"`
	if err == nil {
		t.Fatalf("Load(...) = nil error; want %q", want)
	}
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("Load(...) mismatch (-want +got):\n%s", diff)
	}
}

func TestLoadPath(t *testing.T) {
	spec := loadSpec(t)
	dir := t.TempDir()
	write := func(name, text string) string {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	one := write("good/one.yaml", "description: one\npoll:\n  - status: SUCCESS\n")
	write("good/more/two.yml", "description: two\npoll:\n  - status: PENDING\n")
	write("good/skip.json", "{}")
	bad := write("bad/bad.yaml", "description: bad\npoll:\n  - status: DONE\n")
	odd := write("odd-name.txt", "name: odd\ndescription: odd\npoll:\n  - status: SUCCESS\n")

	names := func(all []*scenarios.Scenario) []string {
		var out []string
		for _, sc := range all {
			out = append(out, sc.Name+" "+sc.File)
		}
		return out
	}

	t.Run("file", func(t *testing.T) {
		all, err := scenarios.LoadPath(one, spec)
		if err != nil {
			t.Fatalf("LoadPath(file) error: %v", err)
		}
		if diff := cmp.Diff([]string{"one " + one}, names(all)); diff != "" {
			t.Errorf("LoadPath(file) mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("file of any name", func(t *testing.T) {
		all, err := scenarios.LoadPath(odd, spec)
		if err != nil {
			t.Fatalf("LoadPath(file) error: %v", err)
		}
		if diff := cmp.Diff([]string{"odd " + odd}, names(all)); diff != "" {
			t.Errorf("LoadPath(file) mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("folder", func(t *testing.T) {
		all, err := scenarios.LoadPath(filepath.Join(dir, "good"), spec)
		if err != nil {
			t.Fatalf("LoadPath(folder) error: %v", err)
		}
		want := []string{"one " + one, "two " + filepath.Join(dir, "good", "more", "two.yml")}
		if diff := cmp.Diff(want, names(all)); diff != "" {
			t.Errorf("LoadPath(folder) mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("folder with a bad file", func(t *testing.T) {
		_, err := scenarios.LoadPath(filepath.Join(dir, "bad"), spec)
		want := bad + `:3:13: poll step 1: unknown status "DONE"; openapi.yaml declares SUCCESS, PENDING, TIMEOUT, ERROR, PAYMENT_REQUIRED; mark the scenario "off_spec: true" to serve it anyway`
		if err == nil || err.Error() != want {
			t.Errorf("LoadPath(folder) = %v; want %q", err, want)
		}
	})
	t.Run("missing", func(t *testing.T) {
		_, err := scenarios.LoadPath(filepath.Join(dir, "missing.yaml"), spec)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("LoadPath(missing) = %v; want an error wrapping fs.ErrNotExist", err)
		}
	})
}

// TestDocExample loads the example file in the package documentation and
// checks that it plays as the documentation says.
func TestDocExample(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(doc), "a file named flaky.yaml")
	if !ok {
		t.Fatal(`doc.go has no "a file named flaky.yaml" example`)
	}
	var file strings.Builder
	for _, line := range strings.Split(after, "\n")[1:] {
		text, ok := strings.CutPrefix(line, "//\t")
		if !ok {
			if file.Len() > 0 {
				break
			}
			continue
		}
		file.WriteString(text + "\n")
	}
	all, err := scenarios.Load(fstest.MapFS{"flaky.yaml": {Data: []byte(file.String())}}, loadSpec(t))
	if err != nil {
		t.Fatalf("the example in doc.go does not load: %v", err)
	}
	sc := all[0]
	if sc.Name != "flaky" {
		t.Errorf("the example's name is %q; want flaky", sc.Name)
	}
	if got, want := sc.Create[0].Error.Body, `{"detail":"Service Unavailable"}`; got != want {
		t.Errorf("the example's create error body is %s; want %s, as doc.go says", got, want)
	}
	want := map[string][]request{
		"create": {
			{0, "error 503 Retry-After=1"},
			{1 * s, ranOut},
		},
		"poll": {
			{0, "error 429 Retry-After=1"},
			{1 * s, `PENDING message="queued" latency 100ms..300ms`},
			{5999 * ms, `PENDING message="queued" latency 100ms..300ms`},
			{6 * s, "SUCCESS run_id=auto progress=100"},
		},
		"result": {
			{7 * s, "fault truncated"},
			{8 * s, ranOut},
		},
	}
	got := map[string][]request{
		"create": playAll(t, sc.Create, want["create"]),
		"poll":   playAll(t, sc.Poll, want["poll"]),
		"result": playAll(t, sc.Result, want["result"]),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the example in doc.go plays differently (-want +got):\n%s", diff)
	}
}

// TestNilSpec: every entry point given a nil spec says a spec is needed,
// rather than panicking or checking against nothing.
func TestNilSpec(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("description: d\npoll:\n  - status: SUCCESS\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const want = "no spec to check the scenario against"
	_, err := scenarios.LoadPath(dir, nil)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("LoadPath(dir, nil) = %v; want an error saying %q", err, want)
	}
	if _, err := scenarios.Builtins(nil); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Builtins(nil) = %v; want an error saying %q", err, want)
	}
	if _, err := scenarios.Load(os.DirFS(dir), nil); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Load(fsys, nil) = %v; want an error saying %q", err, want)
	}
	sc, err := scenarios.Parse("a.yaml", []byte("description: d\npoll:\n  - status: SUCCESS\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Check(nil); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Check(nil) = %v; want an error saying %q", err, want)
	}
	if vs := sc.Violations(nil); len(vs) != 1 || !strings.Contains(vs[0].Problem, want) {
		t.Errorf("Violations(nil) = %v; want one saying %q", vs, want)
	}
}
