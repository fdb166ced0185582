package contract_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock/contract"
)

// TestReportFormats writes a report of every kind in each format and
// reads it back: each result names its kind, the default kind's by the
// check's name and the others' as KIND/CHECK, in the JSON, the JUnit file
// (the others in class contract.KIND) and the text, where each kind's
// lines follow a heading.
func TestReportFormats(t *testing.T) {
	kinds := kindsOf(t, nil)
	ts := newMock(t)
	r, err := contract.Verify(t.Context(), mockTarget(ts, "drift-failed-status"))
	if err != nil {
		t.Fatal(err)
	}
	failing := ids(kinds, contract.CheckStatusConforms)
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back contract.Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("the JSON report does not read back: %v", err)
	}
	if diff := cmp.Diff(failing, back.FailedChecks()); diff != "" {
		t.Errorf("JSON round trip mismatch (-want +got):\n%s", diff)
	}
	if res := back.Result("tts/status-conforms"); res == nil || res.Kind != "tts" || res.Name != contract.CheckStatusConforms || res.Outcome != contract.Fail {
		t.Errorf("JSON report's tts/status-conforms = %+v; want kind tts, check status-conforms, fail", res)
	}
	var names []string
	for _, k := range kinds {
		names = append(names, k.Name)
	}
	if diff := cmp.Diff(names, back.Kinds); diff != "" {
		t.Errorf("JSON report's kinds mismatch (-want +got):\n%s", diff)
	}

	var x bytes.Buffer
	if err := r.WriteJUnit(&x); err != nil {
		t.Fatal(err)
	}
	var suite struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Cases    []struct {
			Name      string    `xml:"name,attr"`
			Classname string    `xml:"classname,attr"`
			Failure   *struct{} `xml:"failure"`
		} `xml:"testcase"`
	}
	if err := xml.Unmarshal(x.Bytes(), &suite); err != nil {
		t.Fatal(err)
	}
	var failed []string
	classes := map[string]string{}
	for _, c := range suite.Cases {
		if c.Failure != nil {
			failed = append(failed, c.Name)
		}
		classes[c.Name] = c.Classname
	}
	if suite.Tests != len(kinds)*len(contract.Checks()) || suite.Failures != len(kinds) || !cmp.Equal(failed, failing) {
		t.Errorf("JUnit: %d tests, %d failures %v; want %d, %d %v", suite.Tests, suite.Failures, failed, len(kinds)*len(contract.Checks()), len(kinds), failing)
	}
	if classes["status-conforms"] != "contract" || classes["tts/status-conforms"] != "contract.tts" {
		t.Errorf("JUnit classes %q and %q; want contract and contract.tts", classes["status-conforms"], classes["tts/status-conforms"])
	}

	var text strings.Builder
	r.WriteText(&text)
	for _, want := range []string{
		"(created a task of each of 8 kinds, ",
		"\n\ntext-to-sound: 9 passed, 1 failed, 7 skipped\nPASS  auth-missing-key        a request without x-api-key",
		"\nFAIL  status-conforms         every status response conforms to openapi.yaml\n",
		"\n\ntts: ",
		"\nFAIL  tts/status-conforms         every status response conforms to openapi.yaml\n",
		"body /status: value is not one of the allowed values",
		"statuses:          FAILED ×24, PENDING ×8",
		`WARN  status "FAILED" is not in openapi.yaml's TaskStatus`,
		"[tts/status-conforms]",
		"8 failed",
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
		BaseURL: serveFake(t, newFakeAPI("unknown-task-200", testKey, "")), APIKey: testKey, Kinds: onlySound(), Sleep: noSleep,
	})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	r.WriteText(&text)
	// A report of the default kind alone reads as it always did: no
	// heading, the check names in a column as wide as the longest.
	if _, results, _ := strings.Cut(text.String(), "\n\n"); !strings.HasPrefix(results, "PASS  auth-missing-key        a request without x-api-key") {
		t.Errorf("the results of a text-to-sound report do not start with the check's line:\n%s", text.String())
	}
	want := "        want: 404 and a detail saying why\n" +
		`        got:  200 {"exception_reason":null,"message":null,"run_id":null,"status":"PENDING"}` + "\n"
	if !strings.Contains(text.String(), want) {
		t.Errorf("the text report lacks\n%s\nin:\n%s", want, text.String())
	}
}
