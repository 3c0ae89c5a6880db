package task

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/stepcqrs/stepcqrs/core"
)

// Page sizes of the read side.
const (
	// DefaultPageSize is the page size when a PageRequest has no Limit.
	DefaultPageSize = 100
	// MaxPageSize is the largest page.
	MaxPageSize = 1000
)

// PageRequest asks for one page: at most Limit items (0:
// DefaultPageSize, at most MaxPageSize) after the key After (nil: from
// the start), which is the Next of the previous page.
type PageRequest struct {
	Limit int
	After *core.Key
}

func (p PageRequest) limit() int {
	switch {
	case p.Limit <= 0:
		return DefaultPageSize
	case p.Limit > MaxPageSize:
		return MaxPageSize
	}
	return p.Limit
}

// Detail is a task with a page of its sub-tasks (none for a single
// task).
type Detail struct {
	Task     *Task
	SubTasks []*SubTask
	// Next continues the sub-tasks (Service.SubTasks); nil on the last
	// page.
	Next *core.Key
}

// SubTaskPage is one page of sub-tasks, in index order.
type SubTaskPage struct {
	SubTasks []*SubTask
	Next     *core.Key
}

// Failure is one failed sub-task of a parent, with its cause.
type Failure struct {
	// SubTask is the failed sub-task's key; Index its position.
	SubTask core.Key `json:"subTask"`
	Index   int      `json:"index"`
	// Error and ErrorName are the cause.
	Error     string    `json:"error"`
	ErrorName string    `json:"errorName,omitempty"`
	FailedAt  time.Time `json:"failedAt"`
}

// FailurePage is one page of failures, in index order.
type FailurePage struct {
	Failures []Failure
	Next     *core.Key
}

// ListInput asks for one page of the tasks of a tenant.
type ListInput struct {
	// TenantCode is the tenant. Required.
	TenantCode string
	// Type restricts the list to one task type (empty: every type,
	// grouped by type).
	Type string
	// Limit and After page through the list.
	Limit int
	After *core.Key
	// Oldest lists the oldest first; by default the newest come first.
	Oldest bool
}

// TaskPage is one page of tasks (single tasks and parents).
type TaskPage struct {
	Tasks []*Task
	Next  *core.Key
}

// checkAfter verifies that a continuation key belongs to the partition
// and prefix being read, so that a page token can never reach beyond the
// tenant's rows.
func checkAfter(after *core.Key, pk, prefix string) error {
	if after == nil {
		return nil
	}
	if after.PK != pk || !strings.HasPrefix(after.SK, prefix) {
		return &core.ValidationError{Problems: []string{fmt.Sprintf("task: page key %s/%s does not continue this list", after.PK, after.SK)}}
	}
	return nil
}

// Get returns the task at key, with the first page of its sub-tasks
// (page) when it is a parent. The tenant rule applies.
func (s *Service) Get(ctx context.Context, key core.Key, page PageRequest) (*Detail, error) {
	r, err := s.getTask(ctx, key)
	if err != nil {
		return nil, err
	}
	d := &Detail{Task: r.task()}
	if r.Kind == KindFanOut {
		p, err := s.subTasks(ctx, key, page)
		if err != nil {
			return nil, err
		}
		d.SubTasks, d.Next = p.SubTasks, p.Next
	}
	return d, nil
}

// getTask reads a task or parent after the key and tenant checks.
func (s *Service) getTask(ctx context.Context, key core.Key) (*row, error) {
	tenant, err := checkTaskKey(key)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, tenant); err != nil {
		return nil, err
	}
	r, err := s.read(ctx, key)
	if err != nil {
		return nil, err
	}
	if r.Kind != KindTask && r.Kind != KindFanOut {
		return nil, &core.NotFoundError{Kind: "task", Name: key.PK + "/" + key.SK}
	}
	return r, nil
}

// SubTasks returns one page of the sub-tasks of the parent at key, in
// index order. The tenant rule applies.
func (s *Service) SubTasks(ctx context.Context, key core.Key, page PageRequest) (SubTaskPage, error) {
	tenant, err := checkTaskKey(key)
	if err != nil {
		return SubTaskPage{}, err
	}
	if err := s.authorize(ctx, tenant); err != nil {
		return SubTaskPage{}, err
	}
	return s.subTasks(ctx, key, page)
}

func (s *Service) subTasks(ctx context.Context, key core.Key, page PageRequest) (SubTaskPage, error) {
	pk := KeyTypeSubTask + strings.TrimPrefix(key.PK, KeyTypeTask)
	items, next, err := s.page(ctx, pk, subTaskPrefix(key), page, false)
	if err != nil {
		return SubTaskPage{}, err
	}
	out := SubTaskPage{Next: next, SubTasks: make([]*SubTask, 0, len(items))}
	for _, r := range items {
		out.SubTasks = append(out.SubTasks, r.subTask())
	}
	return out, nil
}

// Failures returns one page of the failed sub-tasks of the parent at key,
// with their causes, in index order: it reads the failure records, never
// the sub-tasks that succeeded. The tenant rule applies.
func (s *Service) Failures(ctx context.Context, key core.Key, page PageRequest) (FailurePage, error) {
	tenant, err := checkTaskKey(key)
	if err != nil {
		return FailurePage{}, err
	}
	if err := s.authorize(ctx, tenant); err != nil {
		return FailurePage{}, err
	}
	pk := KeyTypeFailure + strings.TrimPrefix(key.PK, KeyTypeTask)
	items, next, err := s.page(ctx, pk, subTaskPrefix(key), page, false)
	if err != nil {
		return FailurePage{}, err
	}
	out := FailurePage{Next: next, Failures: make([]Failure, 0, len(items))}
	for _, r := range items {
		out.Failures = append(out.Failures, Failure{SubTask: subTaskKey(key, r.Index), Index: r.Index,
			Error: r.Error, ErrorName: r.ErrorName, FailedAt: r.FinishedAt})
	}
	return out, nil
}

// List returns one page of a tenant's single tasks and parents, of one
// type or all, newest first unless Oldest. The tenant rule applies.
func (s *Service) List(ctx context.Context, in ListInput) (TaskPage, error) {
	pk, err := core.NewPK(KeyTypeTask, in.TenantCode)
	if err != nil {
		return TaskPage{}, err
	}
	tenant, _ := core.TenantCodeOf(pk)
	if err := s.authorize(ctx, tenant); err != nil {
		return TaskPage{}, err
	}
	prefix := ""
	if in.Type != "" {
		if err := core.ValidateKeyPart("type", in.Type); err != nil {
			return TaskPage{}, err
		}
		prefix = in.Type + core.KeySeparator
	}
	items, next, err := s.page(ctx, pk, prefix, PageRequest{Limit: in.Limit, After: in.After}, !in.Oldest)
	if err != nil {
		return TaskPage{}, err
	}
	out := TaskPage{Next: next, Tasks: make([]*Task, 0, len(items))}
	for _, r := range items {
		out.Tasks = append(out.Tasks, r.task())
	}
	return out, nil
}

// page reads up to page.limit() rows of partition pk whose sk starts with
// prefix ("" for all), following the store's pages.
func (s *Service) page(ctx context.Context, pk, prefix string, page PageRequest, desc bool) ([]*row, *core.Key, error) {
	if err := checkAfter(page.After, pk, prefix); err != nil {
		return nil, nil, err
	}
	q := core.Query{PK: pk, StartAfter: page.After, Descending: desc, ConsistentRead: true}
	if prefix != "" {
		q.Op, q.SK = core.SKBeginsWith, prefix
	}
	limit := page.limit()
	var out []*row
	for {
		q.Limit = limit - len(out)
		p, err := s.store.Query(ctx, s.table, q)
		if err != nil {
			return nil, nil, err
		}
		for _, it := range p.Items {
			r, err := decodeRow(it)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, r)
		}
		if p.Next == nil {
			return out, nil, nil
		}
		if len(out) >= limit {
			return out, p.Next, nil
		}
		q.StartAfter = p.Next
	}
}
