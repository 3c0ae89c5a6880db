package task_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/eventfactory"
	"github.com/stepcqrs/stepcqrs/local"
	"github.com/stepcqrs/stepcqrs/task"
)

// saturator holds every handler until as many run as the bound allows
// (limit, or fewer at the tail: the sub-tasks left) and no other sub-task
// step is on its way, so that the Map is kept full: a bound that is not
// enforced shows as more handlers in flight (the steps on their way reach
// the handler while the others wait), one that is too tight as a gate
// that never fills (a test failure after a deadline, not a hang).
type saturator struct {
	mu        sync.Mutex
	cond      *sync.Cond
	limit     int
	total     int
	inflight  int // handlers running
	invoking  int // sub-task step invocations running
	max       int
	finished  int
	timedOut  bool
	deadlined bool
}

// wrap counts the sub-task step invocations in flight.
func (s *saturator) wrap(next eventfactory.HandlerFunc) eventfactory.HandlerFunc {
	return func(ctx context.Context, payload json.RawMessage) (any, error) {
		if _, ok := stepIndex(payload); !ok {
			return next(ctx, payload)
		}
		s.mu.Lock()
		s.invoking++
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			s.invoking--
			s.cond.Broadcast()
			s.mu.Unlock()
		}()
		return next(ctx, payload)
	}
}

func newSaturator(limit, total int) *saturator {
	s := &saturator{limit: limit, total: total}
	s.cond = sync.NewCond(&s.mu)
	return s
}

func (s *saturator) enter() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight++
	s.max = max(s.max, s.inflight)
	s.cond.Broadcast()
	if !s.deadlined {
		s.deadlined = true
		time.AfterFunc(30*time.Second, func() {
			s.mu.Lock()
			s.timedOut = true
			s.cond.Broadcast()
			s.mu.Unlock()
		})
	}
	for (s.inflight < min(s.limit, s.total-s.finished) || s.invoking != s.inflight) && !s.timedOut {
		s.cond.Wait()
	}
}

func (s *saturator) leave() {
	s.mu.Lock()
	s.inflight--
	s.finished++
	s.cond.Broadcast()
	s.mu.Unlock()
}

func TestTaskConcurrencyBound(t *testing.T) {
	for _, tc := range []struct {
		name        string
		limit, subs int
		inlineMax   int // 0: default; below subs: the distributed Map
		opts        []task.TypeOption
	}{
		{name: "default", limit: task.DefaultMaxConcurrency, subs: 20},
		{name: "inline", limit: 3, subs: 30, opts: []task.TypeOption{task.MaxConcurrency(3)}},
		{name: "distributed", limit: 4, subs: 40, inlineMax: 10, opts: []task.TypeOption{task.MaxConcurrency(4)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sat := newSaturator(tc.limit, tc.subs)
			reg := task.NewRegistry()
			task.Register(reg, "bounded", func(_ context.Context, j task.Job[echo]) (echo, error) {
				sat.enter()
				defer sat.leave()
				return echo{N: j.Input.N + 1}, nil
			}, tc.opts...)
			rt := newRuntime(t, reg, func(o *local.Options) {
				o.Tasks.Settings.InlineMax = tc.inlineMax
				o.WrapHandler = sat.wrap
			})
			svc := rt.Tasks()
			in := make([]echo, tc.subs)
			for i := range in {
				in[i] = echo{N: i}
			}
			p, err := svc.CreateFanOut(bg, task.FanOutInput{TenantCode: "acme", Type: "bounded", Generate: task.Each(in)})
			if err != nil {
				t.Fatal(err)
			}
			waitIdle(t, rt)
			t.Logf("subtasks=%d max_in_flight=%d limit=%d", tc.subs, sat.max, tc.limit)
			if sat.timedOut {
				t.Fatalf("the Map never ran %d handlers at once", tc.limit)
			}
			if sat.max != tc.limit {
				t.Fatalf("max_in_flight = %d, want the limit %d", sat.max, tc.limit)
			}
			d := get(t, svc, p.Key())
			if d.Task.Status != task.StatusCompleted || d.Task.MaxConcurrency != tc.limit ||
				d.Task.Counts != (task.Counts{Total: int64(tc.subs), Succeeded: int64(tc.subs)}) {
				t.Fatalf("parent %+v", d.Task)
			}
			if (tc.inlineMax > 0) != (d.Task.Manifest != "") {
				t.Fatalf("manifest %q with InlineMax %d", d.Task.Manifest, tc.inlineMax)
			}
			for i, s := range allSubTasks(t, svc, p.Key()) {
				if s.Index != i || s.Status != task.StatusCompleted || string(s.Result) != mustJSON(echo{N: i + 1}) {
					t.Fatalf("sub-task %d: %+v result %s", i, s, s.Result)
				}
			}
			ex := execution(t, rt, d.Task)
			var out task.Summary
			if err := json.Unmarshal(ex.Output, &out); err != nil || ex.Status != core.ExecutionSucceeded ||
				out.Status != task.StatusCompleted || out.Counts != d.Task.Counts {
				t.Fatalf("execution %s %s: %v", ex.Status, ex.Output, err)
			}
		})
	}
}
