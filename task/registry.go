package task

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/stepcqrs/stepcqrs/core"
)

// DefaultMaxConcurrency is the default MaxConcurrency of a task type: how
// many sub-tasks of one fan-out of the type run at once.
const DefaultMaxConcurrency = 2

// Job is what a handler gets: one single task or one sub-task, with its
// input decoded as In.
type Job[In any] struct {
	// Key is the task's key, or the sub-task's.
	Key core.Key
	// Parent is the fan-out parent of a sub-task (zero for a single task);
	// Index the sub-task's position, from 0.
	Parent core.Key
	Index  int
	// TenantCode, Type and Name are the task's (a sub-task's: its
	// parent's).
	TenantCode, Type, Name string
	// Input is the task's (or sub-task's) input.
	Input In
	// Attempt counts the attempts that took the task, this one included
	// (1 for the first).
	Attempt int
}

// SubTask reports whether the job is a sub-task of a fan-out.
func (j Job[In]) SubTask() bool { return j.Parent != (core.Key{}) }

// Handler runs one task or sub-task of a type and returns its result,
// stored as JSON. It runs at least once per task: a delivery that
// crashed, or a duplicate one, may run it again (never after the task was
// recorded COMPLETED or FAILED), so it should be idempotent.
//
// For a single task, an error fails the attempt, and the task is retried
// until the task queue's receive limit (Settings.MaxReceiveCount), unless
// the error is Permanent, *UnknownTypeError or *InputError. For a
// sub-task, an error fails the sub-task at once, except a
// *core.TransientError, which the state machine retries first.
//
// The context carries a core.Invoke for the task's tenant (TenantCode)
// and its creator (UserID), so that what the handler writes passes
// core.AuthorizeTenant for that tenant and records who caused it.
type Handler[In, Out any] func(ctx context.Context, job Job[In]) (Out, error)

// TypeOption configures a task type at registration.
type TypeOption func(*typeConfig)

type typeConfig struct {
	maxConcurrency int
}

// MaxConcurrency bounds how many sub-tasks of one fan-out of the type run
// at once (the task state machine's Map MaxConcurrency). Default
// DefaultMaxConcurrency; it must be at least 1.
func MaxConcurrency(n int) TypeOption { return func(c *typeConfig) { c.maxConcurrency = n } }

// entry is a registered type: its handler on raw JSON.
type entry struct {
	typ string
	cfg typeConfig
	run func(ctx context.Context, j Job[json.RawMessage]) (json.RawMessage, error)
}

// Registry holds the handlers by task type. Register adds them; mistakes
// (an empty or invalid type, a type registered twice, a nil handler, a
// concurrency below 1) are kept and reported by New, so that they fail at
// start-up, never at the first task. A Registry is not safe for
// concurrent registration; register everything before New.
type Registry struct {
	types    map[string]*entry
	problems []string
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry { return &Registry{types: map[string]*entry{}} }

// Register registers h for the tasks and sub-tasks of type typ: their
// input is decoded from JSON as In, and h's result is stored as JSON.
func Register[In, Out any](r *Registry, typ string, h Handler[In, Out], opts ...TypeOption) {
	cfg := typeConfig{maxConcurrency: DefaultMaxConcurrency}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case typ == "":
		r.problems = append(r.problems, "a handler is registered for an empty task type")
		return
	case core.ValidateKeyPart("type", typ) != nil:
		r.problems = append(r.problems, fmt.Sprintf("task type %q: %v", typ, core.ValidateKeyPart("type", typ)))
		return
	case r.types[typ] != nil:
		r.problems = append(r.problems, fmt.Sprintf("task type %q is registered twice", typ))
		return
	case h == nil:
		r.problems = append(r.problems, fmt.Sprintf("task type %q: nil handler", typ))
		return
	case cfg.maxConcurrency < 1:
		r.problems = append(r.problems, fmt.Sprintf("task type %q: MaxConcurrency %d is below 1", typ, cfg.maxConcurrency))
		return
	}
	r.types[typ] = &entry{typ: typ, cfg: cfg, run: func(ctx context.Context, j Job[json.RawMessage]) (json.RawMessage, error) {
		var in In
		if err := decodeInput(j.Input, &in); err != nil {
			return nil, &InputError{Type: typ, Err: err}
		}
		out, err := h(ctx, Job[In]{Key: j.Key, Parent: j.Parent, Index: j.Index, TenantCode: j.TenantCode,
			Type: j.Type, Name: j.Name, Input: in, Attempt: j.Attempt})
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(out)
		if err != nil {
			return nil, Permanent(fmt.Errorf("task: result of task type %q: %w", typ, err))
		}
		return b, nil
	}}
}

// decodeInput decodes a stored input; a missing input decodes as null.
func decodeInput(raw json.RawMessage, out any) error {
	if len(raw) == 0 {
		raw = json.RawMessage("null")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(out)
}

// Types returns the registered types, sorted.
func (r *Registry) Types() []string {
	if r == nil {
		return nil
	}
	out := make([]string, 0, len(r.types))
	for t := range r.types {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Validate returns the registration problems as a *core.ValidationError,
// nil when there is none.
func (r *Registry) Validate() error {
	if r == nil || len(r.problems) == 0 {
		return nil
	}
	return &core.ValidationError{Problems: append([]string(nil), r.problems...)}
}

// lookup returns the entry of typ, nil when unknown.
func (r *Registry) lookup(typ string) *entry {
	if r == nil {
		return nil
	}
	return r.types[typ]
}

// maxConcurrency returns the MaxConcurrency of typ (the default for an
// unregistered type).
func (r *Registry) maxConcurrency(typ string) int {
	if e := r.lookup(typ); e != nil {
		return e.cfg.maxConcurrency
	}
	return DefaultMaxConcurrency
}
