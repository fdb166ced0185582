package mockserver_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
)

// TestResultAudioType: the mock's audio is always WAV, so a result that
// declares several audio types (tts's: audio/flac, as camb.ai documents,
// and audio/wav) must be served as audio/wav, and so must the file behind
// its URL. The type was picked by ranging over the spec's content map, so
// a server served WAV bytes as audio/flac on some starts and not on
// others: the test starts several servers from one spec to see the picks.
func TestResultAudioType(t *testing.T) {
	spec, err := cambmock.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	kinds := []struct {
		kind, status, result string
		fileURL              bool // the result answers {output_url} with output_type=file_url
	}{
		{kind: "tts", status: "/apis/tts/", result: "/apis/tts-result/", fileURL: true},
		{kind: "translated-tts", status: "/apis/translated-tts/", result: "/apis/tts-result/", fileURL: true},
		{kind: "text-to-sound", status: "/apis/text-to-sound/", result: "/apis/text-to-sound-result/"},
	}
	for i := range 8 {
		ts := mockservertest.NewTestServer(t, mockserver.WithSpec(spec))
		c := ts.Client()
		for _, k := range kinds {
			task := ts.CreateTask(mockserver.NewTask{Kind: k.kind, Scenario: "success"})
			for range 3 { // success: PENDING twice, then SUCCESS
				mustSend(t, c, ts.URL, req{Method: "GET", Path: k.status + task.ID()})
			}
			path := fmt.Sprintf("%s%d", k.result, task.Info().RunID)
			if a := mustSend(t, c, ts.URL, req{Method: "GET", Path: path}); a.Code != 200 || a.Type() != wavType {
				t.Errorf("server %d, %s: GET %s = %d %q, want 200 %q", i, k.kind, path, a.Code, a.Type(), wavType)
			}
			if !k.fileURL {
				continue
			}
			a := mustSend(t, c, ts.URL, req{Method: "GET", Path: path + "?output_type=file_url"})
			var out struct {
				OutputURL string `json:"output_url"`
			}
			if a.Code != 200 || json.Unmarshal(a.Body, &out) != nil || !strings.HasPrefix(out.OutputURL, ts.URL+"/") {
				t.Fatalf("server %d, %s: GET %s?output_type=file_url = %d %.200q, want 200 with an output_url on the server", i, k.kind, path, a.Code, a.Body)
			}
			f := mustSend(t, c, ts.URL, req{Method: "GET", Path: strings.TrimPrefix(out.OutputURL, ts.URL), Header: map[string][]string{"X-Api-Key": nil}})
			if f.Code != 200 || f.Type() != wavType {
				t.Errorf("server %d, %s: GET %s = %d %q, want 200 %q", i, k.kind, out.OutputURL, f.Code, f.Type(), wavType)
			}
		}
	}
}

func TestAudioTypeOf(t *testing.T) {
	tests := []struct {
		name  string
		types []string
		want  string
	}{
		{name: "WAV among others", types: []string{"audio/flac", "audio/wav", "application/json"}, want: "audio/wav"},
		{name: "another name for WAV", types: []string{"audio/x-wav", "audio/flac"}, want: "audio/x-wav"},
		{name: "no WAV: the first audio type in order", types: []string{"audio/ogg", "audio/mpeg", "audio/flac"}, want: "audio/flac"},
		{name: "no audio", types: []string{"application/json"}, want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			content := openapi3.Content{}
			for _, ct := range tc.types {
				content[ct] = openapi3.NewMediaType()
			}
			for range 20 { // map order varies from call to call
				if got := mockserver.AudioTypeOf(content); got != tc.want {
					t.Fatalf("audioTypeOf(%v) = %q, want %q", tc.types, got, tc.want)
				}
			}
		})
	}
}
