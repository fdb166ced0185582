package contract

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
)

// Outcome is how a check ended.
type Outcome string

// The outcomes of a check.
const (
	Pass Outcome = "pass"
	Fail Outcome = "fail"
	Skip Outcome = "skip" // the check had nothing to check; Note says why
)

// Result is the outcome of one check for one kind of task.
type Result struct {
	Check
	// Kind is the kind of task checked, such as "text-to-sound" or "tts".
	Kind string `json:"kind"`
	// ID names the result in reports: the check's name for the spec's
	// default kind (text-to-sound), such as "status-conforms", else
	// KIND/CHECK, such as "tts/status-conforms".
	ID       string    `json:"id"`
	Outcome  Outcome   `json:"outcome"`
	Note     string    `json:"note,omitempty"`
	Failures []Failure `json:"failures,omitempty"`
}

// A Failure is one violation a check found.
type Failure struct {
	Problem  string `json:"problem"`            // what is wrong, in a sentence
	Request  string `json:"request,omitempty"`  // the request, key redacted
	Response string `json:"response,omitempty"` // the response, cut short
	// Diff sets out what was expected against what came, in two lines of the
	// suite's own stable wording (not a go-cmp diff, whose text changes
	// on purpose): "want: " and the expected answer, then "got:  " and
	// the answer, such as
	//
	//	want: 404 and a detail saying why
	//	got:  200 {"status":"PENDING"}
	Diff  string `json:"diff,omitempty"`
	Count int    `json:"count"` // how many times it was seen
}

// wantGot writes a [Failure.Diff].
func wantGot(want, got string) string { return "want: " + want + "\ngot:  " + got }

// A Warning is drift that is not a violation: something openapi.yaml does
// not list but allows, such as an extra field or an unlisted exception
// reason.
type Warning struct {
	Kind    string `json:"kind"` // status, exception_reason, field, content_type
	Value   string `json:"value"`
	Where   string `json:"where"` // the operation
	Count   int    `json:"count"`
	Message string `json:"message"`
}

// Drift is what the target actually returned, beside what the spec says.
type Drift struct {
	Statuses         map[string]int      `json:"statuses"`          // status values seen, with counts
	ExceptionReasons map[string]int      `json:"exception_reasons"` // exception reasons seen, with counts
	Fields           map[string][]string `json:"fields"`            // per operation, the JSON fields seen in 2xx bodies
	ContentTypes     map[string][]string `json:"content_types"`     // per operation, the content types seen
	Codes            map[string][]int    `json:"codes"`             // per operation, the HTTP codes seen
	Warnings         []Warning           `json:"warnings"`          // what the spec does not know
	// Dropped counts, under the name of the map or list above, the values
	// seen but not kept because it was full: each map keeps at most 100
	// distinct values (per operation for fields, content types and
	// codes) and Warnings at most 200, so that drift the target or a
	// client chooses cannot grow without bound. Values are kept cut to
	// 120 bytes. Nil when nothing was dropped.
	Dropped map[string]int `json:"dropped,omitempty"`
}

// A Call is one request the suite made.
type Call struct {
	Kind      string   `json:"kind,omitempty"` // the kind of task it was for; "" for none
	Operation string   `json:"operation"`      // operationId, or "file" for a file URL
	Method    string   `json:"method"`
	Path      string   `json:"path"`            // relative to the base URL
	Check     string   `json:"check"`           // the check it was made for
	Code      int      `json:"code"`            // 0 when there was no response
	Error     string   `json:"error,omitempty"` // the transport error, if any
	Latency   Duration `json:"latency"`
}

// Duration is a time.Duration that JSON encodes as a string such as "1.5s".
type Duration time.Duration

// String writes the duration as time.Duration does, such as "1.5s".
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration written by MarshalJSON.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration must be a string such as \"1.5s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Report is what [Verify] found.
type Report struct {
	BaseURL  string    `json:"base_url"`
	ReadOnly bool      `json:"read_only"` // no task was created
	Started  time.Time `json:"started"`
	Elapsed  Duration  `json:"elapsed"`
	// Kinds are the kinds of task checked, the spec's default kind first.
	Kinds []string `json:"kinds"`
	// Results has one result per check per kind: the first kind's in the
	// order of [Checks], then the next kind's.
	Results []Result `json:"results"`
	Drift   Drift    `json:"drift"`
	Calls   []Call   `json:"calls"`
}

// Failed reports whether any check failed.
func (r *Report) Failed() bool { return r.Count(Fail) > 0 }

// Count returns how many checks had the given outcome.
func (r *Report) Count(o Outcome) int {
	n := 0
	for _, res := range r.Results {
		if res.Outcome == o {
			n++
		}
	}
	return n
}

// Result returns the result with the given ID, or nil: a check's name
// for the spec's default kind, such as "status-conforms", or KIND/CHECK,
// such as "tts/status-conforms". A report that does not check the
// default kind answers a bare check name with the first kind's result.
func (r *Report) Result(id string) *Result {
	for i := range r.Results {
		if r.Results[i].ID == id {
			return &r.Results[i]
		}
	}
	for i := range r.Results {
		if r.Results[i].ID == "" && r.Results[i].Name == id {
			return &r.Results[i] // a report read from an older JSON report
		}
	}
	if !strings.Contains(id, "/") && len(r.Results) > 0 {
		return r.ResultOf(r.Results[0].Kind, id)
	}
	return nil
}

// ResultOf returns the result of the named check for kind, or nil.
func (r *Report) ResultOf(kind, check string) *Result {
	for i := range r.Results {
		if r.Results[i].Kind == kind && r.Results[i].Name == check {
			return &r.Results[i]
		}
	}
	return nil
}

// FailedChecks returns the IDs of the results that failed, such as
// "status-conforms" and "tts/status-conforms".
func (r *Report) FailedChecks() []string {
	var out []string
	for _, res := range r.Results {
		if res.Outcome == Fail {
			out = append(out, res.label())
		}
	}
	return out
}

// label is how reports name a result: its ID.
func (res *Result) label() string {
	if res.ID != "" {
		return res.ID
	}
	return res.Name
}

// kindGroups splits the results by kind, in report order.
func (r *Report) kindGroups() [][]Result {
	var out [][]Result
	for i, res := range r.Results {
		if i == 0 || res.Kind != r.Results[i-1].Kind {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], res)
	}
	return out
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report for a person: a line per check, each failure
// with its request, response and diff, then the drift and the latencies.
//
// When the report covers several kinds, each kind's lines follow a
// heading that names the kind ("tts:"), and each line names its result by
// its ID: the default kind's as the check ("PASS  status-conforms ..."),
// another kind's as KIND/CHECK ("PASS  tts/status-conforms ..."). The
// lines of a report of the default kind alone are as they always were.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	mode := "read-only"
	if !r.ReadOnly {
		mode = "created a task"
		if len(r.Kinds) > 1 {
			mode = fmt.Sprintf("created a task of each of %d kinds", len(r.Kinds))
		}
	}
	fmt.Fprintf(&b, "cambmock verify %s (%s, %v)\n\n", r.BaseURL, mode, time.Duration(r.Elapsed).Round(time.Millisecond))
	groups := r.kindGroups()
	for gi, group := range groups {
		if len(groups) > 1 {
			if gi > 0 {
				b.WriteString("\n")
			}
			fmt.Fprintf(&b, "%s: %s\n", group[0].Kind, groupCounts(group))
		}
		writeResults(&b, group)
	}
	return r.writeTail(w, &b)
}

// groupCounts sums up a kind's results, such as "15 passed, 0 failed, 2 skipped".
func groupCounts(group []Result) string {
	n := map[Outcome]int{}
	for _, res := range group {
		n[res.Outcome]++
	}
	return fmt.Sprintf("%d passed, %d failed, %d skipped", n[Pass], n[Fail], n[Skip])
}

// writeResults writes a line per result, its note and its failures.
func writeResults(b *strings.Builder, results []Result) {
	width := 0
	for _, res := range results {
		width = max(width, len(res.label()))
	}
	for _, res := range results {
		fmt.Fprintf(b, "%-4s  %-*s  %s\n", strings.ToUpper(string(res.Outcome)), width, res.label(), res.Purpose)
		if res.Note != "" {
			fmt.Fprintf(b, "      %*s  %s\n", width, "", res.Note)
		}
		for _, f := range res.Failures {
			times := ""
			if f.Count > 1 {
				times = fmt.Sprintf(" (×%d)", f.Count)
			}
			fmt.Fprintf(b, "      - %s%s\n", f.Problem, times)
			if f.Request != "" {
				fmt.Fprintf(b, "        request:  %s\n", f.Request)
			}
			if f.Response != "" {
				fmt.Fprintf(b, "        response: %s\n", f.Response)
			}
			if f.Diff != "" {
				for _, line := range strings.Split(strings.TrimRight(f.Diff, "\n"), "\n") {
					fmt.Fprintf(b, "        %s\n", line)
				}
			}
		}
	}
}

// writeTail writes the drift, the latencies and the counts after the
// results in b, then b to w.
func (r *Report) writeTail(w io.Writer, b *strings.Builder) error {
	d := r.Drift
	fmt.Fprintf(b, "\nWhat the target returned:\n")
	fmt.Fprintf(b, "  statuses:          %s\n", counts(d.Statuses))
	fmt.Fprintf(b, "  exception reasons: %s\n", counts(d.ExceptionReasons))
	for _, op := range sortedKeys(d.Codes) {
		fmt.Fprintf(b, "  %-28s codes %v, content types %s, fields %s\n", op+":", d.Codes[op], orNone(d.ContentTypes[op]), orNone(d.Fields[op]))
	}
	if len(d.Dropped) > 0 {
		fmt.Fprintf(b, "  dropped (not kept, the lists being full): %s\n", counts(d.Dropped))
	}
	if len(d.Warnings) > 0 {
		fmt.Fprintf(b, "\nWarnings (drift the spec allows):\n")
		for _, wn := range d.Warnings {
			fmt.Fprintf(b, "  WARN  %s\n", wn.Message)
		}
	}

	if len(r.Calls) > 0 {
		fmt.Fprintf(b, "\nLatency per call:\n")
		for _, c := range r.Calls {
			outcome := fmt.Sprint(c.Code)
			if c.Error != "" {
				outcome = "error: " + c.Error
			}
			fmt.Fprintf(b, "  %-6s %-44s %-10v %s  [%s]\n", c.Method, c.Path, time.Duration(c.Latency).Round(100*time.Microsecond), outcome, r.callLabel(c))
		}
	}
	fmt.Fprintf(b, "\n%d passed, %d failed, %d skipped, %d warnings\n", r.Count(Pass), r.Count(Fail), r.Count(Skip), len(d.Warnings))
	_, err := io.WriteString(w, b.String())
	return err
}

// callLabel names the check a call was made for as the report names its
// result: KIND/CHECK for a kind whose results are so named.
func (r *Report) callLabel(c Call) string {
	if c.Kind == "" {
		return c.Check
	}
	if res := r.ResultOf(c.Kind, c.Check); res != nil {
		return res.label()
	}
	if qualified := r.ResultOf(c.Kind, CheckStatusConforms); qualified != nil && qualified.label() != qualified.Name {
		return c.Kind + "/" + c.Check
	}
	return c.Check
}

func counts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, " ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// WriteJUnit writes the report as a JUnit XML file: a test case per
// result, named by its ID. The default kind's cases are in class
// "contract", as they always were; another kind's in "contract.KIND",
// such as a case "tts/status-conforms" of class "contract.tts".
func (r *Report) WriteJUnit(w io.Writer) error {
	type failure struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",chardata"`
	}
	type skipped struct {
		Message string `xml:"message,attr"`
	}
	type testcase struct {
		Name      string   `xml:"name,attr"`
		Classname string   `xml:"classname,attr"`
		Time      string   `xml:"time,attr"`
		Failure   *failure `xml:"failure,omitempty"`
		Skipped   *skipped `xml:"skipped,omitempty"`
		SystemOut string   `xml:"system-out,omitempty"`
	}
	type testsuite struct {
		XMLName  xml.Name   `xml:"testsuite"`
		Name     string     `xml:"name,attr"`
		Tests    int        `xml:"tests,attr"`
		Failures int        `xml:"failures,attr"`
		Skipped  int        `xml:"skipped,attr"`
		Time     string     `xml:"time,attr"`
		Cases    []testcase `xml:"testcase"`
	}
	ts := testsuite{Name: "cambmock verify " + r.BaseURL, Tests: len(r.Results), Failures: r.Count(Fail), Skipped: r.Count(Skip),
		Time: fmt.Sprintf("%.3f", time.Duration(r.Elapsed).Seconds())}
	for _, res := range r.Results {
		class := "contract"
		if res.label() != res.Name {
			class += "." + res.Kind
		}
		tc := testcase{Name: res.label(), Classname: class, Time: "0", SystemOut: res.Purpose}
		switch res.Outcome {
		case Fail:
			var text strings.Builder
			for _, f := range res.Failures {
				fmt.Fprintf(&text, "%s\nrequest:  %s\nresponse: %s\n%s\n", f.Problem, f.Request, f.Response, f.Diff)
			}
			tc.Failure = &failure{Message: res.Failures[0].Problem, Text: text.String()}
		case Skip:
			tc.Skipped = &skipped{Message: res.Note}
		}
		ts.Cases = append(ts.Cases, tc)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(ts); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// addUnique appends v to s unless present, keeping s sorted.
func addUnique[T string | int](s []T, v T) []T {
	if slices.Contains(s, v) {
		return s
	}
	s = append(s, v)
	slices.Sort(s)
	return s
}
