package cambmock_test

import (
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
