package task_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/task"
)

func TestSingleTaskEndToEnd(t *testing.T) {
	reg := task.NewRegistry()
	task.Register(reg, "double", func(_ context.Context, j task.Job[echo]) (echo, error) {
		return echo{N: j.Input.N * 2, Text: j.TenantCode + "/" + j.Name}, nil
	})
	rt := newRuntime(t, reg, nil)
	n := watch(t, rt)
	svc := rt.Tasks()
	created, err := svc.Create(bg, task.Input{TenantCode: "Acme", Type: "double", Name: "twice", Input: echo{N: 21}})
	if err != nil {
		t.Fatal(err)
	}
	if created.Status != task.StatusCreated || created.PK != "TASK#acme" || created.Kind != task.KindTask {
		t.Fatalf("created %+v", created)
	}
	waitIdle(t, rt)
	d := get(t, svc, created.Key())
	got := d.Task
	if got.Status != task.StatusCompleted || string(got.Result) != `{"n":42,"text":"acme/twice"}` || got.Attempts != 1 {
		t.Fatalf("task %+v result %s", got, got.Result)
	}
	if want := []task.Status{task.StatusQueued, task.StatusProcessing, task.StatusCompleted}; !slices.Equal(n.of(got.SK), want) {
		t.Errorf("notifications %v, want %v", n.of(got.SK), want)
	}
}

func TestFanOutEndToEnd(t *testing.T) {
	reg := task.NewRegistry()
	var mu sync.Mutex
	jobs := map[int]string{}
	task.Register(reg, "square", func(ctx context.Context, j task.Job[echo]) (echo, error) {
		inv, _ := core.FromContext(ctx)
		mu.Lock()
		jobs[j.Index] = fmt.Sprintf("%s %s %s %v tenant=%s user=%s", j.Parent.SK, j.Name, j.Type, j.SubTask(), inv.TenantCode, inv.UserID)
		mu.Unlock()
		if j.Input.N%5 == 3 {
			return echo{}, fmt.Errorf("no %d", j.Input.N)
		}
		return echo{N: j.Input.N * j.Input.N}, nil
	}, task.MaxConcurrency(3))
	rt := newRuntime(t, reg, nil)
	n := watch(t, rt)
	svc := rt.Tasks()
	var inputs []any
	for i := range 10 {
		inputs = append(inputs, echo{N: i})
	}
	ctx := core.NewContext(bg, core.Invoke{TenantCode: "acme", UserID: "u-1", External: true})
	p, err := svc.CreateFanOut(ctx, task.FanOutInput{TenantCode: "acme", Type: "square", Name: "squares", SubTasks: inputs})
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != task.StatusCreated || p.Kind != task.KindFanOut || p.Counts.Total != 10 || p.MaxConcurrency != 3 || p.CreatedBy != "u-1" {
		t.Fatalf("created %+v", p)
	}
	waitIdle(t, rt)
	d := get(t, svc, p.Key())
	subs := allSubTasks(t, svc, p.Key())
	if c := recount(subs); c != d.Task.Counts || c != (task.Counts{Total: 10, Succeeded: 8, Failed: 2}) {
		t.Fatalf("counts %+v recount %+v", d.Task.Counts, c)
	}
	for i, s := range subs {
		want := fmt.Sprintf("%s squares square true tenant=acme user=u-1", p.SK)
		if jobs[i] != want {
			t.Errorf("job %d: %q, want %q", i, jobs[i], want)
		}
		if s.Parent != p.Key() || s.Index != i || s.Attempts != 1 || s.Version != 3 {
			t.Errorf("sub-task %d: %+v", i, s)
		}
		if i%5 == 3 {
			if s.Status != task.StatusFailed || s.Error != fmt.Sprintf("no %d", i) || s.Result != nil {
				t.Errorf("sub-task %d: %s %q %s", i, s.Status, s.Error, s.Result)
			}
		} else if s.Status != task.StatusCompleted || string(s.Result) != mustJSON(echo{N: i * i}) {
			t.Errorf("sub-task %d: %s %s", i, s.Status, s.Result)
		}
		if got := n.of(s.SK); !slices.Equal(got, []task.Status{s.Status}) {
			t.Errorf("sub-task %d notifications %v", i, got)
		}
	}
	if fs := allFailures(t, svc, p.Key()); indexes(fs) != "3,8" || fs[1].Error != "no 8" || fs[1].SubTask != subs[8].Key() {
		t.Fatalf("failures %+v", fs)
	}
	if d.Task.Status != task.StatusFailed || d.Task.ErrorName != task.ErrorNameSubTasksFailed {
		t.Fatalf("parent %s %s", d.Task.Status, d.Task.ErrorName)
	}
	if got := n.of(p.SK); !slices.Equal(got, []task.Status{task.StatusProcessing, task.StatusFailed}) {
		t.Errorf("parent notifications %v", got)
	}
	ex := execution(t, rt, d.Task)
	if ex.Status != core.ExecutionFailed || ex.Error != task.ErrorNameTaskFailed || ex.Cause != "2 of 10 sub-tasks failed (see the failures)" {
		t.Fatalf("execution %s %s %q", ex.Status, ex.Error, ex.Cause)
	}
	var in task.ExecutionInput
	dec := json.NewDecoder(strings.NewReader(string(ex.Input)))
	dec.DisallowUnknownFields() // keys and sizes only
	if err := dec.Decode(&in); err != nil || in != (task.ExecutionInput{PK: p.PK, SK: p.SK, Total: 10, MaxConcurrency: 3}) {
		t.Fatalf("execution input %s: %v", ex.Input, err)
	}
}
