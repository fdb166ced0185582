package scenarios_test

import (
	"testing"

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

func TestBuiltinsLoad(t *testing.T) {
	spec := loadSpec(t)
	all, err := scenarios.Builtins(spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range all {
		t.Logf("%-30s off=%v %v", sc.Name, sc.OffSpec, sc.Violations(spec))
	}
}
