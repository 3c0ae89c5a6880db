package task_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/eventfactory"
	"github.com/stepcqrs/stepcqrs/local"
	"github.com/stepcqrs/stepcqrs/task"
)

// Outcomes of a single task that must not be retried: each fails the
// task at its first attempt, with its cause and name, and deletes the
// message (nothing reaches the dead-letter queue, nothing stays QUEUED).
// A panic is an error like any other: with a receive limit of 1 it is
// the last attempt.
func TestSingleTaskPermanentFailures(t *testing.T) {
	reg := task.NewRegistry()
	var runs atomic.Int32
	task.Register(reg, "strict", func(_ context.Context, j task.Job[echo]) (echo, error) {
		runs.Add(1)
		return echo{}, task.Permanent(errors.New("rejected: " + j.Input.Text))
	})
	task.Register(reg, "typed", func(_ context.Context, j task.Job[echo]) (echo, error) {
		runs.Add(1)
		return j.Input, nil
	})
	task.Register(reg, "panicky", func(_ context.Context, j task.Job[echo]) (echo, error) {
		panic("kaboom")
	})
	rt := newRuntime(t, reg, func(o *local.Options) { o.Tasks.Settings.MaxReceiveCount = 1 })
	svc := rt.Tasks()
	for _, tc := range []struct {
		typ       string
		input     any
		errorName string
		error     string
	}{
		{"strict", echo{Text: "no"}, eventfactory.ErrorNameHandler, "rejected: no"},
		{"nobody", echo{}, task.ErrorNameUnknownType, `task: no handler registered for task type "nobody"`},
		{"typed", "not an object", task.ErrorNameInput, `task: input of task type "typed": json: cannot unmarshal string`},
		{"panicky", nil, eventfactory.ErrorNameHandlerPanic, "eventfactory: handler panicked: kaboom"},
	} {
		tk, err := svc.Create(bg, task.Input{TenantCode: "acme", Type: tc.typ, Input: tc.input})
		if err != nil {
			t.Fatal(err)
		}
		waitIdle(t, rt)
		got := get(t, svc, tk.Key()).Task
		if got.Status != task.StatusFailed || got.Attempts != 1 || got.ErrorName != tc.errorName || !strings.HasPrefix(got.Error, tc.error) {
			t.Errorf("%s: %s attempts %d error %q (%s)", tc.typ, got.Status, got.Attempts, got.Error, got.ErrorName)
		}
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("handlers ran %d times, want 1 (strict; typed never got its input)", n)
	}
	// Only the panic, an error like any other, at its last receive goes
	// the way of the dead-letter queue (after its visibility timeout).
	v, h, _ := rt.Queues.QueueDepth(rt.Config.TaskQueue())
	dv, dh, _ := rt.Queues.QueueDepth(rt.Config.TaskDLQ())
	if v != 0 || h != 1 || dv+dh != 0 {
		t.Errorf("messages left: queue %d visible %d hidden, dead-letter queue %d", v, h, dv+dh)
	}
}

// A message delivered again after the task completed runs nothing: the
// handler ran once, the row and its version stay, and the final status is
// notified again (at least once).
func TestSingleTaskRedeliveryAfterSuccess(t *testing.T) {
	reg := task.NewRegistry()
	var runs atomic.Int32
	task.Register(reg, "once", func(_ context.Context, j task.Job[echo]) (echo, error) {
		runs.Add(1)
		return echo{N: j.Input.N + 1}, nil
	})
	rt := newRuntime(t, reg, nil)
	n := watch(t, rt)
	svc := rt.Tasks()
	tk, err := svc.Create(bg, task.Input{TenantCode: "acme", Type: "once", Input: echo{N: 1}})
	if err != nil {
		t.Fatal(err)
	}
	waitIdle(t, rt)
	before := get(t, svc, tk.Key()).Task
	for range 3 {
		if _, err := rt.Queues.Send(bg, rt.Config.TaskQueue(), core.OutgoingMessage{Body: mustJSON(task.QueueMessage{PK: tk.PK, SK: tk.SK})}); err != nil {
			t.Fatal(err)
		}
	}
	waitIdle(t, rt)
	after := get(t, svc, tk.Key()).Task
	if runs.Load() != 1 || after.Version != before.Version || after.Status != task.StatusCompleted || string(after.Result) != `{"n":2}` {
		t.Fatalf("after redeliveries: ran %d times, %+v", runs.Load(), after)
	}
	want := []task.Status{task.StatusQueued, task.StatusProcessing, task.StatusCompleted, task.StatusCompleted, task.StatusCompleted, task.StatusCompleted}
	if got := n.of(tk.SK); !slices.Equal(got, want) {
		t.Fatalf("notifications %v, want %v", got, want)
	}
}

// hang holds the first run of a handler until released, while the
// runtime's wrapper reports the invocation as timed out: a Lambda that
// outlived its timeout, still holding the task.
type hang struct {
	mu       sync.Mutex
	release  chan struct{}
	held     chan struct{}
	first    bool
	returned chan struct{}
}

func newHang() *hang {
	return &hang{release: make(chan struct{}), held: make(chan struct{}), returned: make(chan struct{})}
}

// run blocks the first caller until release; it reports whether this was
// the first.
func (h *hang) run() bool {
	h.mu.Lock()
	first := !h.first
	h.first = true
	h.mu.Unlock()
	if first {
		close(h.held)
		<-h.release
	}
	return first
}

// timeoutFirst makes the first invocation that matches report a function
// timeout at once while its handler keeps running in the background.
func (h *hang) timeoutFirst(match func(json.RawMessage) bool) func(eventfactory.HandlerFunc) eventfactory.HandlerFunc {
	var once sync.Once
	return func(next eventfactory.HandlerFunc) eventfactory.HandlerFunc {
		return func(ctx context.Context, payload json.RawMessage) (any, error) {
			hit := false
			if match(payload) {
				once.Do(func() { hit = true })
			}
			if !hit {
				return next(ctx, payload)
			}
			go func() {
				defer close(h.returned)
				_, _ = next(context.WithoutCancel(ctx), payload)
			}()
			<-h.held
			return nil, messages.InvokeResponse_Error{Type: "Sandbox.Timedout", Message: "Task timed out after 900.00 seconds"}
		}
	}
}

// A delivery whose Lambda timed out while holding the task is taken over
// by the message's next delivery (its visibility timeout passed, so the
// first invocation is over by AWS's rule); the late outcome of the first
// one is dropped.
func TestSingleTaskTakeoverAfterTimeout(t *testing.T) {
	h := newHang()
	reg := task.NewRegistry()
	task.Register(reg, "slow", func(_ context.Context, j task.Job[echo]) (echo, error) {
		if h.run() {
			return echo{Text: "late"}, nil
		}
		return echo{Text: "second"}, nil
	})
	rt := newRuntime(t, reg, func(o *local.Options) {
		o.WrapHandler = h.timeoutFirst(func(p json.RawMessage) bool { return strings.Contains(string(p), `"eventSource":"aws:sqs"`) })
	})
	svc := rt.Tasks()
	tk, err := svc.Create(bg, task.Input{TenantCode: "acme", Type: "slow"})
	if err != nil {
		t.Fatal(err)
	}
	<-h.held
	waitIdle(t, rt)
	if got := get(t, svc, tk.Key()).Task; got.Status != task.StatusProcessing || got.Attempts != 1 {
		t.Fatalf("while the first delivery hangs: %+v", got)
	}
	if err := rt.AdvanceClock(svc.Settings().Lease); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, rt)
	got := get(t, svc, tk.Key()).Task
	if got.Status != task.StatusCompleted || got.Attempts != 2 || string(got.Result) != `{"n":0,"text":"second"}` {
		t.Fatalf("after the redelivery: %+v result %s", got, got.Result)
	}
	close(h.release)
	<-h.returned
	waitIdle(t, rt)
	if late := get(t, svc, tk.Key()).Task; late.Version != got.Version || string(late.Result) != string(got.Result) {
		t.Fatalf("the late first attempt changed the task: %+v", late)
	}
}

// A sub-task step that timed out while its handler still runs is taken
// over by the state's retry (a later retry of the same state entry); the
// counters count it once.
func TestSubTaskTakeoverAfterTimeout(t *testing.T) {
	h := newHang()
	reg := task.NewRegistry()
	var runs [6]atomic.Int32
	task.Register(reg, "slow", func(_ context.Context, j task.Job[echo]) (echo, error) {
		runs[j.Index].Add(1)
		if j.Index == 3 && h.run() {
			return echo{Text: "late"}, nil
		}
		return echo{N: j.Index}, nil
	})
	rt := newRuntime(t, reg, func(o *local.Options) {
		o.AutoAdvanceClock = true
		o.WrapHandler = h.timeoutFirst(func(p json.RawMessage) bool { i, ok := stepIndex(p); return ok && i == 3 })
	})
	svc := rt.Tasks()
	p, err := svc.CreateFanOut(bg, task.FanOutInput{TenantCode: "acme", Type: "slow", SubTasks: make([]any, 6)})
	if err != nil {
		t.Fatal(err)
	}
	waitIdle(t, rt)
	d := get(t, svc, p.Key())
	if d.Task.Status != task.StatusCompleted || d.Task.Counts != (task.Counts{Total: 6, Succeeded: 6}) {
		t.Fatalf("parent %s %+v", d.Task.Status, d.Task.Counts)
	}
	if s := d.SubTasks[3]; s.Attempts != 2 || string(s.Result) != `{"n":3}` || runs[3].Load() != 2 {
		t.Fatalf("sub-task 3: %+v result %s, ran %d", s, s.Result, runs[3].Load())
	}
	close(h.release)
	<-h.returned
	waitIdle(t, rt)
	if after := get(t, svc, p.Key()); after.Task.Counts != d.Task.Counts || after.SubTasks[3].Version != d.SubTasks[3].Version {
		t.Fatalf("the late attempt changed something: %+v %+v", after.Task.Counts, after.SubTasks[3])
	}
}

// Sub-tasks of a type nobody handles fail with the named error, at once,
// and the parent fails listing them; a result too large for its row fails
// its task instead of leaving it PROCESSING.
func TestUnknownTypeAndLargeResult(t *testing.T) {
	reg := task.NewRegistry()
	task.Register(reg, "big", func(_ context.Context, j task.Job[echo]) (echo, error) {
		return echo{Text: strings.Repeat("x", 500*1024)}, nil
	})
	rt := newRuntime(t, reg, nil)
	svc := rt.Tasks()
	p, err := svc.CreateFanOut(bg, task.FanOutInput{TenantCode: "acme", Type: "ghost", SubTasks: []any{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	big, err := svc.Create(bg, task.Input{TenantCode: "acme", Type: "big"})
	if err != nil {
		t.Fatal(err)
	}
	bigSub, err := svc.CreateFanOut(bg, task.FanOutInput{TenantCode: "acme", Type: "big", SubTasks: []any{echo{}}})
	if err != nil {
		t.Fatal(err)
	}
	waitIdle(t, rt)
	d := get(t, svc, p.Key())
	if d.Task.Status != task.StatusFailed || d.Task.Counts != (task.Counts{Total: 2, Failed: 2}) {
		t.Fatalf("parent %s %+v", d.Task.Status, d.Task.Counts)
	}
	for _, s := range d.SubTasks {
		if s.ErrorName != task.ErrorNameUnknownType || s.Attempts != 1 {
			t.Errorf("sub-task %d: %s %s attempts %d", s.Index, s.Status, s.ErrorName, s.Attempts)
		}
	}
	for _, k := range []*task.Task{big, bigSub} {
		d := get(t, svc, k.Key())
		if d.Task.Status != task.StatusFailed {
			t.Fatalf("%s: %s", k.Kind, d.Task.Status)
		}
		e := d.Task.Error
		if k.Kind == task.KindFanOut {
			e = d.SubTasks[0].Error
		}
		if !strings.Contains(e, "does not fit in its row") {
			t.Fatalf("%s: error %q", k.Kind, e)
		}
	}
}

// A duplicate of a step delivered while the original still runs finds the
// sub-task held: it fails with the named, retried TaskBusyError and runs
// nothing.
func TestConcurrentDuplicateStepIsBusy(t *testing.T) {
	held, release := make(chan struct{}), make(chan struct{})
	var runs atomic.Int32
	var dupErr error
	reg := task.NewRegistry()
	task.Register(reg, "w", func(_ context.Context, j task.Job[echo]) (echo, error) {
		if runs.Add(1) == 1 {
			close(held)
			<-release
		}
		return echo{N: 7}, nil
	})
	rt := newRuntime(t, reg, func(o *local.Options) {
		o.WrapHandler = func(next eventfactory.HandlerFunc) eventfactory.HandlerFunc {
			return func(ctx context.Context, payload json.RawMessage) (any, error) {
				if _, ok := stepIndex(payload); !ok {
					return next(ctx, payload)
				}
				type res struct {
					out any
					err error
				}
				first := make(chan res, 1)
				go func() {
					out, err := next(ctx, payload)
					first <- res{out, err}
				}()
				<-held
				_, dupErr = next(ctx, payload)
				close(release)
				r := <-first
				return r.out, r.err
			}
		}
	})
	p, err := rt.Tasks().CreateFanOut(bg, task.FanOutInput{TenantCode: "acme", Type: "w", SubTasks: []any{echo{}}})
	if err != nil {
		t.Fatal(err)
	}
	waitIdle(t, rt)
	// The Lambda boundary reports it by name (what Retry matches).
	if eventfactory.ErrorName(dupErr) != task.ErrorNameBusy || !strings.Contains(dupErr.Error(), "is held by attempt sfn|") || runs.Load() != 1 {
		t.Fatalf("duplicate: %v (%s), handler ran %d times", dupErr, eventfactory.ErrorName(dupErr), runs.Load())
	}
	if d := get(t, rt.Tasks(), p.Key()); d.Task.Status != task.StatusCompleted || d.SubTasks[0].Attempts != 1 {
		t.Fatalf("parent %s, sub-task %+v", d.Task.Status, d.SubTasks[0])
	}
}
