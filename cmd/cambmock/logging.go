package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/cambmock/cambmock/mockserver"
)

// The log of serve, proxy and record: a line per request at a rate of tens
// of thousands a second, so it is built into a reused buffer by a handler
// that writes what slog's TextHandler and JSONHandler write, and goes out
// through a buffered writer flushed every 100 ms and when the command ends,
// so that nothing is lost on SIGTERM and no line costs a system call.

// logSink is a buffered writer flushed on a timer; Close flushes what is
// left and stops the timer.
type logSink struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

func newLogSink(w io.Writer) *logSink {
	s := &logSink{w: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				s.Flush()
			case <-s.stop:
				return
			}
		}
	}()
	return s
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// Flush writes out what is buffered.
func (s *logSink) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Flush()
}

// Close stops the timer and flushes. It is safe to call more than once.
func (s *logSink) Close() error {
	select {
	case <-s.stop:
	default:
		close(s.stop)
		<-s.done
	}
	return s.Flush()
}

// lineHandler is a slog.Handler writing one line per record, as
// slog.TextHandler (json false) or slog.JSONHandler (json true) would,
// with no source and no ReplaceAttr.
type lineHandler struct {
	w      io.Writer
	level  slog.Leveler
	json   bool
	prefix []byte // the attributes of WithAttrs, formatted
	group  string // the open group, "a.b." in text, or the JSON nesting depth below
	open   int    // JSON groups opened by WithGroup
	bufs   *sync.Pool
	second *atomic.Pointer[lastSecond]
}

func newLineHandler(w io.Writer, level slog.Leveler, json bool) *lineHandler {
	return &lineHandler{w: w, level: level, json: json, bufs: &sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }},
		second: &atomic.Pointer[lastSecond]{}}
}

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *lineHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h2 := *h
	h2.prefix = append([]byte(nil), h.prefix...)
	for _, a := range attrs {
		h2.prefix = h2.appendAttr(h2.prefix, h.group, a)
	}
	return &h2
}

func (h *lineHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.prefix = append([]byte(nil), h.prefix...)
	if h.json {
		h2.prefix = appendJSONString(h2.prefix, name)
		h2.prefix = append(h2.prefix, ":{"...)
		h2.open++
		h2.group = ""
		return &h2
	}
	h2.group = h.group + name + "."
	return &h2
}

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	return h.write(r.Time, r.Level, r.Message, r.Attrs)
}

// LogRequest writes the mock's line for a request as Handle writes the
// record mockserver would otherwise build for it, without building it
// (mockserver.RequestLogger).
func (h *lineHandler) LogRequest(l mockserver.RequestLine) {
	if h.group == "" && h.open == 0 {
		h.writeRequest(l)
		return
	}
	h.write(l.Time, l.Level, "request", func(yield func(slog.Attr) bool) {
		_ = yield(slog.String("method", l.Method)) &&
			yield(slog.String("path", l.Path)) &&
			yield(slog.Int("status", l.Status)) &&
			yield(slog.String("task", l.Task)) &&
			yield(slog.String("scenario", l.Scenario)) &&
			yield(slog.String("step", l.Step)) &&
			yield(slog.Duration("dur", l.Duration)) &&
			(l.Fault == "" || yield(slog.String("fault", l.Fault)))
	})
}

var _ mockserver.RequestLogger = (*lineHandler)(nil)

// writeRequest is LogRequest's fast path: the line appended field by field.
func (h *lineHandler) writeRequest(l mockserver.RequestLine) {
	bp := h.bufs.Get().(*[]byte)
	b := (*bp)[:0]
	if h.json {
		b = append(b, `{"time":"`...)
		b = l.Time.AppendFormat(b, time.RFC3339Nano)
		b = append(b, `","level":`...)
		b = appendJSONString(b, l.Level.String())
		b = append(b, `,"msg":"request"`...)
		if len(h.prefix) > 0 {
			b = append(b, ',')
			b = append(b, h.prefix...)
		}
		b = append(b, `,"method":`...)
		b = appendJSONString(b, l.Method)
		b = append(b, `,"path":`...)
		b = appendJSONString(b, l.Path)
		b = append(b, `,"status":`...)
		b = strconv.AppendInt(b, int64(l.Status), 10)
		b = append(b, `,"task":`...)
		b = appendJSONString(b, l.Task)
		b = append(b, `,"scenario":`...)
		b = appendJSONString(b, l.Scenario)
		b = append(b, `,"step":`...)
		b = appendJSONString(b, l.Step)
		b = append(b, `,"dur":`...)
		b = strconv.AppendInt(b, int64(l.Duration), 10)
		if l.Fault != "" {
			b = append(b, `,"fault":`...)
			b = appendJSONString(b, l.Fault)
		}
		b = append(b, "}\n"...)
	} else {
		b = append(b, "time="...)
		b = h.appendTextTimeCached(b, l.Time)
		b = append(b, " level="...)
		b = append(b, l.Level.String()...)
		b = append(b, " msg=request"...)
		b = append(b, h.prefix...)
		b = append(b, " method="...)
		b = appendTextString(b, l.Method)
		b = append(b, " path="...)
		b = appendTextString(b, l.Path)
		b = append(b, " status="...)
		b = strconv.AppendInt(b, int64(l.Status), 10)
		b = append(b, " task="...)
		b = appendTextString(b, l.Task)
		b = append(b, " scenario="...)
		b = appendTextString(b, l.Scenario)
		b = append(b, " step="...)
		b = appendTextString(b, l.Step)
		b = append(b, " dur="...)
		b = appendDuration(b, l.Duration)
		if l.Fault != "" {
			b = append(b, " fault="...)
			b = appendTextString(b, l.Fault)
		}
		b = append(b, '\n')
	}
	h.w.Write(b)
	*bp = b
	h.bufs.Put(bp)
}

// appendDuration appends d as time.Duration.String writes it, without
// the allocation of the string.
func appendDuration(b []byte, d time.Duration) []byte {
	// Durations under a second and over a minute are rare on this path,
	// but must read as String reads them; String is exact and cheap
	// enough for them.
	if d < 0 || d >= time.Second {
		return append(b, d.String()...)
	}
	u := uint64(d)
	switch {
	case u == 0:
		return append(b, "0s"...)
	case u < uint64(time.Microsecond):
		b = strconv.AppendUint(b, u, 10)
		return append(b, "ns"...)
	case u < uint64(time.Millisecond):
		b = appendFrac(b, u, 3)
		return append(b, "µs"...)
	default:
		b = appendFrac(b, u, 6)
		return append(b, "ms"...)
	}
}

// appendFrac appends v / 10^prec with the fraction's trailing zeros
// dropped, as time.Duration.String does.
func appendFrac(b []byte, v uint64, prec int) []byte {
	pow := uint64(1)
	for range prec {
		pow *= 10
	}
	b = strconv.AppendUint(b, v/pow, 10)
	frac := v % pow
	if frac == 0 {
		return b
	}
	var digits [9]byte
	n := prec
	for i := prec - 1; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	for n > 0 && digits[n-1] == '0' {
		n--
	}
	b = append(b, '.')
	return append(b, digits[:n]...)
}

// write writes one line of a record's time, level, message and attributes.
func (h *lineHandler) write(t time.Time, level slog.Level, msg string, attrs func(func(slog.Attr) bool)) error {
	bp := h.bufs.Get().(*[]byte)
	b := (*bp)[:0]
	if h.json {
		b = append(b, '{')
		if !t.IsZero() {
			b = append(b, `"time":"`...)
			b = t.AppendFormat(b, time.RFC3339Nano)
			b = append(b, `",`...)
		}
		b = append(b, `"level":`...)
		b = appendJSONString(b, level.String())
		b = append(b, `,"msg":`...)
		b = appendJSONString(b, msg)
		if len(h.prefix) > 0 {
			b = append(b, ',')
			b = append(b, h.prefix...)
		}
		first := len(h.prefix) > 0 && h.prefix[len(h.prefix)-1] == '{' // right after an opened group
		attrs(func(a slog.Attr) bool {
			if a.Equal(slog.Attr{}) {
				return true
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = h.appendJSONAttr(b, a)
			return true
		})
		for range h.open {
			b = append(b, '}')
		}
		b = append(b, "}\n"...)
	} else {
		if !t.IsZero() {
			b = append(b, "time="...)
			b = appendTextTime(b, t)
			b = append(b, ' ')
		}
		b = append(b, "level="...)
		b = append(b, level.String()...)
		b = append(b, " msg="...)
		b = appendTextString(b, msg)
		b = append(b, h.prefix...)
		attrs(func(a slog.Attr) bool {
			b = h.appendAttr(b, h.group, a)
			return true
		})
		b = append(b, '\n')
	}
	_, err := h.w.Write(b)
	*bp = b
	h.bufs.Put(bp)
	return err
}

// lastSecond is the text of the last whole second appendTextTime wrote,
// which most lines share.
type lastSecond struct {
	unix int64
	text [19]byte // 2006-01-02T15:04:05
}

// appendTextTime writes t as slog.TextHandler does
// (2006-01-02T15:04:05.000Z07:00), by hand when t is at offset 0.
func appendTextTime(b []byte, t time.Time) []byte {
	// Any zone at offset 0 (UTC, or a Local that is UTC, as in most
	// containers) prints as "Z"; others take the slow path.
	if _, off := t.Zone(); off != 0 {
		return t.AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	}
	return appendUTC(b, t)
}

// appendTextTimeCached is appendTextTime remembering the last second's text.
func (h *lineHandler) appendTextTimeCached(b []byte, t time.Time) []byte {
	// Any zone at offset 0 (UTC, or a Local that is UTC, as in most
	// containers) prints as "Z"; others take the slow path.
	if _, off := t.Zone(); off != 0 {
		return t.AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	}
	unix := t.Unix()
	last := h.second.Load()
	if last == nil || last.unix != unix {
		last = &lastSecond{unix: unix}
		appendUTC(last.text[:0], t.Truncate(time.Second))
		h.second.Store(last)
	}
	b = append(b, last.text[:]...)
	ms := t.Nanosecond() / 1e6
	return append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
}

func appendUTC(b []byte, t time.Time) []byte {
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	}
	digits := func(b []byte, v, n int) []byte {
		var d [4]byte
		for i := n - 1; i >= 0; i-- {
			d[i] = byte('0' + v%10)
			v /= 10
		}
		return append(b, d[:n]...)
	}
	b = digits(b, year, 4)
	b = append(b, '-')
	b = digits(b, int(month), 2)
	b = append(b, '-')
	b = digits(b, day, 2)
	b = append(b, 'T')
	b = digits(b, hour, 2)
	b = append(b, ':')
	b = digits(b, minute, 2)
	b = append(b, ':')
	b = digits(b, sec, 2)
	b = append(b, '.')
	b = digits(b, t.Nanosecond()/1e6, 3)
	return append(b, 'Z')
}

// appendAttr appends a text attribute, " key=value".
func (h *lineHandler) appendAttr(b []byte, group string, a slog.Attr) []byte {
	if h.json {
		if len(b) > 0 && b[len(b)-1] != '{' {
			b = append(b, ',')
		}
		return h.appendJSONAttr(b, a)
	}
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return b
	}
	if a.Value.Kind() == slog.KindGroup {
		g := group
		if a.Key != "" {
			g += a.Key + "."
		}
		for _, ga := range a.Value.Group() {
			b = h.appendAttr(b, g, ga)
		}
		return b
	}
	b = append(b, ' ')
	b = appendTextString(b, group+a.Key)
	b = append(b, '=')
	v := a.Value
	switch v.Kind() {
	case slog.KindString:
		return appendTextString(b, v.String())
	case slog.KindInt64:
		return strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindFloat64:
		return strconv.AppendFloat(b, v.Float64(), 'g', -1, 64)
	case slog.KindBool:
		return strconv.AppendBool(b, v.Bool())
	case slog.KindDuration:
		return appendTextString(b, v.Duration().String())
	case slog.KindTime:
		return appendTextTime(b, v.Time())
	}
	if e, ok := v.Any().(error); ok {
		return appendTextString(b, e.Error())
	}
	return appendTextString(b, fmt.Sprintf("%+v", v.Any()))
}

func (h *lineHandler) appendJSONAttr(b []byte, a slog.Attr) []byte {
	a.Value = a.Value.Resolve()
	b = appendJSONString(b, a.Key)
	b = append(b, ':')
	v := a.Value
	switch v.Kind() {
	case slog.KindString:
		return appendJSONString(b, v.String())
	case slog.KindInt64:
		return strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindFloat64:
		return strconv.AppendFloat(b, v.Float64(), 'g', -1, 64)
	case slog.KindBool:
		return strconv.AppendBool(b, v.Bool())
	case slog.KindDuration:
		return strconv.AppendInt(b, int64(v.Duration()), 10)
	case slog.KindTime:
		return appendJSONString(b, v.Time().Format(time.RFC3339Nano))
	case slog.KindGroup:
		b = append(b, '{')
		for i, ga := range v.Group() {
			if i > 0 {
				b = append(b, ',')
			}
			b = h.appendJSONAttr(b, ga)
		}
		return append(b, '}')
	}
	if e, ok := v.Any().(error); ok {
		return appendJSONString(b, e.Error())
	}
	j, err := json.Marshal(v.Any())
	if err != nil {
		return appendJSONString(b, fmt.Sprintf("%+v", v.Any()))
	}
	return append(b, j...)
}

// appendTextString writes s as slog.TextHandler does: bare, or quoted
// when it is empty or holds a space, a quote, an equals sign or a
// character that does not print.
func appendTextString(b []byte, s string) []byte {
	if needsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// plain marks the ASCII bytes a text value may hold unquoted.
var plain = func() (t [utf8.RuneSelf]bool) {
	for c := '!'; c <= 0x7f; c++ {
		t[c] = c != '=' && c != '"'
	}
	return t
}()

func needsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if !plain[c] {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || !strconv.IsPrint(r) || r == '\u00a0' {
			return true
		}
		i += size
	}
	return false
}

// appendJSONString writes s as a JSON string, as encoding/json would
// (but for <, > and &, which it leaves as they are).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, `\u202`...)
			b = append(b, hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
