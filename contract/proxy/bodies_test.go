package proxy_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cambmock/cambmock/contract/proxy"
)

// TestBodiesPassWhole sends answers of sizes around MaxBodySize through the
// proxy, with a Content-Length and chunked: each arrives byte for byte.
func TestBodiesPassWhole(t *testing.T) {
	for _, size := range []int{2_000_000, proxy.MaxBodySize, proxy.MaxBodySize + 1, proxy.MaxBodySize - 1, proxy.MaxBodySize + 2} {
		for _, chunked := range []bool{true, false} {
			t.Run(fmt.Sprintf("%d-chunked=%v", size, chunked), func(t *testing.T) {
				t.Parallel()
				body := make([]byte, size)
				rng := rand.NewChaCha8([32]byte{byte(size), byte(size >> 8), byte(size >> 16)})
				rng.Read(body)
				up := upstreamFunc(t, func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/octet-stream")
					if !chunked {
						w.Header().Set("Content-Length", strconv.Itoa(len(body)))
					}
					w.Write(body[:1])
					http.NewResponseController(w).Flush() // no Content-Length: chunked
					w.Write(body[1:])
				})
				_, ps := startProxy(t, up.URL+"/apis")
				resp, got, err := get(t, ps.Client(), ps.URL+"/apis/text-to-sound/some-task")
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("GET: %d %v", resp.StatusCode, err)
				}
				if sha256.Sum256(got) != sha256.Sum256(body) {
					t.Errorf("the client got %d bytes, not the %d the upstream sent (sha256 differs)", len(got), len(body))
				}
			})
		}
	}
}

// TestLargeRequestBody413 sends a 20 MB body on a raw socket, without
// Expect: 100-continue, as a client that writes the whole request before
// reading: it reads the 413 JSON, and the upstream gets nothing.
func TestLargeRequestBody413(t *testing.T) {
	const size = 20_000_000
	var seen atomic.Int32
	up := upstreamFunc(t, func(w http.ResponseWriter, r *http.Request) { seen.Add(1) })
	_, ps := startProxy(t, up.URL+"/apis")
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			head := "POST /apis/text-to-sound HTTP/1.1\nHost: proxy\nX-Api-Key: " + key + "\nContent-Type: application/json\n"
			body := io.MultiReader(strings.NewReader(`{"prompt":"`), io.LimitReader(zeros{}, size), strings.NewReader(`"}`))
			if chunked {
				head += "Transfer-Encoding: chunked"
				body = chunk(body)
			} else {
				head += "Content-Length: " + strconv.Itoa(size+len(`{"prompt":""}`))
			}
			resp, b := rawExchange(t, ps.Listener.Addr().String(), head, body)
			var e struct{ Detail string }
			if resp.StatusCode != http.StatusRequestEntityTooLarge || json.Unmarshal(b, &e) != nil ||
				e.Detail != "cambmock proxy: the request body is over 1048576 bytes, the most the proxy forwards" {
				t.Errorf("answer = %d %s; want the 413 JSON", resp.StatusCode, b)
			}
		})
	}
	if n := seen.Load(); n != 0 {
		t.Errorf("the upstream got %d requests; want none", n)
	}
}

// zeros reads as an endless run of '0'.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '0'
	}
	return len(p), nil
}

// chunk encodes r in HTTP/1.1 chunks of up to 64 KiB.
func chunk(r io.Reader) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				if _, werr := fmt.Fprintf(pw, "%x\r\n%s\r\n", n, buf[:n]); werr != nil {
					pw.CloseWithError(werr)
					return
				}
			}
			if err != nil {
				io.WriteString(pw, "0\r\n\r\n")
				pw.Close()
				return
			}
		}
	}()
	return pr
}

// TestPathsThatLeaveAPIs sends, on a raw socket as curl --path-as-is does,
// paths that could reach the upstream outside /apis: each gets a 400 that
// names the problem, and the upstream gets nothing.
func TestPathsThatLeaveAPIs(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	up := upstreamFunc(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.RequestURI)
		mu.Unlock()
	})
	_, ps := startProxy(t, up.URL+"/apis")
	tests := []struct{ path, want string }{
		{"/apis/../internal", `the path "/apis/../internal" holds a dot segment ("..")`},
		{"/apis/%2e%2e/internal", `the path "/apis/%2e%2e/internal" holds a dot segment ("..")`},
		{"/apis/%2E%2E/internal", `holds a dot segment ("..")`},
		{"/apis/.%2e/internal", `holds a dot segment ("..")`},
		{"/apis/%252e%252e/internal", `holds a dot segment ("%2e%2e")`},
		{"/apis/./text-to-sound/x", `holds a dot segment (".")`},
		{"/apis/text-to-sound/..", `holds a dot segment ("..")`},
		{"/apis/text-to-sound/a%2F..%2F..%2Finternal", `the path "/apis/text-to-sound/a%2F..%2F..%2Finternal" holds an encoded slash or a backslash`},
		{"/apis/text-to-sound/a%2fb", `holds an encoded slash or a backslash`},
		{"/apis/text-to-sound/a%5C..%5Cb", `holds an encoded slash or a backslash`},
		{"/apis/text-to-sound/a%252Fb", `holds an encoded slash or a backslash`},
		{"/apis/..;/internal", `holds a dot segment ("..;")`},
		{"/apis/%2e%2e;x=1/internal", `holds a dot segment ("..;x=1")`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, b := rawExchange(t, ps.Listener.Addr().String(), "GET "+tt.path+" HTTP/1.1\nHost: proxy\nX-Api-Key: "+key+"\nConnection: close", nil)
			var e struct{ Detail string }
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/json" ||
				json.Unmarshal(b, &e) != nil || !strings.Contains(e.Detail, tt.want) || !strings.HasPrefix(e.Detail, "cambmock proxy: ") {
				t.Errorf("GET %s = %d %s; want a 400 JSON whose detail says %s", tt.path, resp.StatusCode, b, tt.want)
			}
		})
	}
	mu.Lock()
	if len(seen) != 0 {
		t.Errorf("the upstream got %q; want nothing", seen)
	}
	mu.Unlock()

	// A path that stays under /apis still passes.
	for _, path := range []string{"/apis/text-to-sound/a.b..c", "/apis/text-to-sound/...", "/apis/text-to-sound/a;b"} {
		if resp, _, _ := get(t, ps.Client(), ps.URL+path); resp.StatusCode != 200 {
			t.Errorf("GET %s = %d; want it forwarded", path, resp.StatusCode)
		}
	}
}

// TestGzipBomb serves a 1 MB gzip body that decodes to 1 GiB, which the
// proxy did not ask for: the client gets the compressed bytes, as sent.
func TestGzipBomb(t *testing.T) {
	var member bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	io.Copy(zw, io.LimitReader(zeros{}, 1<<20))
	zw.Close()
	bomb := bytes.Repeat(member.Bytes(), 1024) // gzip members concatenated: 1 GiB of '0'
	var encodings []string
	var mu sync.Mutex
	up := upstreamFunc(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		encodings = append(encodings, r.Header.Get("Accept-Encoding"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(bomb[:1])
		http.NewResponseController(w).Flush() // chunked
		w.Write(bomb[1:])
	})
	logger, logs := newLogger()
	_, ps := startProxy(t, up.URL+"/apis", proxy.WithLogger(logger))
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	t.Cleanup(c.CloseIdleConnections)
	for _, accept := range []string{"", "gzip"} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, ps.URL+"/apis/text-to-sound/x", nil)
		req.Header.Set("X-Api-Key", key)
		if accept != "" {
			req.Header.Set("Accept-Encoding", accept)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		// Read at most twice the bomb: a decoded answer would be 1 GiB.
		n, err := io.Copy(h, io.LimitReader(resp.Body, int64(2*len(bomb))))
		resp.Body.Close()
		want := sha256.Sum256(bomb)
		if err != nil || n != int64(len(bomb)) || !bytes.Equal(h.Sum(nil), want[:]) || resp.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("Accept-Encoding %q: the client got %d bytes (Content-Encoding %q, %v); want the %d compressed bytes as sent",
				accept, n, resp.Header.Get("Content-Encoding"), err, len(bomb))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(encodings) != 2 || encodings[0] != "identity" || encodings[1] != "identity" {
		t.Errorf("the upstream was asked for Accept-Encoding %q; want identity each time", encodings)
	}
	lines := withMsg(logs.lines(t), "the upstream sent a Content-Encoding the proxy did not ask for (it asks for identity); such answers pass through undecoded and unchecked")
	if len(lines) != 1 || lines[0]["content_encoding"] != "gzip" {
		t.Errorf("the unasked encoding was logged %d times; want once, naming gzip:\n%s", len(lines), logs)
	}
}
