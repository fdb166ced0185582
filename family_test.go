package cambmock_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock"
)

// TestFamily reads the kinds, roles, statuses and base path of the
// embedded openapi.yaml from its extensions.
func TestFamily(t *testing.T) {
	spec := loadSpec(t)
	if got, want := spec.BasePath(), "/apis"; got != want {
		t.Errorf("BasePath() = %q, want %q", got, want)
	}
	if got, want := spec.APIKeyHeader(), "x-api-key"; got != want {
		t.Errorf("APIKeyHeader() = %q, want %q", got, want)
	}
	if got := spec.DefaultKind(); got == nil || got.Name != "text-to-sound" {
		t.Fatalf("DefaultKind() = %v, want text-to-sound", got)
	}
	k := spec.Kind("text-to-sound")
	got := map[cambmock.Role]string{}
	for _, op := range k.Operations() {
		got[op.Role] = op.Method + " " + op.Path + " " + op.ID + " " + op.Param
	}
	want := map[cambmock.Role]string{
		cambmock.RoleCreate: "POST /text-to-sound createTextToSound ",
		cambmock.RoleStatus: "GET /text-to-sound/{task_id} getTextToSoundStatus task_id",
		cambmock.RoleResult: "GET /text-to-sound-result/{run_id} getTextToSoundResult run_id",
		cambmock.RoleBulk:   "POST /text-to-sound-results getTextToSoundResults ",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("text-to-sound operations mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]cambmock.Status{"PENDING"}, spec.InProgressStatuses()); diff != "" {
		t.Errorf("InProgressStatuses() mismatch (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		status          cambmock.Status
		known, terminal bool
	}{
		{"PENDING", true, false}, {"SUCCESS", true, true}, {"PAYMENT_REQUIRED", true, true}, {"FAILED", false, true},
	} {
		if spec.KnownStatus(tc.status) != tc.known || spec.Terminal(tc.status) != tc.terminal {
			t.Errorf("%s: known %v, terminal %v; want %v, %v", tc.status, spec.KnownStatus(tc.status), spec.Terminal(tc.status), tc.known, tc.terminal)
		}
	}
	sec, max, fixed := k.Create.AudioLength.Seconds(map[string]any{"duration": 3.0, "audio_type": "sound"})
	if sec != 3 || max != 10 || fixed {
		t.Errorf("sound of 3 s: Seconds() = %v, %v, %v; want 3, 10, false", sec, max, fixed)
	}
	sec, max, fixed = k.Create.AudioLength.Seconds(map[string]any{"duration": 12.0, "audio_type": "music"})
	if sec != 30 || max != 0 || !fixed {
		t.Errorf("music: Seconds() = %v, %v, %v; want 30, 0, true", sec, max, fixed)
	}
	if got := k.Status.URL("a b"); got != "/text-to-sound/a%20b" {
		t.Errorf("Status.URL(%q) = %q", "a b", got)
	}
}

// TestFamilyFromAnEditedSpec: a status added to TaskStatus and to its
// x-in-progress-statuses is known and in progress; a spec the mock cannot
// serve is refused with a message naming what is missing.
func TestFamilyFromAnEditedSpec(t *testing.T) {
	yaml := string(cambmock.SpecYAML())
	queued := strings.Replace(yaml, "enum: [SUCCESS, PENDING, TIMEOUT, ERROR, PAYMENT_REQUIRED]\n      x-in-progress-statuses: [PENDING]",
		"enum: [SUCCESS, QUEUED, PENDING, TIMEOUT, ERROR, PAYMENT_REQUIRED]\n      x-in-progress-statuses: [QUEUED, PENDING]", 1)
	spec, err := cambmock.ParseSpec([]byte(queued))
	if err != nil {
		t.Fatal(err)
	}
	if !spec.KnownStatus("QUEUED") || !spec.InProgress("QUEUED") || spec.Terminal("QUEUED") {
		t.Errorf("QUEUED: known %v, in progress %v; want both", spec.KnownStatus("QUEUED"), spec.InProgress("QUEUED"))
	}

	for _, tc := range []struct {
		name, from, to, want string
	}{
		{"no create", "        kind: text-to-sound\n        role: create\n", "        kind: text-to-sound\n        role: bulk\n",
			"kind text-to-sound has no create operation"},
		{"no in-progress list", "      x-in-progress-statuses: [PENDING]\n", "",
			"components.schemas.TaskStatus: no x-in-progress-statuses"},
		{"unknown in-progress status", "x-in-progress-statuses: [PENDING]", "x-in-progress-statuses: [WAITING]",
			"x-in-progress-statuses names WAITING, which its enum does not list"},
		{"bad role", "        role: status\n", "        role: poll\n", `x-cambmock role "poll" is not one of create, status, result, bulk`},
		{"unknown key", "        role: status\n", "        role: status\n        rolee: x\n", `x-cambmock: json: unknown field "rolee"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			edited := strings.Replace(yaml, tc.from, tc.to, 1)
			if edited == yaml {
				t.Fatalf("the edit %q found nothing to change", tc.from)
			}
			_, err := cambmock.ParseSpec([]byte(edited))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseSpec() error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestFamilyKinds: every kind of camb.ai's polled-task family is declared
// with the operations @camb-ai/sdk 1.0.1 calls, by their exact paths, and
// with the x-cambmock extras the mock needs.
func TestFamilyKinds(t *testing.T) {
	spec := loadSpec(t)
	type extras struct {
		JSONWhen    map[string]string
		AlsoKinds   []string
		AudioLength *cambmock.AudioLength
	}
	tests := []struct {
		kind string
		ops  map[cambmock.Role]string // "METHOD path operationId"
		// extras of the create, result and bulk operations that have any
		create, result *extras
	}{
		{kind: "text-to-sound", ops: map[cambmock.Role]string{
			cambmock.RoleCreate: "POST /text-to-sound createTextToSound",
			cambmock.RoleStatus: "GET /text-to-sound/{task_id} getTextToSoundStatus",
			cambmock.RoleResult: "GET /text-to-sound-result/{run_id} getTextToSoundResult",
			cambmock.RoleBulk:   "POST /text-to-sound-results getTextToSoundResults",
		},
			create: &extras{AudioLength: &cambmock.AudioLength{Field: "duration", Default: 8, Max: 10,
				Cases: []cambmock.AudioCase{{When: map[string]string{"audio_type": "music"}, Fixed: 30}}}},
			result: &extras{JSONWhen: map[string]string{"output_type": "FILE_URL"}}},
		{kind: "tts", ops: map[cambmock.Role]string{
			cambmock.RoleCreate: "POST /tts createTts",
			cambmock.RoleStatus: "GET /tts/{task_id} getTtsStatus",
			cambmock.RoleResult: "GET /tts-result/{run_id} getTtsResult",
			cambmock.RoleBulk:   "POST /tts-results getTtsResults",
		},
			create: &extras{AudioLength: &cambmock.AudioLength{Default: 3}},
			result: &extras{JSONWhen: map[string]string{"output_type": "file_url"}, AlsoKinds: []string{"translated-tts"}}},
		{kind: "text-to-voice", ops: map[cambmock.Role]string{
			cambmock.RoleCreate: "POST /text-to-voice createTextToVoice",
			cambmock.RoleStatus: "GET /text-to-voice/{task_id} getTextToVoiceStatus",
			cambmock.RoleResult: "GET /text-to-voice-result/{run_id} getTextToVoiceResult",
		},
			create: &extras{AudioLength: &cambmock.AudioLength{Default: 5}}},
		{kind: "audio-separation", ops: map[cambmock.Role]string{
			cambmock.RoleCreate: "POST /audio-separation createAudioSeparation",
			cambmock.RoleStatus: "GET /audio-separation/{task_id} getAudioSeparationStatus",
			cambmock.RoleResult: "GET /audio-separation-result/{run_id} getAudioSeparationResult",
			cambmock.RoleBulk:   "POST /audio-separation-results getAudioSeparationResults",
		},
			create: &extras{AudioLength: &cambmock.AudioLength{Default: 10}}},
		{kind: "dub", ops: map[cambmock.Role]string{
			cambmock.RoleCreate: "POST /dub createDub",
			cambmock.RoleStatus: "GET /dub/{task_id} getDubStatus",
			cambmock.RoleResult: "GET /dub-result/{run_id} getDubResult",
			cambmock.RoleBulk:   "POST /dubbing-results getDubResults",
		},
			create: &extras{AudioLength: &cambmock.AudioLength{Default: 10}}},
		{kind: "transcription", ops: map[cambmock.Role]string{
			cambmock.RoleCreate: "POST /transcribe createTranscription",
			cambmock.RoleStatus: "GET /transcribe/{task_id} getTranscriptionStatus",
			cambmock.RoleResult: "GET /transcription-result/{run_id} getTranscriptionResult",
			cambmock.RoleBulk:   "POST /transcription-results getTranscriptionResults",
		}},
		{kind: "translation", ops: map[cambmock.Role]string{
			cambmock.RoleCreate: "POST /translate createTranslation",
			cambmock.RoleStatus: "GET /translate/{task_id} getTranslationStatus",
			cambmock.RoleResult: "GET /translation-result/{run_id} getTranslationResult",
			cambmock.RoleBulk:   "POST /translation-results getTranslationResults",
		},
			result: &extras{AlsoKinds: []string{"translated-tts"}}},
		{kind: "translated-tts", ops: map[cambmock.Role]string{
			cambmock.RoleCreate: "POST /translated-tts createTranslatedTts",
			cambmock.RoleStatus: "GET /translated-tts/{task_id} getTranslatedTtsStatus",
		},
			create: &extras{AudioLength: &cambmock.AudioLength{Default: 3}}},
	}
	var names []string
	for _, tt := range tests {
		names = append(names, tt.kind)
		t.Run(tt.kind, func(t *testing.T) {
			k := spec.Kind(tt.kind)
			if k == nil {
				t.Fatalf("Kind(%q) = nil", tt.kind)
			}
			got := map[cambmock.Role]string{}
			for _, op := range k.Operations() {
				got[op.Role] = op.Method + " " + op.Path + " " + op.ID
			}
			if diff := cmp.Diff(tt.ops, got); diff != "" {
				t.Errorf("Kind(%q) operations mismatch (-want +got):\n%s", tt.kind, diff)
			}
			extrasOf := func(op *cambmock.Operation) *extras {
				if op == nil || (op.JSONWhen == nil && op.AlsoKinds == nil && op.AudioLength == nil) {
					return nil
				}
				return &extras{JSONWhen: op.JSONWhen, AlsoKinds: op.AlsoKinds, AudioLength: op.AudioLength}
			}
			if diff := cmp.Diff(tt.create, extrasOf(k.Create)); diff != "" {
				t.Errorf("Kind(%q).Create x-cambmock mismatch (-want +got):\n%s", tt.kind, diff)
			}
			if diff := cmp.Diff(tt.result, extrasOf(k.Result)); diff != "" {
				t.Errorf("Kind(%q).Result x-cambmock mismatch (-want +got):\n%s", tt.kind, diff)
			}
			if got := extrasOf(k.Bulk); got != nil {
				t.Errorf("Kind(%q).Bulk has x-cambmock extras %+v; want none", tt.kind, got)
			}
		})
	}
	var got []string
	for _, k := range spec.Kinds() {
		got = append(got, k.Name)
	}
	slices.Sort(names)
	if diff := cmp.Diff(names, got); diff != "" {
		t.Errorf("Kinds() mismatch (-want +got):\n%s", diff)
	}
}

// TestJSONWhenNamesADeclaredValue: the query a result's json-when names is
// a declared parameter of that operation, and the value is one it allows.
func TestJSONWhenNamesADeclaredValue(t *testing.T) {
	spec := loadSpec(t)
	for _, k := range spec.Kinds() {
		if k.Result == nil || k.Result.JSONWhen == nil {
			continue
		}
		for name, value := range k.Result.JSONWhen {
			p := k.Result.Op.Parameters.GetByInAndName("query", name)
			if p == nil {
				t.Errorf("%s: json-when names query %s, which the operation does not declare", k.Result.ID, name)
				continue
			}
			if err := p.Schema.Value.VisitJSON(value); err != nil {
				t.Errorf("%s: json-when %s=%s is not a value the parameter allows: %v", k.Result.ID, name, value, err)
			}
			if k.Result.Op.Responses.Status(200).Value.Content.Get("application/json") == nil {
				t.Errorf("%s: json-when is given but the 200 answer has no JSON", k.Result.ID)
			}
		}
	}
}
