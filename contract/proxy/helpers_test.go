package proxy_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/contract/proxy"
)

// logBuffer holds what a logger wrote, for the logs of servers running
// in other goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the JSON log lines written so far.
func (b *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// withMsg returns the lines whose msg is msg.
func withMsg(lines []map[string]any, msg string) []map[string]any {
	var out []map[string]any
	for _, l := range lines {
		if l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

// newLogger returns a JSON logger at debug level and what it writes.
func newLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// startProxy starts a proxy to upstream on 127.0.0.1.
func startProxy(t *testing.T, upstream string, opts ...proxy.Option) (*proxy.Proxy, *httptest.Server) {
	t.Helper()
	p, err := proxy.New(upstream, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ps := httptest.NewServer(p)
	t.Cleanup(ps.Close)
	return p, ps
}

// upstreamFunc starts a hand-written upstream on 127.0.0.1; its API is at
// the returned server's URL + "/apis".
func upstreamFunc(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	up := httptest.NewServer(h)
	t.Cleanup(up.Close)
	return up
}

// get sends a GET with the test key and returns the answer, its body read
// whole; err is what reading it ended with.
func get(t *testing.T, client *http.Client, url string, header ...string) (resp *http.Response, body []byte, err error) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	req.Header.Set("X-Api-Key", key)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err = client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	return resp, body, err
}

// wavFile returns a PCM WAV file (16 kHz, 16-bit, mono) whose header
// declares declared bytes of samples and which holds data bytes of them.
func wavFile(declared, data int) []byte {
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+declared))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, binary.LittleEndian, uint32(16))
	binary.Write(&b, binary.LittleEndian, uint16(1))     // PCM
	binary.Write(&b, binary.LittleEndian, uint16(1))     // mono
	binary.Write(&b, binary.LittleEndian, uint32(16000)) // sample rate
	binary.Write(&b, binary.LittleEndian, uint32(32000)) // byte rate
	binary.Write(&b, binary.LittleEndian, uint16(2))     // block align
	binary.Write(&b, binary.LittleEndian, uint16(16))    // bits per sample
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(declared))
	for i := range data {
		b.WriteByte(byte(i * 7))
	}
	return b.Bytes()
}

// breakOff sends the headers and body already written, then drops the
// connection: an upstream that dies in the middle of an answer.
func breakOff(t *testing.T, w http.ResponseWriter) {
	t.Helper()
	http.NewResponseController(w).Flush()
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	conn.Close()
}

// rawExchange sends head (a request's line and headers, without the blank
// line that ends them) and then body, if any, on a new connection to addr,
// and reads the answer. It fails the test if the body cannot be sent
// whole: the client this models sends everything before it reads.
func rawExchange(t *testing.T, addr, head string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := io.WriteString(conn, strings.ReplaceAll(head, "\n", "\r\n")+"\r\n\r\n"); err != nil {
		t.Fatalf("sending the request head: %v", err)
	}
	if body != nil {
		if n, err := io.Copy(conn, body); err != nil {
			t.Fatalf("sending the request body: the proxy closed the connection after %d bytes: %v", n, err)
		}
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the answer's body: %v", err)
	}
	return resp, b
}

// loadSpec returns the embedded openapi.yaml.
func loadSpec(t *testing.T) *cambmock.Spec {
	t.Helper()
	spec, err := cambmock.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	return spec
}
