package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// listed is what the tests compare of a listed scenario.
type listed struct {
	Name          string
	OffSpec       bool
	Description   string
	HasViolations bool // the JSON form says what an off-spec scenario breaks
}

// wantListed returns the built-in scenarios as the list shows them, plus
// extra, sorted by name.
func wantListed(t *testing.T, extra ...listed) []listed {
	t.Helper()
	var out []listed
	for _, sc := range builtins(t) {
		out = append(out, listed{Name: sc.Name, OffSpec: sc.OffSpec, Description: sc.Description, HasViolations: sc.OffSpec})
	}
	out = append(out, extra...)
	sortListed(out)
	return out
}

func sortListed(l []listed) {
	slices.SortFunc(l, func(a, b listed) int { return strings.Compare(a.Name, b.Name) })
}

// parseText reads the text list: a header line, then a row per scenario.
func parseText(t *testing.T, out string) []listed {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if diff := cmp.Diff([]string{"NAME", "SPEC", "DESCRIPTION"}, strings.Fields(lines[0])); diff != "" {
		t.Fatalf("header line %q mismatch (-want +got):\n%s", lines[0], diff)
	}
	var got []listed
	rows, breaks, _ := strings.Cut(strings.Join(lines[1:], "\n"), "\n\nWhat the off-spec scenarios break:\n")
	for _, line := range strings.Split(rows, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || (f[1] != "on" && f[1] != "off") {
			t.Fatalf("row %q is not NAME on|off DESCRIPTION", line)
		}
		got = append(got, listed{Name: f[0], OffSpec: f[1] == "off", Description: strings.Join(f[2:], " "), HasViolations: f[1] == "off"})
	}
	// After the table, each off-spec scenario says what it breaks.
	for _, l := range got {
		if l.OffSpec && !strings.Contains(breaks, "  "+l.Name+": ") {
			t.Errorf("the list does not say what %s breaks", l.Name)
		}
	}
	sortListed(got)
	return got
}

// parseJSON reads the JSON list.
func parseJSON(t *testing.T, out string) ([]listed, map[string]string) {
	t.Helper()
	var items []struct {
		Name        string   `json:"name"`
		Description string   `json:"description"`
		OffSpec     bool     `json:"off_spec"`
		File        string   `json:"file"`
		Violations  []string `json:"violations"`
	}
	if err := json.Unmarshal([]byte(out), &items); err != nil {
		t.Fatalf("cambmock scenarios --format json printed no JSON array: %v\n%s", err, out)
	}
	var got []listed
	files := map[string]string{}
	for _, it := range items {
		got = append(got, listed{Name: it.Name, OffSpec: it.OffSpec, Description: it.Description, HasViolations: len(it.Violations) > 0})
		files[it.Name] = it.File
	}
	sortListed(got)
	return got, files
}

func TestScenarios(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := writeScenario(t, dir, "my-beep.yaml", userScenario)
	mine := listed{Name: "my-beep", Description: "a user's scenario; PENDING once, then SUCCESS"}

	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		json  bool
		extra []listed
	}{
		{name: "text", args: []string{"scenarios"}},
		{name: "json", args: []string{"scenarios", "--format", "json"}, json: true},
		{name: "env-json", args: []string{"scenarios"}, env: map[string]string{"CAMBMOCK_FORMAT": "json"}, json: true},
		{name: "user-file-text", args: []string{"scenarios", "--scenarios", file}, extra: []listed{mine}},
		{name: "user-folder-json", args: []string{"scenarios", "--scenarios", dir, "--format", "json"}, json: true, extra: []listed{mine}},
		{name: "env-user-folder", args: []string{"scenarios"}, env: map[string]string{"CAMBMOCK_SCENARIOS": dir}, extra: []listed{mine}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCmd(t, tt.env, tt.args...)
			if r.code != 0 {
				t.Fatalf("cambmock %q: exit %d: %v", tt.args, r.code, r.err)
			}
			var got []listed
			if tt.json {
				var files map[string]string
				got, files = parseJSON(t, r.stdout)
				if len(tt.extra) > 0 && files["my-beep"] != filepath.Join(dir, "my-beep.yaml") {
					t.Errorf("cambmock %q lists my-beep from file %q; want %q", tt.args, files["my-beep"], filepath.Join(dir, "my-beep.yaml"))
				}
			} else {
				got = parseText(t, r.stdout)
			}
			if diff := cmp.Diff(wantListed(t, tt.extra...), got); diff != "" {
				t.Errorf("cambmock %q list mismatch (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}
