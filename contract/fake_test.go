package contract_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// fakeAPI is a stand-in for the live camb.ai API, shaped as FastAPI would
// answer, that can break one thing at a time: defect names what it breaks
// ("" is the faithful API).
type fakeAPI struct {
	defect  string
	key     string
	fileURL string // the storage host file URLs point at
	// redirect is where the defects "redirect-polls" and "redirect-all"
	// send requests: a URL of another host.
	redirect string
	// health, if set, makes the fake answer /__admin/health as a cambmock
	// whose auth is health ("any-key" or "keys").
	health string

	mu         sync.Mutex
	polls      map[string]int
	tasks      int
	posts      int
	healthKeys int // how many health probes carried a key
}

func newFakeAPI(defect, key, fileURL string) *fakeAPI {
	return &fakeAPI{defect: defect, key: key, fileURL: fileURL, polls: map[string]int{}}
}

const fakeRunID = 4242

func fakeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func detail(msg string) map[string]any { return map[string]any{"detail": msg} }

// fakeWAV is a silent 16-bit mono WAV of the given length.
func fakeWAV(seconds float64) []byte {
	const rate = 16000
	n := int(seconds * rate)
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+2*n))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(2 * rate), uint16(2), uint16(16)} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(2*n))
	b.Write(make([]byte, 2*n))
	return b.Bytes()
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.defect == "redirect-all" {
		http.Redirect(w, r, f.redirect+r.URL.Path, http.StatusTemporaryRedirect)
		return
	}
	if r.URL.Path == "/__admin/health" && f.health != "" {
		if r.Header.Get("X-Api-Key") != "" {
			f.mu.Lock()
			f.healthKeys++
			f.mu.Unlock()
		}
		fakeJSON(w, http.StatusOK, map[string]any{"status": "ok", "service": "cambmock", "auth": f.health})
		return
	}
	if strings.HasPrefix(r.URL.Path, "/storage/") {
		length := 2.0
		if f.defect == "file-url-other-bytes" {
			length = 2.05
		}
		w.Header().Set("Content-Type", "audio/wav")
		w.Write(fakeWAV(length))
		return
	}
	key := r.Header.Get("X-Api-Key")
	switch {
	case key == "" && f.defect != "missing-key-accepted":
		fakeJSON(w, http.StatusForbidden, detail("Not authenticated"))
		return
	case key != "" && key != f.key && f.defect != "wrong-key-accepted":
		fakeJSON(w, http.StatusUnauthorized, detail("Invalid API key"))
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/apis")
	switch {
	case r.Method == http.MethodPost && path == "/text-to-sound":
		f.create(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/text-to-sound/"):
		f.status(w, strings.TrimPrefix(path, "/text-to-sound/"))
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/text-to-sound-result/"):
		f.result(w, r, strings.TrimPrefix(path, "/text-to-sound-result/"))
	case r.Method == http.MethodPost && path == "/text-to-sound-results":
		if f.defect == "bulk-missing-run" {
			fakeJSON(w, http.StatusOK, map[string]any{})
			return
		}
		fakeJSON(w, http.StatusOK, map[string]any{strconv.Itoa(fakeRunID): map[string]any{"output_url": f.fileURL + "/storage/run.wav"}})
	default:
		fakeJSON(w, http.StatusNotFound, detail("Not Found"))
	}
}

func (f *fakeAPI) create(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	json.NewDecoder(r.Body).Decode(&body)
	if _, ok := body["prompt"].(string); !ok {
		switch f.defect {
		case "validation-shape":
			fakeJSON(w, http.StatusBadRequest, map[string]any{"error": "prompt is required"})
			return
		case "validation-no-loc":
			fakeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": []any{
				map[string]any{"loc": []any{"body"}, "msg": "Invalid request", "type": "value_error"}}})
			return
		}
		fakeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": []any{
			map[string]any{"loc": []any{"body", "prompt"}, "msg": "Field required", "type": "missing"}}})
		return
	}
	f.mu.Lock()
	f.posts++
	first := f.posts == 1
	f.tasks++
	id := fmt.Sprintf("task-%d", f.tasks)
	f.mu.Unlock()
	switch {
	case first && f.defect == "429-without-retry-after":
		fakeJSON(w, http.StatusTooManyRequests, detail("Too many requests"))
	case first && f.defect == "":
		w.Header().Set("Retry-After", "1")
		fakeJSON(w, http.StatusTooManyRequests, detail("Too many requests"))
	case f.defect == "task-id-integer":
		fakeJSON(w, http.StatusOK, map[string]any{"task_id": 17})
	default:
		fakeJSON(w, http.StatusOK, map[string]any{"task_id": id})
	}
}

func (f *fakeAPI) status(w http.ResponseWriter, id string) {
	f.mu.Lock()
	known := id == "task-1" || id == "task-2"
	n := f.polls[id]
	if known {
		f.polls[id]++
	}
	f.mu.Unlock()
	if !known && f.defect == "echo-key" {
		// A target that quotes the key back, every way it can.
		fakeJSON(w, http.StatusOK, map[string]any{"status": "PENDING", "run_id": nil, f.key: 1,
			"message": "your key " + f.key + " is " + url.QueryEscape(f.key) + " in a URL"})
		return
	}
	if !known || f.defect == "created-task-unknown" {
		if f.defect == "unknown-task-200" {
			fakeJSON(w, http.StatusOK, map[string]any{"status": "PENDING", "run_id": nil, "exception_reason": nil, "message": nil})
			return
		}
		fakeJSON(w, http.StatusNotFound, detail("Task not found"))
		return
	}
	body := map[string]any{"status": "PENDING", "run_id": nil, "exception_reason": nil, "message": nil}
	if n >= 2 || f.defect == "success-at-once" {
		body["status"], body["run_id"] = "SUCCESS", fakeRunID
	}
	switch f.defect {
	case "redirect-polls":
		w.Header().Set("Location", f.redirect+"/elsewhere/"+id)
		w.WriteHeader(http.StatusTemporaryRedirect)
		return
	case "forget-after-success":
		if n >= 3 {
			fakeJSON(w, http.StatusNotFound, detail("Task not found"))
			return
		}
	case "503-after-success":
		if n >= 3 {
			fakeJSON(w, http.StatusServiceUnavailable, detail("Service Unavailable"))
			return
		}
	case "run-id-changes":
		if n >= 3 {
			body["run_id"] = fakeRunID + 1
		}
	case "html-502":
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte("<html><body>502 Bad Gateway</body></html>"))
		return
	case "status-failed":
		if n >= 2 {
			body["status"], body["run_id"], body["message"] = "FAILED", nil, "Sound generation failed."
		}
	case "run-id-string":
		if n >= 2 {
			body["run_id"] = strconv.Itoa(fakeRunID)
		}
	case "success-without-run-id":
		if n >= 2 {
			body["run_id"] = nil
		}
	case "extra-field":
		body["progress"] = n * 50
	case "unknown-reason":
		if n >= 2 {
			body["status"], body["run_id"], body["exception_reason"] = "ERROR", nil, "GPU_QUOTA_EXCEEDED"
		}
	case "terminal-regress":
		if n >= 3 {
			body["status"], body["run_id"] = "PENDING", nil
		}
	case "pending-forever":
		body["status"], body["run_id"] = "PENDING", nil
	case "json-as-text":
		w.Header().Set("Content-Type", "text/plain")
		b, _ := json.Marshal(body)
		w.Write(b)
		return
	}
	fakeJSON(w, http.StatusOK, body)
}

func (f *fakeAPI) result(w http.ResponseWriter, r *http.Request, run string) {
	if run != strconv.Itoa(fakeRunID) {
		if f.defect == "unknown-run-500" {
			fakeJSON(w, http.StatusInternalServerError, detail("Internal Server Error"))
			return
		}
		fakeJSON(w, http.StatusNotFound, detail("Run not found"))
		return
	}
	if r.URL.Query().Get("output_type") == "FILE_URL" {
		key := "file_url"
		if f.defect == "file-url-key" {
			key = "output_url"
		}
		fakeJSON(w, http.StatusOK, map[string]any{key: f.fileURL + "/storage/run.wav"})
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	switch f.defect {
	case "wav-wrong-length":
		w.Write(fakeWAV(8))
	case "wav-not-wav":
		w.Write([]byte(`{"detail":"not ready"}`))
	default:
		w.Write(fakeWAV(2))
	}
}
