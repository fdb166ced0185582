package contract

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/cambmock/cambmock/contract/internal/media"
	"github.com/cambmock/cambmock/contract/internal/wavinfo"
)

// The checks of a run's results: each result operation that serves the
// kind's runs, asked for its audio and for its JSON, the files behind the
// JSON's URLs, and the bulk endpoint.

// maxDownloads bounds how many URLs of one answer the suite downloads.
const maxDownloads = 8

// deadlineNote is the note of a check the run's deadline cut short.
const deadlineNote = "the run's deadline (Target.Timeout, --timeout) came before this could be checked; raise it"

// results fetches a run's results: the audio and the JSON answer of each
// result operation that serves the kind's runs, then the bulk endpoint.
func (s *kindRun) results(ctx context.Context, run int64, duration float64) {
	if len(s.kindPlan.results) == 0 {
		for _, c := range []string{CheckResultConforms, CheckResultAudio, CheckResultFileURL} {
			s.skip(c, "openapi.yaml declares no result operation for %s tasks", s.kind.Name)
		}
	} else {
		anyAudio, anyURLs := false, false
		for _, r := range s.kindPlan.results {
			anyAudio = anyAudio || r.audio != ""
			anyURLs = anyURLs || r.hasJSON() && len(r.urls) > 0
		}
		if !anyAudio {
			s.skip(CheckResultAudio, "openapi.yaml declares no audio answer of %s; the files its JSON names are checked by %s", opNames(s.kindPlan.results), s.id(CheckResultFileURL))
		}
		if !anyURLs {
			var jsonOps []*resultOp
			for _, r := range s.kindPlan.results {
				if r.hasJSON() {
					jsonOps = append(jsonOps, r)
				}
			}
			if len(jsonOps) == 0 {
				s.skip(CheckResultFileURL, "openapi.yaml declares no JSON answer of %s with a file URL", opNames(s.kindPlan.results))
			} else {
				s.skip(CheckResultFileURL, "the JSON answer of %s holds no URL (no format: uri string in its schema), so there is no file to fetch", opNames(jsonOps))
			}
		}
		for _, r := range s.kindPlan.results {
			var rawSum [32]byte
			if r.audio != "" {
				rawSum = s.audioResult(ctx, r, run, duration)
			}
			if r.hasJSON() {
				s.jsonResult(ctx, r, run, duration, rawSum)
			}
		}
	}
	if s.bulk == nil {
		for _, c := range []string{CheckBulkConforms, CheckBulkAnswers} {
			s.skip(c, "openapi.yaml declares no bulk result operation for %s tasks", s.kind.Name)
		}
		return
	}
	s.bulkResult(ctx, run)
}

// audioResult fetches a run's audio from r (without the query that asks
// for JSON) and checks it; it returns the audio's SHA-256, or zero.
func (s *kindRun) audioResult(ctx context.Context, r *resultOp, run int64, duration float64) [32]byte {
	path := r.op.URL(strconv.FormatInt(run, 10))
	raw := s.call(ctx, r.op.ID, CheckResultConforms, true, func(ctx context.Context) *http.Request {
		return s.newRequest(ctx, http.MethodGet, path, nil, nil, string(s.tg.APIKey))
	})
	var sum [32]byte
	switch {
	case cut(ctx, raw):
		s.skip(CheckResultAudio, deadlineNote)
	case raw.err != nil || raw.code != http.StatusOK:
		s.fail(CheckResultAudio, s.failure(raw, fmt.Sprintf("the result of run %d could not be fetched", run), ""))
	default:
		s.ran(CheckResultAudio)
		if desc, ok := s.checkAudio(raw, CheckResultAudio, duration); ok {
			sum = sha256.Sum256(raw.body)
			s.note(CheckResultAudio, "%s, %d bytes", desc, len(raw.body))
		}
	}
	return sum
}

// jsonResult fetches a run's JSON answer from r and downloads every URL
// it holds, without the key. rawSum is the SHA-256 of r's audio answer,
// which a JSON answer holding one URL must serve, or zero.
func (s *kindRun) jsonResult(ctx context.Context, r *resultOp, run int64, duration float64, rawSum [32]byte) {
	path := r.op.URL(strconv.FormatInt(run, 10))
	query := url.Values{}
	for k, v := range r.jsonQuery() {
		query.Set(k, v)
	}
	e := s.call(ctx, r.op.ID, CheckResultConforms, true, func(ctx context.Context) *http.Request {
		return s.newRequest(ctx, http.MethodGet, path, query, nil, string(s.tg.APIKey))
	})
	var body any
	fetched := e.err == nil && e.code == http.StatusOK && json.Unmarshal(e.body, &body) == nil
	if len(r.urls) == 0 {
		switch {
		case cut(ctx, e):
		case !fetched:
			s.fail(CheckResultConforms, s.failure(e, fmt.Sprintf("the result of run %d could not be fetched as JSON from %s", run, r.op.ID), ""))
		}
		return
	}
	switch {
	case cut(ctx, e):
		s.skip(CheckResultFileURL, deadlineNote)
		return
	case !fetched:
		s.fail(CheckResultFileURL, s.failure(e, "the file URL result could not be fetched as JSON", ""))
		return
	}
	s.ran(CheckResultFileURL)
	var found []located
	for _, p := range r.urls {
		for _, l := range lookup(body, p) {
			if l.value == nil {
				continue // a nullable URL left out
			}
			if u, ok := l.value.(string); !ok || !isHTTPURL(u) {
				s.fail(CheckResultFileURL, s.failure(e, fmt.Sprintf("the file URL answer's %s holds %s, not an http(s) URL", l.path, clip(jsonText(l.value), 2*maxValue)),
					wantGot("an http(s) URL", clip(jsonText(l.value), 2*maxValue))))
				continue
			}
			found = append(found, l)
		}
	}
	if len(found) == 0 {
		var got any
		if ls := lookup(body, r.urls[0]); len(ls) > 0 {
			got = ls[0].value
		}
		s.fail(CheckResultFileURL, s.failure(e, fmt.Sprintf("the file URL answer has no %s holding an http(s) URL", strings.Join(trimSlashes(r.urls), " or ")),
			wantGot("an http(s) URL", clip(jsonText(got), 2*maxValue))))
		return
	}
	if len(found) > maxDownloads {
		s.note(CheckResultFileURL, "the answer holds %d URLs; the first %d were downloaded", len(found), maxDownloads)
		found = found[:maxDownloads]
	}
	for _, l := range found {
		file, ok := s.download(ctx, l.value.(string), duration)
		if !ok {
			continue
		}
		if len(found) == 1 && rawSum != [32]byte{} && sha256.Sum256(file.body) != rawSum {
			s.fail(CheckResultFileURL, s.failure(file, fmt.Sprintf("the file URL serves other bytes than the %s result", rawName(r)), ""))
		}
	}
}

// rawName names a result operation's audio answer: the default of the
// query parameter json-when sets (RAW_BYTES for text-to-sound), else
// "audio".
func rawName(r *resultOp) string {
	for name := range r.op.JSONWhen {
		for _, p := range r.op.Op.Parameters {
			if p.Value != nil && p.Value.Name == name && p.Value.Schema != nil && p.Value.Schema.Value != nil {
				if d, ok := p.Value.Schema.Value.Default.(string); ok {
					return d
				}
			}
		}
	}
	return "audio"
}

func trimSlashes(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = strings.TrimPrefix(p, "/")
	}
	return out
}

// download fetches a file URL of a result, without the API key or
// Target.Header: it may point at another host, which must never see them.
// So it may follow redirects, as a client's download would. It checks the
// file is what its Content-Type says, and of the requested length for a
// WAV when duration is above 0.
func (s *kindRun) download(ctx context.Context, u string, duration float64) (*exchange, bool) {
	file := s.callWith(ctx, s.fileClient, opFile, CheckResultFileURL, true, func(ctx context.Context) *http.Request {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		return req
	})
	switch {
	case cut(ctx, file):
		s.skip(CheckResultFileURL, deadlineNote)
		return file, false
	case file.err != nil || file.code != http.StatusOK:
		s.fail(CheckResultFileURL, s.failure(file, "the file URL could not be fetched", wantGot("200", fmt.Sprint(file.code))))
		return file, false
	}
	ct := file.header.Get("Content-Type")
	mt := strings.ToLower(strings.TrimSpace(strings.Split(ct, ";")[0]))
	if mt == "" || mt == "application/octet-stream" || mt == "binary/octet-stream" {
		sniffed := http.DetectContentType(file.body)
		if !strings.HasPrefix(sniffed, "audio/") && !strings.HasPrefix(sniffed, "video/") && sniffed != "application/ogg" {
			_, ok := s.checkWAV(file, CheckResultFileURL, duration) // the file URL of a WAV, as the mock's and camb.ai's are
			return file, ok
		}
		ct = sniffed
	}
	if media.IsWAV(ct) {
		_, ok := s.checkWAV(file, CheckResultFileURL, duration)
		return file, ok
	}
	if _, err := media.Check(ct, bytes.NewReader(file.body)); err != nil {
		s.fail(CheckResultFileURL, s.failure(file, "the file is not what its Content-Type says: "+err.Error(), ""))
		return file, false
	}
	return file, true
}

// checkAudio checks an audio answer: a WAV (or an answer that is not
// audio at all) as a WAV of the requested length; another audio type as
// that type. It returns a description of the audio.
func (s *kindRun) checkAudio(e *exchange, check string, duration float64) (string, bool) {
	ct := e.header.Get("Content-Type")
	if strings.HasPrefix(strings.ToLower(ct), "audio/") && !media.IsWAV(ct) {
		info, err := media.Check(ct, bytes.NewReader(e.body))
		if err != nil {
			s.fail(check, s.failure(e, "the audio is not what its Content-Type says: "+err.Error(), ""))
			return "", false
		}
		desc := info.Type
		if duration > 0 {
			desc += fmt.Sprintf(" (its length is not checked: the suite measures only WAV files, and %v s were asked for)", duration)
		}
		return desc, true
	}
	info, ok := s.checkWAV(e, check, duration)
	return info.String(), ok
}

// checkWAV checks an audio answer's structure and length.
func (s *kindRun) checkWAV(e *exchange, check string, duration float64) (wavinfo.Info, bool) {
	info, err := wavinfo.Read(bytes.NewReader(e.body))
	if err != nil {
		s.fail(check, s.failure(e, "the audio is not a well-formed WAV: "+err.Error(), ""))
		return info, false
	}
	if duration > 0 {
		got := info.Duration().Seconds()
		if math.Abs(got-duration) > 0.1 {
			s.fail(check, s.failure(e, fmt.Sprintf("the audio lasts %.3f s, but %.3f s were asked for", got, duration),
				wantGot(fmt.Sprintf("%.1f s (within 0.1 s)", duration), fmt.Sprintf("%.3f s", got))))
			return info, false
		}
	}
	return info, true
}

// bulkResult asks the kind's bulk operation for the run and checks the
// answer has its entry, with its URLs.
func (s *kindRun) bulkResult(ctx context.Context, run int64) {
	op := s.bulk
	body := bulkBody(op, []int64{run})
	bulk := s.call(ctx, op.ID, CheckBulkConforms, true, func(ctx context.Context) *http.Request {
		return s.newRequest(ctx, http.MethodPost, op.URL(""), nil, body, string(s.tg.APIKey))
	})
	key := strconv.FormatInt(run, 10)
	if cut(ctx, bulk) {
		s.skip(CheckBulkAnswers, deadlineNote)
		return
	}
	s.ran(CheckBulkAnswers)
	var entries map[string]any
	switch {
	case bulk.err != nil || bulk.code != http.StatusOK:
		s.fail(CheckBulkAnswers, s.failure(bulk, "the bulk results could not be fetched", ""))
		return
	case json.Unmarshal(bulk.body, &entries) != nil:
		s.fail(CheckBulkAnswers, s.failure(bulk, "the bulk answer is not a JSON object of run ids", ""))
		return
	}
	fields := trimSlashes(s.bulkURLs)
	entry, ok := entries[key].(map[string]any)
	good := ok
	if ok && len(s.bulkURLs) > 0 {
		good = false
		for _, p := range s.bulkURLs {
			for _, l := range lookup(entry, p) {
				u, isString := l.value.(string)
				switch {
				case l.value == nil:
				case !isString || !isHTTPURL(u):
					s.fail(CheckBulkAnswers, s.failure(bulk, fmt.Sprintf("the bulk answer's entry %q holds %s at %s, not an http(s) URL", key, clip(jsonText(l.value), 2*maxValue), l.path), ""))
				default:
					good = true
				}
			}
		}
	}
	if good {
		return
	}
	var want []string
	for _, f := range fields {
		want = append(want, fmt.Sprintf("%q: <an http(s) URL>", f))
	}
	what := fmt.Sprintf("the bulk answer has no entry %q", key)
	if len(fields) > 0 {
		what += " with " + article(fields[0]) + " " + strings.Join(fields, " and ")
	}
	wantText := fmt.Sprintf(`{%q: {%s}}`, key, strings.Join(want, ", "))
	if len(want) == 0 {
		wantText = fmt.Sprintf(`{%q: {...}}`, key)
	}
	s.fail(CheckBulkAnswers, s.failure(bulk, what, wantGot(wantText, clip(bulkSummary(bulk.body), 4*maxValue))))
}

func article(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

// bulkSummary shows a bulk answer as JSON with sorted keys.
func bulkSummary(body []byte) string {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return "(not a JSON object)"
	}
	return jsonText(m)
}
