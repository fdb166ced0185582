package proxy_test

import (
	"bytes"
	"net/http"
	"strconv"
	"testing"

	"github.com/cambmock/cambmock/contract"
	"github.com/cambmock/cambmock/mockserver"
)

// audioFindings returns the problems of the proxy's result-audio findings.
func audioFindings(s contract.Summary) []string {
	var out []string
	for _, f := range s.Findings {
		if f.Check == contract.CheckResultAudio {
			out = append(out, f.Problem)
		}
	}
	return out
}

// TestCutOffAudio sends audio answers that end early through the proxy:
// each is a result-audio finding naming how it was cut off, and the
// client gets what arrived and sees the break.
func TestCutOffAudio(t *testing.T) {
	whole := wavFile(132300, 132300) // 132344 bytes
	tests := []struct {
		name string
		// serve writes the upstream's answer.
		serve func(t *testing.T, w http.ResponseWriter)
		// wantProblem is the finding's problem.
		wantProblem string
		// wantBytes is what the client gets; wantBreak whether it sees a
		// broken answer rather than a whole one.
		wantBytes int
		wantBreak bool
	}{
		{
			name: "content-length-then-closed",
			serve: func(t *testing.T, w http.ResponseWriter) {
				w.Header().Set("Content-Length", strconv.Itoa(len(whole)))
				w.Write(whole[:1000])
				breakOff(t, w)
			},
			wantProblem: "the audio is not a well-formed WAV: the audio was cut off after 1000 of 132344 bytes",
			wantBytes:   1000,
			wantBreak:   true,
		},
		{
			name: "chunked-then-closed",
			serve: func(t *testing.T, w http.ResponseWriter) {
				w.Write(whole[:1000])
				breakOff(t, w)
			},
			wantProblem: "the audio is not a well-formed WAV: the audio was cut off after 1000 bytes: unexpected EOF",
			wantBytes:   1000,
			wantBreak:   true,
		},
		{
			name: "header-declares-more",
			serve: func(t *testing.T, w http.ResponseWriter) {
				short := wavFile(132300, 956)
				w.Header().Set("Content-Length", strconv.Itoa(len(short)))
				w.Write(short)
			},
			wantProblem: "the audio is not a well-formed WAV: the data chunk declares 132300 bytes but the file holds 956: it is cut off",
			wantBytes:   1000,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := upstreamFunc(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "audio/wav")
				tt.serve(t, w)
			})
			p, ps := startProxy(t, up.URL+"/apis")
			resp, body, err := get(t, ps.Client(), ps.URL+"/apis/text-to-sound-result/123")
			if resp.StatusCode != 200 || len(body) != tt.wantBytes || !bytes.Equal(body, whole[:min(len(body), len(whole))]) {
				t.Errorf("the client got %d and %d bytes; want 200 and the %d bytes that arrived", resp.StatusCode, len(body), tt.wantBytes)
			}
			if gotBreak := err != nil; gotBreak != tt.wantBreak {
				t.Errorf("the client's read ended with %v; want a broken answer: %v", err, tt.wantBreak)
			}
			got := audioFindings(p.Summary())
			if len(got) != 1 || got[0] != tt.wantProblem {
				t.Errorf("result-audio findings = %q; want [%q]", got, tt.wantProblem)
			}
		})
	}
}

// TestCutOffAudioMock plays the mock's result-truncated scenario through
// the proxy: the first download is cut off, the retry is whole.
func TestCutOffAudioMock(t *testing.T) {
	up, p, c := setup(t)
	created := up.CreateTask(mockserver.NewTask{Scenario: "result-truncated", Prompt: "rain"})
	c.do("GET", "/text-to-sound/"+created.ID(), "")
	run := strconv.FormatInt(up.Task(created.ID()).Info().RunID, 10)
	_, _, first, err := getBody(c, "/text-to-sound-result/"+run)
	if err == nil {
		t.Errorf("the cut-off download read to its end through the proxy (%d bytes); want a broken answer", len(first))
	}
	code, _, second, err := getBody(c, "/text-to-sound-result/"+run)
	if code != 200 || err != nil || !bytes.HasPrefix(second, []byte("RIFF")) {
		t.Errorf("the retry: %d, %d bytes, %v; want 200 and a whole WAV", code, len(second), err)
	}
	if !bytes.Equal(first, second[:len(first)]) {
		t.Errorf("the cut-off download is not the start of the audio")
	}
	got := audioFindings(p.Summary())
	want := "the audio is not a well-formed WAV: the audio was cut off after " + strconv.Itoa(len(first)) + " of " + strconv.Itoa(len(second)) + " bytes"
	if len(got) != 1 || got[0] != want {
		t.Errorf("result-audio findings = %q; want [%q]", got, want)
	}
}

// getBody is client.do that also says how reading the body ended.
func getBody(c *client, path string) (int, http.Header, []byte, error) {
	c.t.Helper()
	req, _ := http.NewRequestWithContext(c.t.Context(), http.MethodGet, c.base+path, nil)
	req.Header.Set("X-Api-Key", key)
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header, b.Bytes(), err
}
