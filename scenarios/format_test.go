package scenarios_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cambmock/cambmock/scenarios"
)

// TestFormatRoundTrip formats every built-in scenario and parses it back.
func TestFormatRoundTrip(t *testing.T) {
	spec := loadSpec(t)
	all, err := scenarios.Builtins(spec)
	if err != nil {
		t.Fatal(err)
	}
	ignore := cmpopts.IgnoreFields(scenarios.Step{}, "Line", "Column")
	for _, sc := range all {
		t.Run(sc.Name, func(t *testing.T) {
			text, err := scenarios.Format(sc, "a comment\nover two lines")
			if err != nil {
				t.Fatal(err)
			}
			got, err := scenarios.Parse(sc.File, text)
			if err != nil {
				t.Fatalf("Parse(Format(%s)): %v\n%s", sc.Name, err, text)
			}
			if diff := cmp.Diff(sc, got, ignore); diff != "" {
				t.Errorf("Parse(Format(%s)) mismatch (-want +got):\n%s\n%s", sc.Name, diff, text)
			}
		})
	}
}
