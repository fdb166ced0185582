package contract_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/contract"
	"github.com/cambmock/cambmock/mockserver"
)

// answer is an answer of the mock that a defect may rewrite, with the
// body of the request it answers.
type answer struct {
	request []byte
	code    int
	header  http.Header
	body    []byte
}

// brokenMock serves the mock (newMock, on its manual clock) over real HTTP
// through defect, which may rewrite each answer before it goes out: a
// target broken in one way on one kind of task. It returns a Target of
// the kinds given, creating tasks of the success scenario.
func brokenMock(t *testing.T, kinds []string, defect func(r *http.Request, a *answer)) contract.Target {
	t.Helper()
	ts := newMock(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		request, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(request))
		rec := httptest.NewRecorder()
		ts.Server().ServeHTTP(rec, r)
		a := &answer{request: request, code: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
		defect(r, a)
		for k, v := range a.header {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(a.code)
		w.Write(a.body)
	}))
	t.Cleanup(srv.Close)
	return contract.Target{
		BaseURL:      srv.URL + "/apis",
		APIKey:       testKey,
		Kinds:        kinds,
		Client:       &http.Client{Timeout: 5 * time.Second},
		AllowSpend:   true,
		PendingBound: 2 * time.Minute,
		Sleep: func(ctx context.Context, d time.Duration) error {
			_, err := ts.Clock().Advance(d)
			return err
		},
	}
}

// is reports whether r is a request of method for a path of the API
// matching the regular expression path (anchored), with the query given
// ("" for none, "*" for any).
func is(r *http.Request, method, path, query string) bool {
	rel := strings.TrimPrefix(r.URL.Path, "/apis")
	return r.Method == method && regexp.MustCompile("^"+path+"$").MatchString(rel) && (query == "*" || r.URL.RawQuery == query)
}

// TestKindVerdicts breaks the mock in one way on one kind of task (or
// two), over real HTTP, and checks that the verdict names the right
// check of the right kind, and says why.
func TestKindVerdicts(t *testing.T) {
	tests := []struct {
		name   string
		kinds  []string
		defect func(r *http.Request, a *answer)
		want   []string // the IDs of the results that fail
		id     string   // one of them, or a result that passes with a warning
		text   string   // in one of its failures' problems, or in a warning
	}{
		{
			name:  "a kind the target does not serve",
			kinds: []string{"text-to-sound", "tts"},
			defect: func(r *http.Request, a *answer) {
				if strings.Contains(r.URL.Path, "/tts") {
					a.code, a.header, a.body = 404, http.Header{"Content-Type": {"application/json"}}, []byte(`{"detail":"Not Found"}`)
				}
			},
			want: []string{"tts/auth-missing-key", "tts/auth-wrong-key", "tts/unknown-task", "tts/unknown-run", "tts/invalid-create-body"},
			id:   "tts/unknown-task",
			text: "no operation of tts tasks answers at the target: every request for them got 404 or 405 (GET /tts/{task_id} 404, GET /tts-result/{run_id} 404, POST /tts 404)",
		},
		{
			name:  "tts accepts a request without a key",
			kinds: []string{"tts"},
			defect: func(r *http.Request, a *answer) {
				if is(r, "GET", "/tts/.*", "") && r.Header.Get("X-Api-Key") == "" {
					a.code, a.body = 404, []byte(`{"detail":"Task not found"}`)
				}
			},
			want: []string{"tts/auth-missing-key"},
			id:   "tts/auth-missing-key",
			text: "a request without a key got 404, not 401 or 403",
		},
		{
			name:  "tts audio labelled FLAC",
			kinds: []string{"tts"},
			defect: func(r *http.Request, a *answer) {
				if strings.HasPrefix(a.header.Get("Content-Type"), "audio/") {
					a.header.Set("Content-Type", "audio/flac")
				}
			},
			want: []string{"tts/result-audio", "tts/result-file-url"},
			id:   "tts/result-audio",
			text: `the audio is not what its Content-Type says: the file is not FLAC, though its Content-Type is audio/flac: it starts with "RIFF`,
		},
		{
			name:  "tts audio cut short",
			kinds: []string{"tts"},
			defect: func(r *http.Request, a *answer) {
				if is(r, "GET", "/tts-result/[0-9]+", "") && a.code == 200 {
					a.body = a.body[:1000]
				}
			},
			want: []string{"tts/result-audio"},
			id:   "tts/result-audio",
			text: "the audio is not a well-formed WAV: the data chunk declares",
		},
		{
			name:  "tts file_url answered with audio",
			kinds: []string{"tts"},
			defect: func(r *http.Request, a *answer) {
				if is(r, "GET", "/tts-result/[0-9]+", "output_type=file_url") {
					a.header.Set("Content-Type", "audio/wav")
					a.body = []byte("RIFF")
				}
			},
			want: []string{"tts/result-file-url"},
			id:   "tts/result-file-url",
			text: "the file URL result could not be fetched as JSON",
		},
		{
			name:  "tts file URL serving other audio than the raw result",
			kinds: []string{"tts"},
			defect: func(r *http.Request, a *answer) {
				if strings.HasPrefix(r.URL.Path, "/__files/") && a.code == 200 {
					a.body = append(bytes.Clone(a.body[:len(a.body)-2]), 1, 1)
				}
			},
			want: []string{"tts/result-file-url"},
			id:   "tts/result-file-url",
			text: "the file URL serves other bytes than the raw_bytes result",
		},
		{
			name:  "text-to-voice previews that need the key",
			kinds: []string{"text-to-voice"},
			defect: func(r *http.Request, a *answer) {
				if strings.HasPrefix(r.URL.Path, "/__files/") && r.Header.Get("X-Api-Key") == "" {
					a.code, a.header, a.body = 403, http.Header{"Content-Type": {"application/json"}}, []byte(`{"detail":"Not authenticated"}`)
				}
			},
			want: []string{"text-to-voice/result-file-url"},
			id:   "text-to-voice/result-file-url",
			text: "the file URL could not be fetched",
		},
		{
			name:  "audio-separation tracks that are not what their Content-Type says",
			kinds: []string{"audio-separation"},
			defect: func(r *http.Request, a *answer) {
				if strings.HasPrefix(r.URL.Path, "/__files/") {
					a.header.Set("Content-Type", "audio/mpeg")
				}
			},
			want: []string{"audio-separation/result-file-url"},
			id:   "audio-separation/result-file-url",
			text: "the file is not what its Content-Type says: the file is not MP3, though its Content-Type is audio/mpeg",
		},
		{
			name:  "a dub whose audio_url is not a URL",
			kinds: []string{"dub"},
			defect: func(r *http.Request, a *answer) {
				if is(r, "GET", "/dub-result/[0-9]+", "") {
					a.body = regexp.MustCompile(`"audio_url":"[^"]*"`).ReplaceAll(a.body, []byte(`"audio_url":"ftp:nowhere"`))
				}
			},
			want: []string{"dub/result-file-url"},
			id:   "dub/result-file-url",
			text: `the file URL answer's /audio_url holds "ftp:nowhere", not an http(s) URL`,
		},
		{
			name:  "translation-result refusing translated-tts runs",
			kinds: []string{"translated-tts"},
			defect: func(r *http.Request, a *answer) {
				if is(r, "GET", "/translation-result/[0-9]+", "") {
					a.code, a.header, a.body = 400, http.Header{"Content-Type": {"application/json"}}, []byte(`{"detail":"Run is not a translation run"}`)
				}
			},
			want: []string{"translated-tts/result-conforms"},
			id:   "translated-tts/result-conforms",
			text: "could not be fetched as JSON from getTranslationResult",
		},
		{
			name:  "transcription bulk without the run",
			kinds: []string{"transcription"},
			defect: func(r *http.Request, a *answer) {
				if is(r, "POST", "/transcription-results", "") {
					a.body = []byte(`{}`)
				}
			},
			want: []string{"transcription/bulk-answers"},
			id:   "transcription/bulk-answers",
			text: `the bulk answer has no entry "`,
		},
		{
			name:  "audio-separation bulk entry whose URL is not one",
			kinds: []string{"audio-separation"},
			defect: func(r *http.Request, a *answer) {
				if is(r, "POST", "/audio-separation-results", "") {
					a.body = regexp.MustCompile(`"background_audio_url":"[^"]*"`).ReplaceAll(a.body, []byte(`"background_audio_url":"nowhere"`))
				}
			},
			want: []string{"audio-separation/bulk-answers"},
			id:   "audio-separation/bulk-answers",
			text: `holds "nowhere" at /background_audio_url, not an http(s) URL`,
		},
		{
			name:  "a translation 422 that does not name the field",
			kinds: []string{"translation"},
			defect: func(r *http.Request, a *answer) {
				if a.code == 422 {
					a.body = []byte(`{"detail":[{"loc":["body"],"msg":"Invalid","type":"value_error"}]}`)
				}
			},
			want: []string{"translation/invalid-create-body"},
			id:   "translation/invalid-create-body",
			text: "the 422 does not name the field at fault (source_language or target_language or texts) in any loc",
		},
		{
			name:  "an audio-separation form 422 that names only the body",
			kinds: []string{"audio-separation"},
			defect: func(r *http.Request, a *answer) {
				if a.code == 422 {
					a.body = []byte(`{"detail":[{"loc":["body"],"msg":"Invalid","type":"value_error"}]}`)
				}
			},
			id:   "audio-separation/invalid-create-body",
			text: "createAudioSeparation answers an invalid form with a 422 whose locs name only the body; FastAPI names the form field at fault (folder_id)",
		},
		{
			name:  "a transcription create that takes no form",
			kinds: []string{"transcription"},
			defect: func(r *http.Request, a *answer) {
				if is(r, "POST", "/transcribe", "") && a.code == 200 {
					a.code, a.header, a.body = 415, http.Header{"Content-Type": {"application/json"}}, []byte(`{"detail":"Unsupported Media Type"}`)
				}
			},
			want: []string{"transcription/create-conforms", "transcription/task-created"},
			id:   "transcription/task-created",
			text: "the task could not be created: the create answered 415",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := contract.Verify(t.Context(), brokenMock(t, tt.kinds, tt.defect))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, r.FailedChecks()); diff != "" {
				logReport(t, r)
				t.Errorf("failed checks mismatch (-want +got):\n%s", diff)
			}
			res := r.Result(tt.id)
			if res == nil {
				t.Fatalf("no result %s", tt.id)
			}
			texts := failures(r, tt.id)
			if len(tt.want) == 0 {
				if res.Outcome != contract.Pass {
					t.Errorf("%s = %s (%s); want pass", tt.id, res.Outcome, res.Note)
				}
				texts = nil
				for _, w := range r.Drift.Warnings {
					texts = append(texts, w.Message)
				}
			}
			if !strings.Contains(strings.Join(texts, "\n"), tt.text) {
				t.Errorf("%s says %q; want %q among it", tt.id, texts, tt.text)
			}
		})
	}
}

// TestUnbuildableCreate gives the suite a spec whose tts request requires
// a field it cannot fill from examples, defaults or enums (a code of four
// digits, with none given, and no example of the whole body): tts/task-created
// fails before any create is sent, saying so.
func TestUnbuildableCreate(t *testing.T) {
	t.Parallel()
	const from = "      required: [text, voice_id, language]\n      properties:\n"
	const example = "            example:\n              text: Welcome aboard. Your journey starts here.\n              voice_id: 147320\n              language: 1\n"
	y := string(cambmock.SpecYAML())
	if !strings.Contains(y, from) || !strings.Contains(y, example) {
		t.Fatalf("openapi.yaml's TtsRequest and createTts no longer read %q and %q", from, example)
	}
	y = strings.Replace(y, from, "      required: [text, voice_id, language, code]\n      properties:\n        code:\n          type: string\n          pattern: '^[0-9]{4}$'\n", 1)
	y = strings.Replace(y, example, "", 1)
	spec, err := cambmock.ParseSpec([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	tg := brokenMock(t, []string{"tts"}, func(*http.Request, *answer) {})
	tg.Spec = spec
	r, err := contract.Verify(t.Context(), tg)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"tts/task-created"}, r.FailedChecks()); diff != "" {
		logReport(t, r)
		t.Errorf("failed checks mismatch (-want +got):\n%s", diff)
	}
	want := "the suite cannot build a create body of tts tasks that conforms to openapi.yaml (from its request schema's examples, defaults and enums): " +
		"request body /code: string doesn't match the regular expression"
	if got := failures(r, "tts/task-created"); len(got) != 1 || !strings.HasPrefix(got[0], want) {
		t.Errorf("tts/task-created failures = %q; want one starting %q", got, want)
	}
	for _, c := range r.Calls {
		if c.Operation == "createTts" && c.Check == contract.CheckCreateConforms {
			t.Errorf("the suite sent a create it knew did not conform: %+v", c)
		}
	}
}

// TestCreateFromBodyExample gives the suite a spec whose tts request
// requires a code that only the example of the whole body gives: the
// suite takes it from there, and the task is created.
func TestCreateFromBodyExample(t *testing.T) {
	t.Parallel()
	const from = "      required: [text, voice_id, language]\n      properties:\n"
	const example = "              language: 1\n      responses:\n"
	y := string(cambmock.SpecYAML())
	if !strings.Contains(y, from) || !strings.Contains(y, example) {
		t.Fatalf("openapi.yaml's TtsRequest and createTts no longer read %q and %q", from, example)
	}
	y = strings.Replace(y, from, "      required: [text, voice_id, language, code]\n      properties:\n        code:\n          type: string\n          pattern: '^[0-9]{4}$'\n", 1)
	y = strings.Replace(y, example, "              language: 1\n              code: '4711'\n      responses:\n", 1)
	spec, err := cambmock.ParseSpec([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var sent string
	tg := brokenMock(t, []string{"tts"}, func(r *http.Request, a *answer) {
		if is(r, "POST", "/tts", "") && a.code == http.StatusOK {
			mu.Lock()
			sent = string(a.request)
			mu.Unlock()
		}
	})
	tg.Spec = spec
	if _, err := contract.Verify(t.Context(), tg); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := `{"code":"4711","language":1,"text":"Welcome aboard. Your journey starts here.","voice_id":147320}`; sent != want {
		t.Errorf("the tts create sent %s; want %s", sent, want)
	}
}

// TestPlan says what AllowSpend creates, from the spec: the audio length
// where a kind's request says one, the upload where it takes a file.
func TestPlan(t *testing.T) {
	got, err := contract.Plan(contract.Target{BaseURL: "http://127.0.0.1:1/apis", AllowSpend: true, Duration: 3, Kinds: []string{"tts", "transcription", "text-to-sound"}})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, c := range got {
		lines = append(lines, c.String())
	}
	want := []string{"1 text-to-sound task (3s of sound)", "1 transcription task (uploading a 0.5s WAV)", "1 tts task"}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("Plan() mismatch (-want +got):\n%s", diff)
	}
	if got, err := contract.Plan(contract.Target{BaseURL: "http://127.0.0.1:1/apis"}); err != nil || got != nil {
		t.Errorf("Plan() without AllowSpend = %v, %v; want nothing", got, err)
	}
}

// TestCreateBodies checks the bodies the suite sends: a multipart form
// with the required fields and a WAV file part where the create takes a
// form, JSON with the required fields, the audio length and the fields
// the length depends on where it takes JSON.
func TestCreateBodies(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	got := map[string]string{}
	tg := brokenMock(t, []string{"transcription", "text-to-sound"}, func(r *http.Request, a *answer) {
		if r.Method != http.MethodPost || a.code != http.StatusOK || strings.HasSuffix(r.URL.Path, "-results") {
			return
		}
		desc := r.Header.Get("Content-Type")
		if media, params, _ := mime.ParseMediaType(desc); media == "multipart/form-data" {
			form, err := multipart.NewReader(bytes.NewReader(a.request), params["boundary"]).ReadForm(1 << 20)
			if err != nil {
				t.Errorf("the form does not read: %v", err)
				return
			}
			desc = fmt.Sprintf("form %v", form.Value)
			for name, files := range form.File {
				f, _ := files[0].Open()
				head := make([]byte, 4)
				f.Read(head)
				f.Close()
				desc += fmt.Sprintf(", file %s %s %s", name, files[0].Header.Get("Content-Type"), head)
			}
		} else {
			desc += " " + string(a.request)
		}
		mu.Lock()
		got[r.URL.Path] = desc
		mu.Unlock()
	})
	r, err := contract.Verify(t.Context(), tg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Failed() {
		logReport(t, r)
		t.Errorf("failed %v; want none", r.FailedChecks())
	}
	want := map[string]string{
		"/apis/transcribe":    "form map[language:[1]], file media_file audio/wav RIFF",
		"/apis/text-to-sound": `application/json {"audio_type":"sound","duration":2,"prompt":"Rain on a tin roof, distant thunder"}`,
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("create bodies mismatch (-want +got):\n%s", diff)
	}
}

// TestTaskIDsOfKinds checks given tasks, read-only: a KIND/ID is polled
// at its kind's status operation, a bare ID at the one kind checked; and
// no task is created.
func TestTaskIDsOfKinds(t *testing.T) {
	t.Parallel()
	ts := newMock(t)
	tts := ts.CreateTask(mockserver.NewTask{Kind: "tts", Scenario: "success"}).ID()
	dub := ts.CreateTask(mockserver.NewTask{Kind: "dub", Scenario: "success"}).ID()
	for _, tt := range []struct {
		name  string
		kinds []string
		ids   []string
	}{
		{"prefixed", []string{"tts", "dub", "text-to-sound"}, []string{"tts/" + tts, "dub/" + dub}},
		{"bare, one kind", []string{"tts"}, []string{tts}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tg := mockTarget(ts, "")
			tg.Header = nil
			tg.AllowSpend = false
			tg.Kinds, tg.TaskIDs = tt.kinds, tt.ids
			r, err := contract.Verify(t.Context(), tg)
			if err != nil {
				t.Fatal(err)
			}
			if r.Failed() || !r.ReadOnly {
				logReport(t, r)
				t.Errorf("failed %v, read-only %v; want no failure, read-only", r.FailedChecks(), r.ReadOnly)
			}
			for _, id := range []string{"tts/status-conforms", "tts/result-audio", "tts/bulk-answers"} {
				if res := r.Result(id); res.Outcome != contract.Pass {
					t.Errorf("%s = %s (%s); want pass, for the tts task given", id, res.Outcome, res.Note)
				}
			}
			if res := r.Result(contract.CheckStatusConforms); res != nil && res.Kind == "text-to-sound" && res.Outcome != contract.Skip {
				t.Errorf("status-conforms of text-to-sound = %s; want skip, no text-to-sound task given", res.Outcome)
			}
			for _, c := range r.Calls {
				if strings.HasPrefix(c.Operation, "create") && c.Check == contract.CheckCreateConforms {
					t.Errorf("a read-only run created a task: %+v", c)
				}
			}
		})
	}
}
