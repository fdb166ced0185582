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
	ignore := cmp.Options{cmpopts.IgnoreFields(scenarios.Step{}, "Line", "Column"), cmpopts.IgnoreFields(scenarios.Reply{}, "Line", "Column")}
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

// TestFormatQuotedAuto keeps an off-spec run_id of the string "auto" apart
// from run_id: auto, which allocates an id.
func TestFormatQuotedAuto(t *testing.T) {
	sc, err := scenarios.Parse("q.yaml", []byte("description: d\noff_spec: true\npoll:\n  - status: SUCCESS\n    run_id: \"auto\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Poll[0].Reply.RunID.Auto {
		t.Fatal(`Parse: run_id: "auto" (quoted) was read as auto`)
	}
	text, err := scenarios.Format(sc, "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := scenarios.Parse("q.yaml", text)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sc.Poll[0].Reply, got.Poll[0].Reply, cmpopts.IgnoreFields(scenarios.Reply{}, "Line", "Column")); diff != "" {
		t.Errorf("Parse(Format()) run_id mismatch (-want +got):\n%s\n%s", diff, text)
	}
}
