package task_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
	"github.com/stepcqrs/stepcqrs/local"
	"github.com/stepcqrs/stepcqrs/task"
)

var bg = context.Background()

// newRuntime starts an embedded runtime with the task capability and the
// handlers reg holds.
func newRuntime(t testing.TB, reg *task.Registry, tweak func(*local.Options)) *local.Runtime {
	t.Helper()
	o := local.Options{Modules: []string{"order"}, Tasks: &local.TaskOptions{Registry: reg}, Seed: 7}
	if tweak != nil {
		tweak(&o)
	}
	rt, err := local.New(bg, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	return rt
}

func waitIdle(t testing.TB, rt *local.Runtime) {
	t.Helper()
	ctx, cancel := context.WithTimeout(bg, 60*time.Second)
	defer cancel()
	if err := rt.WaitIdle(ctx); err != nil {
		t.Fatalf("%v; running: %v", err, rt.Running())
	}
}

// get reads a task with its first page of sub-tasks.
func get(t testing.TB, svc *task.Service, k core.Key) *task.Detail {
	t.Helper()
	d, err := svc.Get(bg, k, task.PageRequest{Limit: task.MaxPageSize})
	if err != nil {
		t.Fatalf("Get %s: %v", k.SK, err)
	}
	return d
}

// allSubTasks reads every sub-task of parent, in index order.
func allSubTasks(t testing.TB, svc *task.Service, parent core.Key) []*task.SubTask {
	t.Helper()
	var out []*task.SubTask
	req := task.PageRequest{Limit: 500}
	for {
		p, err := svc.SubTasks(bg, parent, req)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.SubTasks...)
		if p.Next == nil {
			return out
		}
		req.After = p.Next
	}
}

// allFailures reads every failure record of parent.
func allFailures(t testing.TB, svc *task.Service, parent core.Key) []task.Failure {
	t.Helper()
	var out []task.Failure
	req := task.PageRequest{Limit: 7}
	for {
		p, err := svc.Failures(bg, parent, req)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Failures...)
		if p.Next == nil {
			return out
		}
		req.After = p.Next
	}
}

// recount counts sub-tasks by status, from their rows.
func recount(subs []*task.SubTask) task.Counts {
	c := task.Counts{Total: int64(len(subs))}
	for _, s := range subs {
		switch s.Status {
		case task.StatusCompleted:
			c.Succeeded++
		case task.StatusFailed:
			c.Failed++
		case task.StatusCancelled:
			c.Cancelled++
		case task.StatusProcessing:
			c.Running++
		}
	}
	return c
}

// execution returns the task execution of parent.
func execution(t testing.TB, rt *local.Runtime, parent *task.Task) core.Execution {
	t.Helper()
	ex, err := rt.Workflows.DescribeExecution(bg, parent.ExecutionARN)
	if err != nil {
		t.Fatalf("DescribeExecution %s: %v", parent.ExecutionARN, err)
	}
	return ex
}

// notifications collects the messages published on the notification
// topic.
type notifications struct {
	mu   sync.Mutex
	msgs []task.Notification
}

func watch(t testing.TB, rt *local.Runtime) *notifications {
	t.Helper()
	n := &notifications{}
	unsub, err := rt.Topics.Subscribe(rt.Config.NotificationTopic(), func(_ context.Context, p memory.Published) {
		var m task.Notification
		if err := json.Unmarshal([]byte(p.Message), &m); err != nil || p.Attributes["action"] != m.Action {
			t.Errorf("notification %s (attributes %v): %v", p.Message, p.Attributes, err)
			return
		}
		n.mu.Lock()
		n.msgs = append(n.msgs, m)
		n.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(unsub)
	return n
}

// of returns the statuses notified for sk, in order.
func (n *notifications) of(sk string) []task.Status {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []task.Status
	for _, m := range n.msgs {
		if m.SK == sk {
			out = append(out, m.Status)
		}
	}
	return out
}

// echo is a handler input and result.
type echo struct {
	N    int    `json:"n"`
	Text string `json:"text,omitempty"`
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func indexes(fs []task.Failure) string {
	var b strings.Builder
	for i, f := range fs {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprint(&b, f.Index)
	}
	return b.String()
}
