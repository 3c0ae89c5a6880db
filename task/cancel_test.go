package task_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/task"
)

// Cancelling a running parent: no new sub-task starts, the running ones
// finish and count, the parent ends CANCELLED, and the execution agrees.
func TestCancelRunningFanOut(t *testing.T) {
	started := make(chan int, 10)
	release := make(chan struct{})
	reg := task.NewRegistry()
	task.Register(reg, "block", func(_ context.Context, j task.Job[echo]) (echo, error) {
		started <- j.Index
		<-release
		return echo{N: j.Index}, nil
	}) // MaxConcurrency 2
	rt := newRuntime(t, reg, nil)
	n := watch(t, rt)
	svc := rt.Tasks()
	p, err := svc.CreateFanOut(bg, task.FanOutInput{TenantCode: "acme", Type: "block", SubTasks: make([]any, 10)})
	if err != nil {
		t.Fatal(err)
	}
	running := []int{<-started, <-started} // the Map is full
	c, err := svc.Cancel(bg, p.Key())
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != task.StatusCancelling {
		t.Fatalf("Cancel returned %s", c.Status)
	}
	again, err := svc.Cancel(bg, p.Key())
	if err != nil || again.Version != c.Version {
		t.Fatalf("second Cancel: %+v %v", again, err)
	}
	close(release)
	waitIdle(t, rt)
	d := get(t, svc, p.Key())
	if d.Task.Status != task.StatusCancelled || d.Task.Counts != (task.Counts{Total: 10, Succeeded: 2, Cancelled: 8}) {
		t.Fatalf("parent %s %+v", d.Task.Status, d.Task.Counts)
	}
	if len(started) != 0 {
		t.Fatalf("sub-task %d started after the cancel", <-started)
	}
	for _, s := range d.SubTasks {
		want := task.StatusCancelled
		if slices.Contains(running, s.Index) {
			want = task.StatusCompleted
		}
		if s.Status != want {
			t.Errorf("sub-task %d: %s, want %s", s.Index, s.Status, want)
		}
	}
	if c := recount(d.SubTasks); c != d.Task.Counts {
		t.Errorf("recount %+v", c)
	}
	ex := execution(t, rt, d.Task)
	if ex.Status != core.ExecutionFailed || ex.Error != task.ErrorNameTaskCancelled || ex.Cause != d.Task.Error ||
		d.Task.Error != "cancelled: 2 of 10 sub-tasks completed, 0 failed, 8 not started" {
		t.Fatalf("execution %s %s %q; parent error %q", ex.Status, ex.Error, ex.Cause, d.Task.Error)
	}
	if got := n.of(p.SK); !slices.Equal(got, []task.Status{task.StatusProcessing, task.StatusCancelling, task.StatusCancelled}) {
		t.Errorf("parent notifications %v", got)
	}
	if _, err := svc.Cancel(bg, p.Key()); err != nil {
		t.Errorf("Cancel of a cancelled parent: %v", err)
	}
}

// A parent cancelled before its stream record arrives never starts; a
// single task cancelled while QUEUED never runs; a final task cannot be
// cancelled.
func TestCancelBeforeStart(t *testing.T) {
	var mu sync.Mutex
	var ran []string
	reg := task.NewRegistry()
	task.Register(reg, "w", func(_ context.Context, j task.Job[echo]) (echo, error) {
		mu.Lock()
		ran = append(ran, j.Key.SK)
		mu.Unlock()
		return echo{}, nil
	})
	rt := newRuntime(t, reg, nil)
	svc := rt.Tasks()
	rt.PauseStreams()
	p, err := svc.CreateFanOut(bg, task.FanOutInput{TenantCode: "acme", Type: "w", SubTasks: make([]any, 3)})
	if err != nil {
		t.Fatal(err)
	}
	single, err := svc.Create(bg, task.Input{TenantCode: "acme", Type: "w"})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []*task.Task{p, single} {
		c, err := svc.Cancel(bg, k.Key())
		if err != nil || c.Status != task.StatusCancelled {
			t.Fatalf("Cancel %s: %+v %v", k.Kind, c, err)
		}
	}
	rt.ResumeStreams()
	waitIdle(t, rt)
	if len(ran) != 0 || len(rt.Running()) != 0 || rt.Stats().ExecutionsStarted != 0 {
		t.Fatalf("ran %v, executions %d", ran, rt.Stats().ExecutionsStarted)
	}
	d := get(t, svc, p.Key())
	if d.Task.Status != task.StatusCancelled || d.Task.Counts.Pending() != 3 || d.SubTasks[0].Status != task.StatusCreated {
		t.Fatalf("parent %s %+v, sub-task %s", d.Task.Status, d.Task.Counts, d.SubTasks[0].Status)
	}
	done, err := svc.Create(bg, task.Input{TenantCode: "acme", Type: "w"})
	if err != nil {
		t.Fatal(err)
	}
	waitIdle(t, rt)
	_, err = svc.Cancel(bg, done.Key())
	var se *task.StatusError
	if !errors.Is(err, task.ErrNotCancellable) || !errors.As(err, &se) || se.Status != task.StatusCompleted {
		t.Fatalf("Cancel of a completed task: %v", err)
	}
	if _, err := svc.Cancel(bg, core.Key{PK: "TASK#acme", SK: "w#missing"}); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("Cancel of a missing task: %v", err)
	}
}
