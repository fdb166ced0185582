package scenarios_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cambmock/cambmock/scenarios"
)

// parseErrorCase is one scenario file that Parse rejects, with its error
// message word for word. The texts also seed FuzzParse.
type parseErrorCase struct {
	name   string
	file   string // "test.yaml" when empty
	text   string
	want   string
	reason string
}

var parseErrorCases = []parseErrorCase{
	// The file as a whole.
	{
		name: "empty file",
		text: ``,
		want: `test.yaml: file is empty; a scenario needs at least a description and a poll script`,
	},
	{
		name: "only a comment",
		text: "# nothing here\n",
		want: `test.yaml: file is empty; a scenario needs at least a description and a poll script`,
	},
	{
		name: "over MaxFileSize",
		text: "#" + strings.Repeat("x", scenarios.MaxFileSize) + "\n",
		want: `test.yaml: file is 1048578 bytes; a scenario file may have at most 1048576`,
	},
	{
		name: "YAML syntax error",
		text: "description: x\npoll:\n  - status: PENDING\n   polls: [1\n",
		want: `test.yaml:4:4: not valid YAML: did not find expected '-' indicator`,
	},
	{
		name: "tab indentation",
		text: "description: x\npoll:\n\t- status: PENDING\n",
		want: `test.yaml:3:1: not valid YAML: found character that cannot start any token`,
	},
	{
		name: "second document",
		text: `description: x
poll:
  - status: PENDING
---
description: y
`,
		want: `test.yaml:4:1: file holds a second YAML document; put one scenario in each file`,
	},
	{
		name: "anchor and alias",
		text: `description: x
poll:
  - &pending
    status: PENDING
    polls: 1
  - *pending
  - status: SUCCESS
`,
		want: `test.yaml:3:5: anchors and aliases (& and *) are not supported in scenario files; write each step out`,
	},
	{
		name: "alias without anchor use",
		text: `description: &d x
poll:
  - status: PENDING
`,
		want:   `test.yaml:1:14: anchors and aliases (& and *) are not supported in scenario files; write each step out`,
		reason: "an anchor alone is rejected too, so that no file depends on one",
	},
	{
		name: "not a mapping",
		text: "- status: PENDING\n",
		want: `test.yaml:1:1: a scenario file must be a mapping of keys (name, description, off_spec, seed, create, poll, result), not a list`,
	},
	{
		name: "only a document marker",
		text: "---\n",
		want: `test.yaml:2:1: a scenario file must be a mapping of keys (name, description, off_spec, seed, create, poll, result), not null`,
	},

	// Top-level keys.
	{
		name: "unknown top-level key",
		text: `description: x
retries: 3
poll:
  - status: PENDING
`,
		want: `test.yaml:2:1: unknown key "retries" in scenario; allowed: name, description, off_spec, seed, create, poll, result`,
	},
	{
		name: "misspelt top-level key",
		text: `description: x
Off-Spec: true
poll:
  - status: PENDING
`,
		want: `test.yaml:2:1: unknown key "Off-Spec" in scenario; did you mean "off_spec"?`,
	},
	{
		name: "step key at the top level",
		text: `description: x
polls: 2
poll:
  - status: PENDING
`,
		want: `test.yaml:2:1: unknown key "polls" in scenario; did you mean "poll"?`,
	},
	{
		name: "duplicate key",
		text: `description: x
description: y
poll:
  - status: PENDING
`,
		want: `test.yaml:2:1: key "description" appears twice in scenario; give it once`,
	},
	{
		name: "key that is not a word",
		text: `description: x
[a, b]: c
poll:
  - status: PENDING
`,
		want: `test.yaml:2:1: scenario keys must be plain words; allowed: name, description, off_spec, seed, create, poll, result`,
	},
	{
		name: "missing description",
		text: `poll:
  - status: PENDING
`,
		want: `test.yaml:1:1: scenario has no "description"; say in one line what it plays`,
	},
	{
		name: "null description",
		text: `description:
poll:
  - status: PENDING
`,
		want: `test.yaml:1:13: "description" must be a string, not null`,
	},
	{
		name: "empty description",
		text: `description: "  "
poll:
  - status: PENDING
`,
		want: `test.yaml:1:14: description is empty; say in one line what the scenario plays`,
	},
	{
		name: "multi-line description",
		text: `description: |
  PENDING,
  then SUCCESS
poll:
  - status: PENDING
`,
		want: `test.yaml:1:14: description has more than one line; keep it to one line`,
	},
	{
		name: "missing poll",
		text: "description: x\n",
		want: `test.yaml:1:1: scenario has no "poll" script; every scenario says what its status polls answer`,
	},
	{
		name: "off_spec as a quoted string",
		text: `description: x
off_spec: "yes"
poll:
  - status: PENDING
`,
		want: `test.yaml:2:11: "off_spec" must be true or false, not "yes"`,
	},
	{
		name: "off_spec yes",
		text: `description: x
off_spec: yes
poll:
  - status: PENDING
`,
		want:   `test.yaml:2:11: "off_spec" must be true or false, not "yes" (YAML 1.2 reads yes, no, on and off as strings)`,
		reason: "YAML 1.1 read yes as true; YAML 1.2, which the parser follows, reads it as a string",
	},
	{
		name: "off_spec true in quotes",
		text: `description: x
off_spec: "true"
poll:
  - status: PENDING
`,
		want: `test.yaml:2:11: "off_spec" must be true or false, not the string "true"; remove the quotes`,
	},
	{
		name: "seed negative",
		text: `description: x
seed: -1
poll:
  - status: PENDING
`,
		want: `test.yaml:2:7: "seed" must be a whole number from 0 to 18446744073709551615, not "-1"`,
	},
	{
		name: "seed too big",
		text: `description: x
seed: 18446744073709551616
poll:
  - status: PENDING
`,
		want: `test.yaml:2:7: "seed" must be a whole number from 0 to 18446744073709551615, not "18446744073709551616"`,
	},

	// Names.
	{
		name: "explicit name invalid",
		text: `name: Rate Limited
description: x
poll:
  - status: PENDING
`,
		want: `test.yaml:1:7: name "Rate Limited" is not allowed; use lowercase letters, digits and dashes, starting with a letter or digit`,
	},
	{
		name: "explicit name empty",
		text: `name: ""
description: x
poll:
  - status: PENDING
`,
		want: `test.yaml:1:7: name "" is not allowed; use lowercase letters, digits and dashes, starting with a letter or digit`,
	},
	{
		name: "explicit name starting with a dash",
		text: `name: -x
description: x
poll:
  - status: PENDING
`,
		want: `test.yaml:1:7: name "-x" is not allowed; use lowercase letters, digits and dashes, starting with a letter or digit`,
	},
	{
		name: "name a list",
		text: `name: [a]
description: x
poll:
  - status: PENDING
`,
		want: `test.yaml:1:7: "name" must be a string, not a list`,
	},
	{
		name: "file name does not make a name",
		file: "dir/Rate_Limited.yaml",
		text: `description: x
poll:
  - status: PENDING
`,
		want: `dir/Rate_Limited.yaml:1:1: file name "Rate_Limited.yaml" does not make a scenario name; add a "name" key of lowercase letters, digits and dashes`,
	},
	{
		name: "file name with two extensions",
		file: "a.yml.yaml",
		text: `description: x
poll:
  - status: PENDING
`,
		want: `a.yml.yaml:1:1: file name "a.yml.yaml" does not make a scenario name; add a "name" key of lowercase letters, digits and dashes`,
	},

	// Scripts.
	{
		name: "empty script",
		text: `description: x
poll: []
`,
		want: `test.yaml:2:7: "poll" script is empty; give at least one step, or leave the key out`,
	},
	{
		name: "script a mapping",
		text: `description: x
poll:
  status: PENDING
`,
		want: `test.yaml:3:3: "poll" must be a list of steps, not a mapping`,
	},
	{
		name: "step a scalar",
		text: `description: x
poll:
  - PENDING
`,
		want: `test.yaml:3:5: poll step 1 must be a mapping of keys (polls, for, forever, status, run_id, exception_reason, message, extra, error, fault, latency), not "PENDING"`,
	},
	{
		name: "forever step not last",
		text: `description: x
poll:
  - status: PENDING
  - status: PENDING
    polls: 1
  - status: SUCCESS
`,
		want: `test.yaml:3:5: poll step 1 lasts forever, so the 2 steps after it never play; give it "polls" or "for"`,
	},
	{
		name: "forever true not last",
		text: `description: x
poll:
  - status: PENDING
    forever: true
  - status: SUCCESS
`,
		want: `test.yaml:3:5: poll step 1 lasts forever, so the step after it never plays; give it "polls" or "for"`,
	},
	{
		name: "forever step not last in a result script",
		text: `description: x
poll:
  - status: SUCCESS
result:
  - normal: true
  - fault: truncated
`,
		want: `test.yaml:5:5: result step 1 lasts forever, so the step after it never plays; give it "polls" or "for"`,
	},
	{
		name: "last poll step has polls",
		text: `description: x
poll:
  - status: PENDING
    polls: 2
`,
		want: `test.yaml:3:5: the last poll step must last forever, since a task answers every poll; remove its "polls"`,
	},
	{
		name: "last poll step has for",
		text: `description: x
poll:
  - status: PENDING
    for: 2s
`,
		want: `test.yaml:3:5: the last poll step must last forever, since a task answers every poll; remove its "for"`,
	},

	// Step keys.
	{
		name: "unknown step key",
		text: `description: x
poll:
  - status: PENDING
    delay: 1s
`,
		want: `test.yaml:4:5: unknown key "delay" in poll step 1; allowed: polls, for, forever, status, run_id, exception_reason, message, extra, error, fault, latency`,
	},
	{
		name:   "misspelt status key",
		reason: "the misspelling is the one error: no follow-on that the step answers nothing",
		text: `description: x
poll:
  - Status: PENDING
`,
		want: `test.yaml:3:5: unknown key "Status" in poll step 1; did you mean "status"?`,
	},
	{
		name: "unknown key in a create step",
		text: `description: x
create:
  - status: PENDING
    polls: 1
poll:
  - status: SUCCESS
`,
		want: `test.yaml:3:13: create step 1 has a "status", but only poll steps serve a status; give "error", "fault" or "normal: true"`,
	},
	{
		name: "misspelt step key",
		text: `description: x
poll:
  - status: PENDING
    exception-reason: NONE
`,
		want: `test.yaml:4:5: unknown key "exception-reason" in poll step 1; did you mean "exception_reason"?`,
	},
	{
		name: "duplicate step key",
		text: `description: x
poll:
  - status: PENDING
    status: SUCCESS
`,
		want: `test.yaml:4:5: key "status" appears twice in poll step 1; give it once`,
	},
	{
		name: "polls a word",
		text: `description: x
poll:
  - status: PENDING
    polls: three
  - status: SUCCESS
`,
		want: `test.yaml:4:12: "polls" must be a whole number from 1 to 1000000000, not "three"`,
	},
	{
		name: "polls zero",
		text: `description: x
poll:
  - status: PENDING
    polls: 0
  - status: SUCCESS
`,
		want:   `test.yaml:4:12: "polls" must be a whole number from 1 to 1000000000, not "0"`,
		reason: "the step is not also reported as lasting forever",
	},
	{
		name: "polls in quotes",
		text: `description: x
poll:
  - status: PENDING
    polls: "3"
  - status: SUCCESS
`,
		want: `test.yaml:4:12: "polls" must be a whole number from 1 to 1000000000, not the string "3"; remove the quotes`,
	},
	{
		name: "polls a long string",
		text: `description: x
poll:
  - status: PENDING
    polls: ` + strings.Repeat("ab", 30) + `
  - status: SUCCESS
`,
		want:   `test.yaml:4:12: "polls" must be a whole number from 1 to 1000000000, not "abababababababababababababababababababab"...`,
		reason: "a long value is cut to 40 bytes",
	},
	{
		name: "for a number",
		text: `description: x
poll:
  - status: PENDING
    for: 2
  - status: SUCCESS
`,
		want: `test.yaml:4:10: "for" must be a duration such as 2s, 500ms or 1m30s, not "2"`,
	},
	{
		name: "for a word",
		text: `description: x
poll:
  - status: PENDING
    for: abc
  - status: SUCCESS
`,
		want: `test.yaml:4:10: "for" must be a duration such as 2s, 500ms or 1m30s, not "abc"`,
	},
	{
		name: "for zero",
		text: `description: x
poll:
  - status: PENDING
    for: 0s
  - status: SUCCESS
`,
		want: `test.yaml:4:10: "for" must be a duration above zero such as 2s or 1m30s, not "0s"`,
	},
	{
		name: "forever false",
		text: `description: x
poll:
  - status: PENDING
    forever: false
`,
		want: `test.yaml:4:14: "forever" can only be true; to end the step give "polls" or "for" instead`,
	},
	{
		name: "step with two durations",
		text: `description: x
poll:
  - status: PENDING
    polls: 2
    for: 5s
`,
		want:   `test.yaml:3:5: poll step 1 has both "polls" and "for"; give one`,
		reason: "the last step is not also reported for not lasting forever",
	},
	{
		name: "step with two answers",
		text: `description: x
poll:
  - status: PENDING
    fault: reset
`,
		want: `test.yaml:3:5: poll step 1 has both "status" and "fault"; give one of "status", "error" or "fault"`,
	},
	{
		name: "step with no answer",
		text: `description: x
poll:
  - polls: 1
  - status: PENDING
`,
		want: `test.yaml:3:5: poll step 1 answers nothing; give "status", "error" or "fault"`,
	},
	{
		name: "create step with no answer",
		text: `description: x
create:
  - latency: 1s
    polls: 1
poll:
  - status: PENDING
`,
		want: `test.yaml:3:5: create step 1 answers nothing; give "error", "fault" or "normal: true"`,
	},
	{
		name: "latency a word",
		text: `description: x
poll:
  - status: PENDING
    latency: fast
`,
		want: `test.yaml:4:14: "latency" must be a duration such as 2s, or a range such as 1s..3s, not "fast"`,
	},
	{
		name: "latency a number",
		text: `description: x
poll:
  - status: PENDING
    latency: 5
`,
		want: `test.yaml:4:14: "latency" must be a duration such as 2s, or a range such as 1s..3s, not "5"`,
	},
	{
		name: "latency range without an end",
		text: `description: x
poll:
  - status: PENDING
    latency: 1s..
`,
		want: `test.yaml:4:14: "latency" must be a duration such as 2s, or a range such as 1s..3s, not "1s.."`,
	},
	{
		name: "latency below zero",
		text: `description: x
poll:
  - status: PENDING
    latency: -1s
`,
		want: `test.yaml:4:14: "latency" -1s is below zero; give 0s or more`,
	},
	{
		name: "latency range backwards",
		text: `description: x
poll:
  - status: PENDING
    latency: 2s..1s
`,
		want: `test.yaml:4:14: "latency" range 2s..1s ends before it starts; write the smaller duration first`,
	},
	{
		name: "latency over an hour",
		text: `description: x
poll:
  - status: PENDING
    latency: 1s..61m
`,
		want: `test.yaml:4:14: "latency" 1s..61m is over an hour; give at most 1h`,
	},

	// Status steps. Which statuses exist is the spec's to say, so an
	// unknown one is Check's to refuse (TestLoadCheckErrors).
	{
		name: "status a list",
		text: `description: x
poll:
  - status: [PENDING]
`,
		want: `test.yaml:3:13: "status" must be a string, not a list`,
	},
	{
		name: "status in a create script",
		text: `description: x
create:
  - status: PENDING
    polls: 1
poll:
  - status: PENDING
`,
		want: `test.yaml:3:13: create step 1 has a "status", but only poll steps serve a status; give "error", "fault" or "normal: true"`,
	},
	{
		name: "normal in a poll script",
		text: `description: x
poll:
  - normal: true
`,
		want: `test.yaml:3:13: poll step 1 has "normal", but a poll has no normal answer; give "status", "error" or "fault"`,
	},
	{
		name: "normal false",
		text: `description: x
create:
  - normal: false
poll:
  - status: PENDING
`,
		want: `test.yaml:3:13: "normal" can only be true; give "error" or "fault" for another answer`,
	},
	{
		name: "run_id a string on-spec",
		text: `description: x
poll:
  - status: SUCCESS
    run_id: "1001"
`,
		want: `test.yaml:4:13: "run_id" must be auto, a whole number of 0 or more, or null, not the string "1001"; remove the quotes (off-spec scenarios may serve any value)`,
	},
	{
		name: "run_id auto in quotes on-spec",
		text: `description: x
poll:
  - status: SUCCESS
    run_id: "auto"
`,
		want: `test.yaml:4:13: "run_id" must be auto, a whole number of 0 or more, or null, not the string "auto"; remove the quotes (off-spec scenarios may serve any value)`,
	},
	{
		name: "run_id negative on-spec",
		text: `description: x
poll:
  - status: SUCCESS
    run_id: -5
`,
		want: `test.yaml:4:13: "run_id" must be auto, a whole number of 0 or more, or null, not "-5" (off-spec scenarios may serve any value)`,
	},
	{
		name: "run_id without status",
		text: `description: x
poll:
  - fault: reset
    run_id: 3
    polls: 1
  - status: SUCCESS
`,
		want: `test.yaml:4:13: "run_id" goes with "status"; add a status to the step or remove "run_id"`,
	},
	{
		name: "message a list",
		text: `description: x
poll:
  - status: ERROR
    message: [a, b]
`,
		want: `test.yaml:4:14: "message" must be a string, a mapping or null, not a list`,
	},
	{
		name: "message a number",
		text: `description: x
poll:
  - status: ERROR
    message: 42
`,
		want: `test.yaml:4:14: "message" must be a string, a mapping or null, not "42"`,
	},
	{
		name: "message with a duplicate key",
		text: `description: x
poll:
  - status: ERROR
    message: {code: 1, code: 2}
`,
		want: `test.yaml:4:24: key "code" appears twice in "message"; give it once`,
	},
	{
		name: "extra a list",
		text: `description: x
poll:
  - status: SUCCESS
    extra: [1]
`,
		want: `test.yaml:4:12: "extra" must be a mapping of field names to values, not a list`,
	},
	{
		name: "extra names a reply field",
		text: `description: x
poll:
  - status: SUCCESS
    extra:
      status: done
`,
		want: `test.yaml:5:7: extra field "status" is one of the reply's own fields; set it with its own key`,
	},
	{
		name: "extra field name a list",
		text: `description: x
poll:
  - status: SUCCESS
    extra:
      [a]: 1
`,
		want: `test.yaml:5:7: extra field names must be strings, not a list`,
	},
	{
		name: "message key a list",
		text: `description: x
poll:
  - status: ERROR
    message: {a: {[1, 2]: x}}
`,
		want: `test.yaml:4:19: keys in "message" must be strings or numbers, not a list`,
	},
	{
		name: "message key null",
		text: `description: x
poll:
  - status: ERROR
    message: {~: x}
`,
		want: `test.yaml:4:15: keys in "message" must be strings or numbers, not null`,
	},
	{
		name: "extra value that YAML cannot read",
		text: `description: x
poll:
  - status: SUCCESS
    extra:
      count: !!int many
`,
		want: "test.yaml:5:14: \"extra\" cannot be read: cannot construct !!str `many` as a !!int",
	},

	// Error steps.
	{
		name: "unknown key inside error",
		text: `description: x
poll:
  - error:
      code: 500
      status: 500
    polls: 1
  - status: PENDING
`,
		want: `test.yaml:5:7: unknown key "status" in poll step 1 error; allowed: code, headers, body`,
	},
	{
		name: "misspelt key inside error",
		text: `description: x
poll:
  - error:
      code: 500
      header: {X-A: b}
    polls: 1
  - status: PENDING
`,
		want: `test.yaml:5:7: unknown key "header" in poll step 1 error; did you mean "headers"?`,
	},
	{
		name: "error not a mapping",
		text: `description: x
poll:
  - error: 500
    polls: 1
  - status: PENDING
`,
		want: `test.yaml:3:12: "error" must be a mapping of code, headers, body, not "500"`,
	},
	{
		name: "error code missing",
		text: `description: x
poll:
  - error:
      body: oops
    polls: 1
  - status: PENDING
`,
		want: `test.yaml:4:7: poll step 1 error has no "code"; give an HTTP status from 400 to 599`,
	},
	{
		name: "error code 200",
		text: `description: x
poll:
  - error:
      code: 200
    polls: 1
  - status: PENDING
`,
		want: `test.yaml:4:13: error "code" must be an HTTP error status from 400 to 599, not "200"`,
	},
	{
		name: "error code 600",
		text: `description: x
poll:
  - error:
      code: 600
    polls: 1
  - status: PENDING
`,
		want: `test.yaml:4:13: error "code" must be an HTTP error status from 400 to 599, not "600"`,
	},
	{
		name: "error code in quotes",
		text: `description: x
poll:
  - error:
      code: "429"
    polls: 1
  - status: PENDING
`,
		want: `test.yaml:4:13: error "code" must be an HTTP error status from 400 to 599, not the string "429"; remove the quotes`,
	},
	{
		name: "header with a bad name",
		text: `description: x
poll:
  - error:
      code: 429
      headers:
        Retry After: "1"
    polls: 1
  - status: PENDING
`,
		want: `test.yaml:6:9: header name "Retry After" is not a valid HTTP header name`,
	},
	{
		name: "header with a list value",
		text: `description: x
poll:
  - error:
      code: 429
      headers:
        Retry-After: [1, 2]
    polls: 1
  - status: PENDING
`,
		want: `test.yaml:6:22: header "Retry-After" must have a single value, not a list`,
	},
	{
		name: "header with a line break",
		text: `description: x
poll:
  - error:
      code: 429
      headers:
        Retry-After: "1\r\nX-Evil: 1"
    polls: 1
  - status: PENDING
`,
		want: `test.yaml:6:22: header "Retry-After" has a line break in its value; give one line`,
	},
	{
		name: "header twice in two cases",
		text: `description: x
poll:
  - error:
      code: 429
      headers:
        Retry-After: ""
        retry-after: "2"
    polls: 1
  - status: PENDING
`,
		want: `test.yaml:7:9: header "retry-after" appears twice; give it once`,
	},
	{
		name: "body a mapping",
		text: `description: x
poll:
  - error:
      code: 500
      body: {detail: x}
    polls: 1
  - status: PENDING
`,
		want: `test.yaml:5:13: "body" must be a string, not a mapping`,
	},

	// Faults.
	{
		name: "unknown fault",
		text: `description: x
poll:
  - fault: explode
    polls: 1
  - status: PENDING
`,
		want: `test.yaml:3:12: unknown fault "explode"; allowed: reset, empty, malformed-json, truncated, hang`,
	},
	{
		name: "empty fault",
		text: `description: x
poll:
  - fault: ""
`,
		want: `test.yaml:3:12: unknown fault ""; allowed: reset, empty, malformed-json, truncated, hang`,
	},

	// Many problems at once.
	{
		name: "several errors in one file",
		text: `colour: red
poll:
  - status: NOPE
    polls: 0
  - status: PENDING
    error: {code: 700}
  - status: SUCCESS
    latency: soon
`,
		want: `test.yaml:1:1: unknown key "colour" in scenario; allowed: name, description, off_spec, seed, create, poll, result
test.yaml:1:1: scenario has no "description"; say in one line what it plays
test.yaml:4:12: "polls" must be a whole number from 1 to 1000000000, not "0"
test.yaml:5:5: poll step 2 has both "status" and "error"; give one of "status", "error" or "fault"
test.yaml:5:5: poll step 2 lasts forever, so the step after it never plays; give it "polls" or "for"
test.yaml:6:19: error "code" must be an HTTP error status from 400 to 599, not "700"
test.yaml:8:14: "latency" must be a duration such as 2s, or a range such as 1s..3s, not "soon"`,
		reason: "every problem is reported, in the order of the file; the unknown status NOPE is Check's to report",
	},
}

func TestParseErrors(t *testing.T) {
	for _, tc := range parseErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			file := tc.file
			if file == "" {
				file = "test.yaml"
			}
			sc, err := scenarios.Parse(file, []byte(tc.text))
			if err == nil {
				t.Fatalf("Parse(%q, ...) = %q, nil; want error %q", file, sc.Name, tc.want)
			}
			if sc != nil {
				t.Errorf("Parse(%q, ...) returned a scenario with its error", file)
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("Parse(%q, ...) mismatch (-want +got):\n%s", file, diff)
				if tc.reason != "" {
					t.Logf("reason: %s", tc.reason)
				}
			}
		})
	}
}

func TestParseLoadErrorFields(t *testing.T) {
	const text = `description: x
poll:
  - status: PENDING
    polls: many
  - status: SUCCESS
`
	_, err := scenarios.Parse("dir/file.yaml", []byte(text))
	var le *scenarios.LoadError
	if !errors.As(err, &le) {
		t.Fatalf("Parse(...) = %v; want a *LoadError", err)
	}
	got := struct {
		File         string
		Line, Column int
		Err          string
	}{le.File, le.Line, le.Column, le.Err.Error()}
	want := struct {
		File         string
		Line, Column int
		Err          string
	}{"dir/file.yaml", 4, 12, `"polls" must be a whole number from 1 to 1000000000, not "many"`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse(...) LoadError mismatch (-want +got):\n%s", diff)
	}
	if errors.Unwrap(le) != le.Err {
		t.Errorf("(*LoadError).Unwrap() = %v; want its Err %v", errors.Unwrap(le), le.Err)
	}
}

func TestParseJoinsLoadErrors(t *testing.T) {
	const text = `description: x
oops: 1
poll:
  - status: PENDING
    latency: soon
`
	_, err := scenarios.Parse("f.yaml", []byte(text))
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("Parse(...) = %T; want an errors.Join of two errors", err)
	}
	var got [][2]int
	for _, e := range joined.Unwrap() {
		le, ok := e.(*scenarios.LoadError)
		if !ok {
			t.Fatalf("joined error %T; want *scenarios.LoadError", e)
		}
		got = append(got, [2]int{le.Line, le.Column})
	}
	want := [][2]int{{2, 1}, {5, 14}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse(...) error positions mismatch (-want +got):\n%s", diff)
	}
}

func TestLoadErrorMessage(t *testing.T) {
	cause := errors.New("something is wrong")
	tests := []struct {
		name string
		err  *scenarios.LoadError
		want string
	}{
		{"file only", &scenarios.LoadError{File: "a.yaml", Err: cause}, "a.yaml: something is wrong"},
		{"line", &scenarios.LoadError{File: "a.yaml", Line: 3, Err: cause}, "a.yaml:3: something is wrong"},
		{"line and column", &scenarios.LoadError{File: "a.yaml", Line: 3, Column: 7, Err: cause}, "a.yaml:3:7: something is wrong"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.err.Error()); diff != "" {
				t.Errorf("Error() mismatch (-want +got):\n%s", diff)
			}
			if !errors.Is(tc.err, cause) {
				t.Errorf("errors.Is(%v, cause) = false; want true", tc.err)
			}
		})
	}
}

func TestParseOffSpecAllows(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		reply scenarios.Reply
	}{
		{
			name: "unknown status",
			text: `description: x
off_spec: true
poll:
  - status: FAILED
    message: Sound generation failed.
`,
			reply: scenarios.Reply{Status: "FAILED", Message: json.RawMessage(`"Sound generation failed."`)},
		},
		{
			name: "run_id a string",
			text: `description: x
off_spec: true
poll:
  - status: SUCCESS
    run_id: "1001"
`,
			reply: scenarios.Reply{Status: "SUCCESS", RunID: scenarios.RunID{Value: json.RawMessage(`"1001"`)}},
		},
		{
			name: "run_id auto in quotes is a string",
			text: `description: x
off_spec: true
poll:
  - status: SUCCESS
    run_id: "auto"
`,
			reply: scenarios.Reply{Status: "SUCCESS", RunID: scenarios.RunID{Value: json.RawMessage(`"auto"`)}},
		},
		{
			name: "run_id negative",
			text: `description: x
off_spec: true
poll:
  - status: SUCCESS
    run_id: -1
`,
			reply: scenarios.Reply{Status: "SUCCESS", RunID: scenarios.RunID{Value: json.RawMessage(`-1`)}},
		},
		{
			name: "run_id a float",
			text: `description: x
off_spec: true
poll:
  - status: SUCCESS
    run_id: 1.5
`,
			reply: scenarios.Reply{Status: "SUCCESS", RunID: scenarios.RunID{Value: json.RawMessage(`1.5`)}},
		},
		{
			name: "empty status",
			text: `description: x
off_spec: true
poll:
  - status: ""
`,
			reply: scenarios.Reply{Status: ""},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := scenarios.Parse("x.yaml", []byte(tc.text))
			if err != nil {
				t.Fatalf("Parse(...) error: %v", err)
			}
			if len(sc.Poll) != 1 || sc.Poll[0].Reply == nil {
				t.Fatalf("Parse(...) poll script = %+v; want one status step", sc.Poll)
			}
			if diff := cmp.Diff(&tc.reply, sc.Poll[0].Reply, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(scenarios.Reply{}, "Line", "Column")); diff != "" {
				t.Errorf("Parse(...) reply mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseMaxFileSize(t *testing.T) {
	const text = "description: x\npoll:\n  - status: PENDING\n"
	pad := func(n int) []byte {
		b := []byte(text + "#")
		for len(b) < n-1 {
			b = append(b, 'x')
		}
		return append(b, '\n')
	}
	if _, err := scenarios.Parse("x.yaml", pad(scenarios.MaxFileSize)); err != nil {
		t.Errorf("Parse of a file of exactly MaxFileSize bytes: %v", err)
	}
	_, err := scenarios.Parse("x.yaml", pad(scenarios.MaxFileSize+1))
	want := "x.yaml: file is 1048577 bytes; a scenario file may have at most 1048576"
	if err == nil || err.Error() != want {
		t.Errorf("Parse of a file one byte over MaxFileSize = %v; want %q", err, want)
	}
}

func TestParseNames(t *testing.T) {
	const body = "description: x\npoll:\n  - status: PENDING\n"
	tests := []struct {
		file, text, want string
	}{
		{"plain.yaml", body, "plain"},
		{"short.yml", body, "short"},
		{"dir/sub/nested.yaml", body, "nested"},
		{`dir\windows.yaml`, body, "windows"},
		{"0-digit-first.yaml", body, "0-digit-first"},
		{"Bad_File.yaml", "name: good\n" + body, "good"},
		{"noext", body, "noext"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			sc, err := scenarios.Parse(tc.file, []byte(tc.text))
			if err != nil {
				t.Fatalf("Parse(%q, ...) error: %v", tc.file, err)
			}
			if sc.Name != tc.want || sc.File != tc.file {
				t.Errorf("Parse(%q, ...) = Name %q, File %q; want Name %q, File %q", tc.file, sc.Name, sc.File, tc.want, tc.file)
			}
		})
	}
}

// TestParseWhole parses a file that uses every key and compares the whole
// scenario.
func TestParseWhole(t *testing.T) {
	const text = `name: everything
description: "  every key, once  "
off_spec: false
seed: 0x10
create:
  - error:
      code: 503
      headers:
        retry-after: "2"
      body: <html>busy</html>
    polls: 2
    latency: 10ms
  - normal: true
    for: 1m
  - fault: reset
    forever: true
poll:
  - status: PENDING
    polls: 1
    latency: 1ms..5ms
    message: {stage: queued, eta: 3.5}
    extra:
      progress: 0
      queue: [a, b]
  - error:
      code: 422
    for: 90s
  - error:
      code: 404
      body: not here
    polls: 1
  - fault: hang
    polls: 3
  - status: ERROR
    run_id: 7
    exception_reason: PROCESSING_ERROR
    message: broke
result:
  - error:
      code: 500
      headers:
        Content-Type: application/problem+json
    polls: 1
  - status: SUCCESS
    polls: 1
`
	_, err := scenarios.Parse("every.yaml", []byte(text))
	wantErr := `every.yaml:44:13: result step 2 has a "status", but only poll steps serve a status; give "error", "fault" or "normal: true"`
	if err == nil || err.Error() != wantErr {
		t.Fatalf("Parse(...) = %v; want %q", err, wantErr)
	}
	fixed := strings.Replace(text, "  - status: SUCCESS\n    polls: 1\n", "  - fault: truncated\n    polls: 1\n", 1)
	sc, err := scenarios.Parse("every.yaml", []byte(fixed))
	if err != nil {
		t.Fatalf("Parse(...) error: %v", err)
	}
	want := &scenarios.Scenario{
		Name:        "everything",
		Description: "every key, once",
		Seed:        16,
		File:        "every.yaml",
		Create: scenarios.Script{
			{
				Polls: 2,
				Error: &scenarios.HTTPError{
					Code:   503,
					Header: http.Header{"Retry-After": {"2"}, "Content-Type": {"text/html; charset=utf-8"}},
					Body:   "<html>busy</html>",
				},
				Latency: scenarios.Latency{Min: 10 * time.Millisecond, Max: 10 * time.Millisecond},
				Line:    6, Column: 5,
			},
			{For: time.Minute, Normal: true, Line: 13, Column: 5},
			{Fault: scenarios.FaultReset, Line: 15, Column: 5},
		},
		Poll: scenarios.Script{
			{
				Polls: 1,
				Reply: &scenarios.Reply{
					Status:  "PENDING",
					Message: json.RawMessage(`{"eta":3.5,"stage":"queued"}`),
					Extra: map[string]json.RawMessage{
						"progress": json.RawMessage(`0`),
						"queue":    json.RawMessage(`["a","b"]`),
					},
					Line: 18, Column: 13,
				},
				Latency: scenarios.Latency{Min: time.Millisecond, Max: 5 * time.Millisecond},
				Line:    18, Column: 5,
			},
			{
				For: 90 * time.Second,
				Error: &scenarios.HTTPError{
					Code:   422,
					Header: http.Header{"Content-Type": {"application/json"}},
					Body:   `{"detail":[{"loc":["body"],"msg":"Invalid request","type":"value_error"}]}`,
				},
				Line: 25, Column: 5,
			},
			{
				Polls: 1,
				Error: &scenarios.HTTPError{
					Code:   404,
					Header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
					Body:   "not here",
				},
				Line: 28, Column: 5,
			},
			{Polls: 3, Fault: scenarios.FaultHang, Line: 32, Column: 5},
			{
				Reply: &scenarios.Reply{
					Status:          "ERROR",
					RunID:           scenarios.RunID{Value: json.RawMessage(`7`)},
					ExceptionReason: "PROCESSING_ERROR",
					Message:         json.RawMessage(`"broke"`),
					Line:            34, Column: 13,
				},
				Line: 34, Column: 5,
			},
		},
		Result: scenarios.Script{
			{
				Polls: 1,
				Error: &scenarios.HTTPError{
					Code:   500,
					Header: http.Header{"Content-Type": {"application/problem+json"}},
					Body:   `{"detail":"Internal Server Error"}`,
				},
				Line: 39, Column: 5,
			},
			{Polls: 1, Fault: scenarios.FaultTruncated, Line: 44, Column: 5},
		},
	}
	if diff := cmp.Diff(want, sc, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Parse(...) mismatch (-want +got):\n%s", diff)
	}
}

func TestParseRunIDDefaults(t *testing.T) {
	const text = `description: x
poll:
  - status: PENDING
    polls: 1
  - status: SUCCESS
    run_id: null
    polls: 1
  - status: SUCCESS
    polls: 1
  - status: SUCCESS
    run_id: 0
    polls: 1
  - status: ERROR
    run_id: auto
`
	sc, err := scenarios.Parse("x.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	var got []scenarios.RunID
	for _, st := range sc.Poll {
		got = append(got, st.Reply.RunID)
	}
	want := []scenarios.RunID{
		{},                            // PENDING: null
		{},                            // SUCCESS with run_id: null
		{Auto: true},                  // SUCCESS: auto
		{Value: json.RawMessage(`0`)}, // a fixed id
		{Auto: true},                  // auto on any status
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse(...) run ids mismatch (-want +got):\n%s", diff)
	}
}

// TestErrorHeaderCanonical checks that parsed error headers are keyed the
// way net/http keys them, so Header.Get finds them.
func TestErrorHeaderCanonical(t *testing.T) {
	sc, err := scenarios.Parse("x.yaml", []byte(`description: x
poll:
  - error:
      code: 429
      headers:
        retry-after: "3"
        x-request-id: abc
    polls: 1
  - status: SUCCESS
`))
	if err != nil {
		t.Fatal(err)
	}
	want := http.Header{"Retry-After": {"3"}, "X-Request-Id": {"abc"}, "Content-Type": {"application/json"}}
	if diff := cmp.Diff(want, sc.Poll[0].Error.Header); diff != "" {
		t.Errorf("error headers mismatch (-want +got):\n%s", diff)
	}
}

// TestParseJSONValues checks how YAML values in message and extra become
// the JSON the status endpoint serves.
func TestParseJSONValues(t *testing.T) {
	tests := []struct {
		name string
		yaml string // the step's message and extra keys
		want string // the reply's body
	}{
		{
			name: "message string",
			yaml: `message: "It said \"no\"."`,
			want: `{"status":"ERROR","run_id":null,"exception_reason":null,"message":"It said \"no\"."}`,
		},
		{
			name: "message null",
			yaml: `message: null`,
			want: `{"status":"ERROR","run_id":null,"exception_reason":null,"message":null}`,
		},
		{
			name: "message mapping",
			yaml: `message: {text: no, code: 3, nested: {ok: false, list: [1, 2.5, null]}}`,
			want: `{"status":"ERROR","run_id":null,"exception_reason":null,"message":{"code":3,"nested":{"list":[1,2.5,null],"ok":false},"text":"no"}}`,
		},
		{
			name: "extra values",
			yaml: "extra:\n      progress: 40\n      done: false\n      tags: [a, b]\n      at: !!timestamp 2026-01-02\n      raw: !!binary aGk=\n      \"\": empty name\n      7: numeric name",
			want: `{"status":"ERROR","run_id":null,"exception_reason":null,"message":null,"":"empty name","7":"numeric name","at":"2026-01-02T00:00:00Z","done":false,"progress":40,"raw":"hi","tags":["a","b"]}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text := "description: x\npoll:\n  - status: ERROR\n    " + tc.yaml + "\n"
			sc, err := scenarios.Parse("x.yaml", []byte(text))
			if err != nil {
				t.Fatalf("Parse(...) error: %v", err)
			}
			if diff := cmp.Diff(tc.want, string(sc.Poll[0].Reply.Body(1))); diff != "" {
				t.Errorf("Body mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
