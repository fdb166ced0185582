package contract_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock/contract"
	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
)

// TestReportFormats writes a report in each format and reads it back.
func TestReportFormats(t *testing.T) {
	ts := mockservertest.NewTestServer(t, mockserver.WithAPIKeys(testKey))
	r, err := contract.Verify(t.Context(), mockTarget(ts, "drift-failed-status"))
	if err != nil {
		t.Fatal(err)
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back contract.Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("the JSON report does not read back: %v", err)
	}
	if diff := cmp.Diff(r.FailedChecks(), back.FailedChecks()); diff != "" {
		t.Errorf("JSON round trip mismatch (-want +got):\n%s", diff)
	}

	var x bytes.Buffer
	if err := r.WriteJUnit(&x); err != nil {
		t.Fatal(err)
	}
	var suite struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Cases    []struct {
			Name    string    `xml:"name,attr"`
			Failure *struct{} `xml:"failure"`
		} `xml:"testcase"`
	}
	if err := xml.Unmarshal(x.Bytes(), &suite); err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, c := range suite.Cases {
		if c.Failure != nil {
			failed = append(failed, c.Name)
		}
	}
	if suite.Tests != len(contract.Checks()) || suite.Failures != 1 || !cmp.Equal(failed, []string{contract.CheckStatusConforms}) {
		t.Errorf("JUnit: %d tests, %d failures %v", suite.Tests, suite.Failures, failed)
	}

	var text strings.Builder
	r.WriteText(&text)
	for _, want := range []string{
		"FAIL  status-conforms",
		"body /status: value is not one of the allowed values",
		"statuses:          FAILED ×3, PENDING ×1",
		`WARN  status "FAILED" is not in openapi.yaml's TaskStatus`,
		"1 failed",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the text report lacks %q:\n%s", want, text.String())
		}
	}
	if strings.Contains(js.String()+x.String()+text.String(), testKey) {
		t.Error("a report holds the API key")
	}
}

// TestReportWantGot shows a failure's want/got lines as the text report
// prints them: the suite's own wording, stable from run to run.
func TestReportWantGot(t *testing.T) {
	t.Parallel()
	r, err := contract.Verify(t.Context(), contract.Target{
		BaseURL: serveFake(t, newFakeAPI("unknown-task-200", testKey, "")), APIKey: testKey, Sleep: noSleep,
	})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	r.WriteText(&text)
	want := "        want: 404 and a detail saying why\n" +
		`        got:  200 {"exception_reason":null,"message":null,"run_id":null,"status":"PENDING"}` + "\n"
	if !strings.Contains(text.String(), want) {
		t.Errorf("the text report lacks\n%s\nin:\n%s", want, text.String())
	}
}
