package mockserver

import (
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// bus carries what happens on a server to the admin API's event stream
// (GET /__admin/events, server-sent events), for the dashboard. Publishing
// costs the serving path one atomic load when nobody listens; a listener
// that falls behind loses events and is told so, never slowing the server.
type bus struct {
	n    atomic.Int32
	mu   sync.Mutex
	subs map[chan []byte]struct{}
	// out sends each event to the other replicas sharing the server's
	// store, whose remote events come back through local.
	out func(kind string, msg []byte)
	// elsewhere is set while replicas sharing the store have listeners;
	// watch, if set, is told when this server gains its first listener or
	// loses its last.
	elsewhere atomic.Bool
	watch     func(listening bool)
}

// event kinds on the stream.
const (
	evTask    = "task"    // a task was created or answered
	evRequest = "request" // a request was journaled
	evReset   = "reset"
	evClock   = "clock"
)

func (b *bus) listening() bool { return b.n.Load() > 0 || b.elsewhere.Load() }

func (b *bus) subscribe() chan []byte {
	ch := make(chan []byte, 256)
	b.mu.Lock()
	if b.subs == nil {
		b.subs = map[chan []byte]struct{}{}
	}
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	if b.n.Add(1) == 1 && b.watch != nil {
		b.watch(true)
	}
	return ch
}

func (b *bus) unsubscribe(ch chan []byte) {
	b.mu.Lock()
	delete(b.subs, ch)
	b.mu.Unlock()
	if b.n.Add(-1) == 0 && b.watch != nil {
		b.watch(false)
	}
}

// publish sends an event of kind with data (JSON) to every listener.
func (b *bus) publish(kind string, data any) {
	if !b.listening() {
		return
	}
	body, err := json.Marshal(data)
	if err != nil {
		return
	}
	msg := make([]byte, 0, len(body)+len(kind)+16)
	msg = append(msg, "event: "...)
	msg = append(msg, kind...)
	msg = append(msg, "\ndata: "...)
	msg = append(msg, body...)
	msg = append(msg, "\n\n"...)
	if b.out != nil {
		b.out(kind, msg)
	}
	b.local(msg)
}

// local hands msg to this server's listeners.
func (b *bus) local(msg []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- msg:
		default:
			// The listener is behind: it will be told it lost events.
			select {
			case ch <- nil:
			default:
			}
		}
	}
}

// taskEvent is what the stream says of a task that changed.
type taskEvent struct {
	ID       string `json:"task_id"`
	Kind     string `json:"kind"`
	Scenario string `json:"scenario"`
	Endpoint string `json:"endpoint,omitempty"` // poll, result, file; empty for a creation
	Code     int    `json:"code,omitempty"`
	Status   string `json:"status,omitempty"`
	Fault    string `json:"fault,omitempty"`
	Step     int    `json:"step,omitempty"`
}

// adminEvents streams the bus as server-sent events until the client
// leaves or the server closes.
func (s *Server) adminEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// No write deadline: the stream lasts as long as the page.
	rc.SetWriteDeadline(time.Time{})
	ch := s.bus.subscribe()
	defer s.bus.unsubscribe(ch)
	w.Write([]byte("retry: 2000\n\nevent: hello\ndata: {}\n\n"))
	if rc.Flush() != nil {
		return
	}
	beat := time.NewTicker(15 * time.Second)
	defer beat.Stop()
	for {
		select {
		case msg := <-ch:
			if msg == nil {
				msg = []byte("event: lost\ndata: {}\n\n")
			}
			if _, err := w.Write(msg); err != nil {
				return
			}
		case <-beat.C:
			if _, err := w.Write([]byte(": keep-alive\n\n")); err != nil {
				return
			}
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
}
