package task_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/eventfactory"
	"github.com/stepcqrs/stepcqrs/local"
	"github.com/stepcqrs/stepcqrs/task"
)

// duplicator delivers a share of the sub-task steps twice, as Step
// Functions and Lambda may (a retry after a lost result, an invocation
// that outlives its state): half at the same time (the state machine gets
// either result), half one after the other (the first result is lost).
type duplicator struct {
	rate float64

	mu         sync.Mutex
	rnd        *rand.Rand
	concurrent map[int]bool // sub-task indexes delivered twice at once
	sequential map[int]bool
}

// stepIndex returns the sub-task index of a SubTask step payload.
func stepIndex(payload json.RawMessage) (int, bool) {
	var p struct {
		Input struct {
			Index *int `json:"index"`
		} `json:"input"`
		Context struct {
			State struct{ Name string }
		} `json:"context"`
	}
	if json.Unmarshal(payload, &p) != nil || p.Input.Index == nil ||
		(p.Context.State.Name != task.StateSubTask && p.Context.State.Name != task.StateSubTaskDistributed) {
		return 0, false
	}
	return *p.Input.Index, true
}

func (d *duplicator) wrap(next eventfactory.HandlerFunc) eventfactory.HandlerFunc {
	return func(ctx context.Context, payload json.RawMessage) (any, error) {
		i, ok := stepIndex(payload)
		if !ok {
			return next(ctx, payload)
		}
		d.mu.Lock()
		dup, together, pickFirst := d.rnd.Float64() < d.rate, d.rnd.IntN(2) == 0, d.rnd.IntN(2) == 0
		if dup && together {
			d.concurrent[i] = true
		} else if dup {
			d.sequential[i] = true
		}
		d.mu.Unlock()
		switch {
		case !dup:
			return next(ctx, payload)
		case !together:
			_, _ = next(ctx, payload) // its result is lost
			return next(ctx, payload)
		}
		type res struct {
			out any
			err error
		}
		var wg sync.WaitGroup
		var rs [2]res
		for k := range rs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rs[k].out, rs[k].err = next(ctx, payload)
			}()
		}
		wg.Wait()
		r := rs[1]
		if pickFirst {
			r = rs[0]
		}
		return r.out, r.err
	}
}

func TestTaskUnderFaults(t *testing.T) {
	const subs = 1200 // beyond Settings.InlineMax: the distributed Map
	dup := &duplicator{rate: 0.10, rnd: rand.New(rand.NewPCG(1, 2)), concurrent: map[int]bool{}, sequential: map[int]bool{}}
	var runs [subs]atomic.Int32
	failing := func(i int) bool { return i%20 == 7 } // 5%
	reg := task.NewRegistry()
	task.Register(reg, "faulty", func(_ context.Context, j task.Job[echo]) (echo, error) {
		runs[j.Index].Add(1)
		if failing(j.Input.N) {
			return echo{}, fmt.Errorf("boom %d", j.Input.N)
		}
		return echo{N: j.Input.N * 3}, nil
	}, task.MaxConcurrency(8))
	rt := newRuntime(t, reg, func(o *local.Options) {
		o.WrapHandler = dup.wrap
		o.Faults.LambdaFailureRate = 0.02
		o.AutoAdvanceClock = true // retry intervals pass by themselves
	})
	svc := rt.Tasks()
	p, err := svc.CreateFanOut(bg, task.FanOutInput{TenantCode: "acme", Type: "faulty",
		Generate: func(yield func(any, error) bool) {
			for i := range subs {
				if !yield(echo{N: i}, nil) {
					return
				}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	waitIdle(t, rt)

	parent := get(t, svc, p.Key()).Task
	rows := allSubTasks(t, svc, p.Key())
	counted := recount(rows)
	var completed, failed, lost, stuck int
	wantFailed := map[int]bool{}
	for i := range subs {
		if failing(i) {
			wantFailed[i] = true
		}
	}
	for i, s := range rows {
		switch {
		case s.Index != i:
			t.Fatalf("row %d has index %d", i, s.Index)
		case s.Status == task.StatusCompleted:
			completed++
			if failing(i) || string(s.Result) != mustJSON(echo{N: i * 3}) {
				t.Errorf("sub-task %d completed with %s", i, s.Result)
			}
		case s.Status == task.StatusFailed:
			failed++
			if !failing(i) || s.Error != fmt.Sprintf("boom %d", i) {
				t.Errorf("sub-task %d failed with %q", i, s.Error)
			}
		case s.Status == task.StatusProcessing:
			stuck++
		default:
			lost++
		}
		n := runs[i].Load()
		switch {
		case n < 1:
			t.Errorf("sub-task %d: handler never ran", i)
		case n > 1 && !dup.concurrent[i]:
			t.Errorf("sub-task %d: handler ran %d times, though no delivery ran alongside another", i, n)
		case n > 2:
			t.Errorf("sub-task %d: handler ran %d times", i, n)
		}
	}
	lost += subs - len(rows)
	exact := parent.Counts == counted
	twice := 0
	for i := range runs {
		if runs[i].Load() > 1 {
			twice++
		}
	}
	t.Logf("duplicated=%d (together %d, handler ran twice %d) lambda_failures=%d", len(dup.concurrent)+len(dup.sequential), len(dup.concurrent), twice,
		rt.Stats().InjectedFailures)
	t.Logf("subtasks=%d completed=%d failed=%d counters_exact=%t lost=%d stuck=%d", subs, completed, failed, exact, lost, stuck)
	if !exact || lost != 0 || stuck != 0 || failed != len(wantFailed) || completed != subs-len(wantFailed) {
		t.Fatalf("parent counts %+v, recount %+v", parent.Counts, counted)
	}
	if len(dup.concurrent) == 0 || len(dup.sequential) == 0 {
		t.Fatalf("no duplicate delivered: %d together, %d in turn", len(dup.concurrent), len(dup.sequential))
	}
	// The parent: FAILED, listing exactly the failed sub-tasks and their
	// causes; the execution agrees.
	if parent.Status != task.StatusFailed || parent.Counts.Running != 0 ||
		parent.Error != fmt.Sprintf("%d of %d sub-tasks failed (see the failures)", len(wantFailed), subs) {
		t.Fatalf("parent %s %q %+v", parent.Status, parent.Error, parent.Counts)
	}
	fs := allFailures(t, svc, p.Key())
	if len(fs) != len(wantFailed) {
		t.Fatalf("%d failures listed, want %d", len(fs), len(wantFailed))
	}
	for _, f := range fs {
		if !wantFailed[f.Index] || f.Error != fmt.Sprintf("boom %d", f.Index) || f.SubTask != rows[f.Index].Key() {
			t.Errorf("failure %+v", f)
		}
	}
	ex := execution(t, rt, parent)
	if ex.Status != core.ExecutionFailed || ex.Error != task.ErrorNameTaskFailed || ex.Cause != parent.Error {
		t.Fatalf("execution %s %s %q", ex.Status, ex.Error, ex.Cause)
	}
	if !strings.HasPrefix(parent.Manifest, "stepcqrs/tasks/acme/faulty/") {
		t.Fatalf("manifest %q: the fan-out did not take the distributed Map", parent.Manifest)
	}
}
