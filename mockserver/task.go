package mockserver

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/mockserver/judge"
)

// TaskInfo is a snapshot of a task, as [Task.Info] and the admin API
// (GET /__admin/tasks/{id}) give it.
type TaskInfo struct {
	ID        string          `json:"task_id"`
	Kind      string          `json:"kind"`
	Scenario  string          `json:"scenario"`
	Created   time.Time       `json:"created_at"`            // by the server's clock
	Elapsed   Duration        `json:"elapsed"`               // since creation, by the server's clock
	RunID     int64           `json:"run_id"`                // the run its SUCCESS names
	Length    Duration        `json:"audio_length"`          // of its audio
	AudioType string          `json:"audio_type,omitempty"`  // as the create request said, such as sound or music
	Polls     int             `json:"polls"`                 // status polls answered
	Results   int             `json:"results"`               // result requests answered
	InFlight  int             `json:"in_flight"`             // requests arrived and not answered yet (a hang, a latency)
	Step      int             `json:"poll_step"`             // the poll step that answered last, 1-based; 0 before the first poll
	Steps     int             `json:"poll_steps"`            // how many steps the poll script has
	Status    cambmock.Status `json:"last_status,omitempty"` // the last status delivered
	// ExpiresAt is when the task will be forgotten if no request comes
	// first ([WithTaskTTL]); nil when tasks do not expire.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	History   []Event    `json:"history"`         // the answers kept, oldest first
	Dropped   int        `json:"history_dropped"` // answers folded out of History (the judge still counts them)
}

func (s *Server) info(sn snapshot) TaskInfo {
	sc := s.scenarios[sn.meta.scenario]
	ti := TaskInfo{
		ID:        sn.meta.id,
		Kind:      s.kinds[sn.meta.kind].Name,
		Scenario:  sc.Name,
		Created:   sn.meta.created,
		Elapsed:   Duration(sn.elapsed),
		RunID:     sn.meta.runID,
		Length:    Duration(sn.meta.length),
		AudioType: sn.meta.audioType,
		Polls:     sn.polls,
		Results:   sn.results,
		InFlight:  sn.inFlight,
		Step:      sn.step,
		Steps:     len(sc.Poll),
		Status:    cambmock.Status(sn.last),
		History:   sn.history.Events,
		Dropped:   sn.history.Earlier.Events,
	}
	if ti.History == nil {
		ti.History = []Event{}
	}
	if !sn.expires.IsZero() {
		e := sn.expires
		ti.ExpiresAt = &e
	}
	return ti
}

// A Task is a handle on one task of a [Server].
type Task struct {
	s  *Server
	id string
}

// Task returns a handle on the task with the given id; the error wraps
// [ErrNoTask] if there is none.
func (s *Server) Task(id string) (*Task, error) {
	if _, err := s.store.task(context.Background(), id); err != nil {
		return nil, err
	}
	return &Task{s: s, id: id}, nil
}

// Tasks returns a handle on every task, oldest first.
func (s *Server) Tasks() []*Task {
	all, _, _ := s.store.tasks(context.Background(), taskQuery{})
	out := make([]*Task, len(all))
	for i, sn := range all {
		out[len(all)-1-i] = &Task{s: s, id: sn.meta.id}
	}
	return out
}

// ID returns the task's id.
func (t *Task) ID() string { return t.id }

// Info returns a snapshot of the task; a task that has gone (reset or
// expired) has only its id.
func (t *Task) Info() TaskInfo {
	sn, err := t.s.store.task(context.Background(), t.id)
	if err != nil {
		return TaskInfo{ID: t.id, History: []Event{}}
	}
	return t.s.info(sn)
}

// History returns what the mock delivered to the task's client, as the
// judge reads it.
func (t *Task) History() (judge.History, error) {
	sn, err := t.s.store.task(context.Background(), t.id)
	if err != nil {
		return judge.History{}, err
	}
	return sn.history, nil
}

// Discipline judges how the task has been polled so far.
func (t *Task) Discipline(rules Rules) Discipline {
	h, err := t.History()
	if err != nil {
		h = judge.History{Task: t.id}
	}
	return judge.Judge(h, rules, t.s.spec)
}

// NewTask is a task to create with [Server.CreateTask]: the admin API's
// POST /__admin/tasks body.
type NewTask struct {
	Kind      string   `json:"kind,omitempty"`       // empty: the spec's default kind (text-to-sound)
	Scenario  string   `json:"scenario,omitempty"`   // empty: the server's default
	ID        string   `json:"task_id,omitempty"`    // empty: a random id
	Prompt    string   `json:"prompt,omitempty"`     // picks the audio; empty is allowed
	Duration  Duration `json:"duration,omitempty"`   // of the audio; zero: the kind's default (music: always 30s)
	AudioType string   `json:"audio_type,omitempty"` // as the kind's create request takes it, such as sound or music
}

// CreateTask creates a task directly, as if a create request had, but
// without playing the scenario's create script; it is how a test makes a
// task for a client that only polls. A chosen id that is taken is an error
// wrapping [ErrTaskExists]; an unknown scenario, [ErrUnknownScenario]; an
// unknown kind, [ErrUnknownKind].
func (s *Server) CreateTask(nt NewTask) (*Task, error) {
	return s.createTask(context.Background(), nt)
}

func (s *Server) createTask(ctx context.Context, nt NewTask) (*Task, error) {
	name := nt.Scenario
	if name == "" {
		name = s.def.Name
	}
	sc, err := s.lookupScenario(name)
	if err != nil {
		return nil, err
	}
	k := s.kinds[0]
	if d := s.spec.DefaultKind(); d != nil {
		k, _ = s.kindByName(d.Name)
	}
	if nt.Kind != "" {
		if k, err = s.kindByName(nt.Kind); err != nil {
			return nil, err
		}
	}
	if strings.ContainsAny(nt.ID, "/?#%") || strings.TrimSpace(nt.ID) != nt.ID || len(nt.ID) > 256 {
		return nil, fmt.Errorf("task id %q cannot be used in a URL path; use letters, digits, dashes and underscores, at most 256 characters", nt.ID)
	}
	length := time.Duration(nt.Duration)
	body := map[string]any{}
	if nt.AudioType != "" {
		body["audio_type"] = nt.AudioType
		if types := enumOf(k.Create, "audio_type"); types != nil && !slices.Contains(types, nt.AudioType) {
			return nil, fmt.Errorf("audio_type %q is not one of %s", nt.AudioType, strings.Join(types, ", "))
		}
	}
	if al := k.Create.AudioLength; al != nil {
		if length > 0 {
			body[al.Field] = length.Seconds()
		}
		secs, _, _ := al.Seconds(body)
		length = time.Duration(secs * float64(time.Second))
	}
	switch {
	case length < 0:
		return nil, fmt.Errorf("duration %v is below zero; give a length such as \"5s\"", length)
	case length == 0:
		length = DefaultDuration
	case length > maxAudio:
		return nil, fmt.Errorf("duration %v is over an hour; give at most \"1h\"", length)
	}
	audioType := nt.AudioType
	if audioType == "" {
		audioType = schemaDefault(k.Create, "audio_type")
	}
	seed := fnvString(nt.Prompt + "\x00")
	meta, err := s.store.create(ctx, taskSpec{id: nt.ID, scenario: sc.index, kind: k.index, audioType: audioType, seed: seed, length: length})
	if err != nil {
		return nil, err
	}
	s.bus.publish(evTask, taskEvent{ID: meta.id, Kind: k.Name, Scenario: sc.Name})
	return &Task{s: s, id: meta.id}, nil
}

// enumOf returns the enum of a string property of op's request body, or nil.
func enumOf(op *cambmock.Operation, prop string) []string {
	if op.Op.RequestBody == nil || op.Op.RequestBody.Value == nil {
		return nil
	}
	for _, mt := range op.Op.RequestBody.Value.Content {
		if mt.Schema == nil || mt.Schema.Value == nil {
			continue
		}
		if p := mt.Schema.Value.Properties[prop]; p != nil && p.Value != nil {
			var out []string
			for _, v := range p.Value.Enum {
				if s, ok := v.(string); ok {
					out = append(out, s)
				}
			}
			return out
		}
	}
	return nil
}

func fnvString(s string) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= prime
	}
	return h
}
