// Package examples_test checks the CI and compose examples: each is valid
// YAML, hides no failure, and the example scenarios load. The verify
// command line of each CI example is run against cambmock serve by
// TestCIExamplesVerify in cmd/cambmock, where the command can run in
// process.
package examples_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/scenarios"
)

func TestYAMLFiles(t *testing.T) {
	files, _ := filepath.Glob("*.yml")
	if len(files) < 3 {
		t.Fatalf("found %v; want the GitHub Actions, GitLab CI and compose examples", files)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := yaml.Unmarshal(data, &v); err != nil || len(v) == 0 {
			t.Errorf("%s is not a YAML mapping: %v", f, err)
		}
		// A CI step must fail when cambmock does: nothing swallows its
		// exit status.
		for i, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, "|| true") || strings.Contains(line, "|| :") {
				t.Errorf("%s:%d: %q hides a failing command; let the step fail", f, i+1, strings.TrimSpace(line))
			}
		}
		// The environment variables the examples set are ones cambmock reads.
		for _, v := range []string{"CAMBMOCK_SCENARIO:", "CAMBMOCK_SCENARIOS:", "CAMBMOCK_CLOCK:", "CAMBMOCK_LOG_FORMAT:"} {
			if strings.Contains(string(data), v) && !strings.Contains(readCmd(t), `"`+strings.TrimSuffix(v, ":")+`"`) {
				t.Errorf("%s sets %s, which cmd/cambmock does not read", f, v)
			}
		}
	}
}

func TestExampleScenarios(t *testing.T) {
	spec, err := cambmock.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	list, err := scenarios.LoadPath("scenarios", spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) == 0 {
		t.Fatal("no example scenarios")
	}
}

// readCmd returns the source of cmd/cambmock's flag definitions.
func readCmd(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	files, _ := filepath.Glob("../cmd/cambmock/*.go")
	for _, f := range files {
		data, _ := os.ReadFile(f)
		b.Write(data)
	}
	return b.String()
}
