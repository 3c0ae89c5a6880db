package task

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stepcqrs/stepcqrs/core"
)

// Status is where a task, a fan-out parent or a sub-task is. It is stored
// in the row's "status" attribute.
type Status string

// Statuses. COMPLETED, FAILED and CANCELLED are final.
const (
	// StatusCreated: the row is written; nothing has picked it up yet.
	StatusCreated Status = "CREATED"
	// StatusQueued: a single task waits in the task queue (also after a
	// failed attempt that will be retried; Error then holds its cause).
	StatusQueued Status = "QUEUED"
	// StatusProcessing: a handler runs the task or sub-task; for a fan-out
	// parent, its execution runs the sub-tasks.
	StatusProcessing Status = "PROCESSING"
	// StatusCompleted: done; Result holds the handler's result (a parent:
	// every sub-task completed).
	StatusCompleted Status = "COMPLETED"
	// StatusFailed: given up; Error holds the cause (a parent: at least
	// one sub-task failed, see Service.Failures).
	StatusFailed Status = "FAILED"
	// StatusCancelling: a parent was cancelled while its sub-tasks run: no
	// new sub-task starts, running ones finish.
	StatusCancelling Status = "CANCELLING"
	// StatusCancelled: cancelled; nothing runs any more.
	StatusCancelled Status = "CANCELLED"
)

// Final reports whether s is a final status.
func (s Status) Final() bool {
	return s == StatusCompleted || s == StatusFailed || s == StatusCancelled
}

// Kind says what a row of the tasks table is.
type Kind string

// Kinds of rows.
const (
	// KindTask is a single task, run once by the queue consumer.
	KindTask Kind = "task"
	// KindFanOut is the parent of sub-tasks, run by the task state
	// machine.
	KindFanOut Kind = "fanout"
	// KindSubTask is one sub-task of a fan-out.
	KindSubTask Kind = "subtask"
	// KindFailure lists one failed sub-task of a fan-out, with its cause.
	KindFailure Kind = "failure"
)

// Key types of the tasks table: a row's pk is TYPE#tenantCode.
const (
	// KeyTypeTask is the pk type of single tasks and fan-out parents; their
	// sk is {task type}#{id}.
	KeyTypeTask = "TASK"
	// KeyTypeSubTask is the pk type of sub-tasks; their sk is the parent's
	// sk followed by #{index}, the index zero-padded to IndexDigits.
	KeyTypeSubTask = "SUBTASK"
	// KeyTypeFailure is the pk type of the failure records of failed
	// sub-tasks (the same sk as the sub-task): written in the same
	// transaction that fails the sub-task, they let Failures page through
	// the failures of a parent without reading its other sub-tasks.
	KeyTypeFailure = "SUBTASKFAILURE"
)

// IndexDigits is the width sub-task indexes are zero-padded to in sort
// keys, so that sub-tasks list in index order; MaxSubTasks follows from it.
const IndexDigits = 8

// MaxSubTasks is the most sub-tasks of one fan-out.
const MaxSubTasks = 99_999_999

// Counts are a fan-out parent's counters. Every change is an atomic ADD in
// the same transaction as the sub-task's status change, never a recount.
type Counts struct {
	// Total is the number of sub-tasks.
	Total int64 `json:"total"`
	// Succeeded and Failed count sub-tasks COMPLETED and FAILED.
	Succeeded int64 `json:"succeeded"`
	Failed    int64 `json:"failed"`
	// Cancelled counts sub-tasks that a cancellation kept from starting.
	Cancelled int64 `json:"cancelled"`
	// Running counts sub-tasks PROCESSING.
	Running int64 `json:"running"`
}

// Pending counts the sub-tasks that have not started.
func (c Counts) Pending() int64 {
	return c.Total - c.Succeeded - c.Failed - c.Cancelled - c.Running
}

// Task is a single task or a fan-out parent, as stored in the tasks table.
type Task struct {
	// PK is TASK#tenantCode; SK is {type}#{id}.
	PK string `json:"pk"`
	SK string `json:"sk"`
	// ID is pk#sk (core.EntityID).
	ID   string `json:"id"`
	Kind Kind   `json:"kind"`
	// TenantCode is the tenant part of PK; Type the task type, which
	// selects the handler; Name a display name.
	TenantCode string `json:"tenantCode"`
	Type       string `json:"type"`
	Name       string `json:"name"`
	Status     Status `json:"status"`
	// Input is the task's input as JSON (a fan-out's own input, shared by
	// its sub-tasks, may be null).
	Input json.RawMessage `json:"input"`
	// Result is the handler's result as JSON (COMPLETED single tasks).
	Result json.RawMessage `json:"result,omitempty"`
	// Error is the cause of FAILED, or of the last failed attempt of a
	// task that is QUEUED again; ErrorName is its name (see
	// eventfactory.ErrorName).
	Error     string `json:"error,omitempty"`
	ErrorName string `json:"errorName,omitempty"`
	// Attempts counts the attempts that took the task (single tasks).
	Attempts int `json:"attempts,omitempty"`
	// Version counts the writes of the row, from 1: notifications carry
	// it, so a reader can drop stale ones.
	Version int64 `json:"version"`
	// Counts are a fan-out's counters.
	Counts Counts `json:"counts"`
	// MaxConcurrency bounds the sub-tasks of a fan-out that run at once
	// (from its type's registration).
	MaxConcurrency int `json:"maxConcurrency,omitempty"`
	// ExecutionARN is the fan-out's task state machine execution.
	ExecutionARN string `json:"executionArn,omitempty"`
	// Manifest is the object key of the fan-out's item manifest (only
	// beyond Settings.InlineMax sub-tasks).
	Manifest string `json:"manifest,omitempty"`
	// Audit fields: when, by whom (user id) and from where (IP), and the
	// request that created the task.
	CreatedAt  time.Time `json:"createdAt"`
	CreatedBy  string    `json:"createdBy,omitempty"`
	CreatedIP  string    `json:"createdIp,omitempty"`
	RequestID  string    `json:"requestId,omitempty"`
	UpdatedAt  time.Time `json:"updatedAt"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
}

// Key returns the task's key.
func (t *Task) Key() core.Key { return core.Key{PK: t.PK, SK: t.SK} }

// SubTask is one sub-task of a fan-out.
type SubTask struct {
	// PK is SUBTASK#tenantCode; SK is the parent's sk followed by
	// #{index}.
	PK string `json:"pk"`
	SK string `json:"sk"`
	// Parent is the fan-out parent's key; Index the sub-task's position,
	// from 0.
	Parent core.Key `json:"parent"`
	Index  int      `json:"index"`
	Type   string   `json:"type"`
	Status Status   `json:"status"`
	// Input, Result, Error and ErrorName are as for Task.
	Input     json.RawMessage `json:"input"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     string          `json:"error,omitempty"`
	ErrorName string          `json:"errorName,omitempty"`
	// Attempts counts the step invocations that took the sub-task.
	Attempts   int       `json:"attempts,omitempty"`
	Version    int64     `json:"version"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
}

// Key returns the sub-task's key.
func (t *SubTask) Key() core.Key { return core.Key{PK: t.PK, SK: t.SK} }

// row is a row of the tasks table as stored.
type row struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	ID         string `dynamodbav:"id,omitempty"`
	Kind       Kind   `dynamodbav:"kind"`
	TenantCode string `dynamodbav:"tenantCode"`
	Type       string `dynamodbav:"type"`
	Name       string `dynamodbav:"name,omitempty"`
	Status     Status `dynamodbav:"status,omitempty"`
	// Input and Result are JSON documents, kept as strings so that they
	// come back byte for byte.
	Input     string `dynamodbav:"input,omitempty"`
	Result    string `dynamodbav:"result,omitempty"`
	Error     string `dynamodbav:"error,omitempty"`
	ErrorName string `dynamodbav:"errorName,omitempty"`
	// Attempt is the token of the attempt that holds a PROCESSING row;
	// Attempts counts the attempts that took it; LeaseUntil is when
	// another attempt may take it over.
	Attempt    string `dynamodbav:"attempt,omitempty"`
	Attempts   int    `dynamodbav:"attempts,omitempty"`
	LeaseUntil string `dynamodbav:"leaseUntil,omitempty"`
	Version    int64  `dynamodbav:"version"`
	// Counters of a fan-out parent.
	Total     int64 `dynamodbav:"total,omitempty"`
	Succeeded int64 `dynamodbav:"succeeded,omitempty"`
	Failed    int64 `dynamodbav:"failed,omitempty"`
	Cancelled int64 `dynamodbav:"cancelled,omitempty"`
	Running   int64 `dynamodbav:"running,omitempty"`
	// MaxConcurrency, Manifest and ExecutionARN of a fan-out parent.
	MaxConcurrency int    `dynamodbav:"maxConcurrency,omitempty"`
	Manifest       string `dynamodbav:"manifest,omitempty"`
	ExecutionARN   string `dynamodbav:"executionArn,omitempty"`
	// Index of a sub-task or failure record.
	Index int `dynamodbav:"index,omitempty"`
	// Unsettled and UnsettledAt list a single task or parent that is not
	// final in the sparse UnsettledIndex (a shard, and when the sweep is
	// to look at it).
	Unsettled   string    `dynamodbav:"unsettled,omitempty"`
	UnsettledAt string    `dynamodbav:"unsettledAt,omitempty"`
	CreatedAt   time.Time `dynamodbav:"createdAt,omitempty"`
	CreatedBy   string    `dynamodbav:"createdBy,omitempty"`
	CreatedIP   string    `dynamodbav:"createdIp,omitempty"`
	RequestID   string    `dynamodbav:"requestId,omitempty"`
	UpdatedAt   time.Time `dynamodbav:"updatedAt,omitempty"`
	StartedAt   time.Time `dynamodbav:"startedAt,omitempty"`
	FinishedAt  time.Time `dynamodbav:"finishedAt,omitempty"`
}

func (r *row) key() core.Key { return core.Key{PK: r.PK, SK: r.SK} }

func (r *row) counts() Counts {
	return Counts{Total: r.Total, Succeeded: r.Succeeded, Failed: r.Failed, Cancelled: r.Cancelled, Running: r.Running}
}

// rawJSON returns s as JSON, nil when empty.
func rawJSON(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

func (r *row) task() *Task {
	return &Task{
		PK: r.PK, SK: r.SK, ID: core.EntityID(r.PK, r.SK), Kind: r.Kind, TenantCode: r.TenantCode,
		Type: r.Type, Name: r.Name, Status: r.Status, Input: rawJSON(r.Input), Result: rawJSON(r.Result),
		Error: r.Error, ErrorName: r.ErrorName, Attempts: r.Attempts, Version: r.Version, Counts: r.counts(),
		MaxConcurrency: r.MaxConcurrency, ExecutionARN: r.ExecutionARN, Manifest: r.Manifest,
		CreatedAt: r.CreatedAt, CreatedBy: r.CreatedBy, CreatedIP: r.CreatedIP, RequestID: r.RequestID,
		UpdatedAt: r.UpdatedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt,
	}
}

func (r *row) subTask() *SubTask {
	parent, _ := parentKey(core.Key{PK: r.PK, SK: r.SK})
	return &SubTask{
		PK: r.PK, SK: r.SK, Parent: parent, Index: r.Index, Type: r.Type, Status: r.Status,
		Input: rawJSON(r.Input), Result: rawJSON(r.Result), Error: r.Error, ErrorName: r.ErrorName,
		Attempts: r.Attempts, Version: r.Version, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt,
	}
}

// decodeRow reads a stored item.
func decodeRow(it core.Item) (*row, error) {
	var r row
	if err := core.UnmarshalItem(it, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// taskKey builds the key of a task or parent: TASK#tenant, {type}#{id}.
func taskKey(tenant, typ, id string) (core.Key, error) {
	pk, err := core.NewPK(KeyTypeTask, tenant)
	if err != nil {
		return core.Key{}, err
	}
	sk, err := core.NewSK(typ, id)
	if err != nil {
		return core.Key{}, err
	}
	return core.Key{PK: pk, SK: sk}, nil
}

// subTaskKey returns the key of sub-task index of parent.
func subTaskKey(parent core.Key, index int) core.Key {
	return core.Key{PK: KeyTypeSubTask + strings.TrimPrefix(parent.PK, KeyTypeTask), SK: parent.SK + core.KeySeparator + padIndex(index)}
}

// failureKey returns the key of the failure record of sub-task index of
// parent.
func failureKey(parent core.Key, index int) core.Key {
	return core.Key{PK: KeyTypeFailure + strings.TrimPrefix(parent.PK, KeyTypeTask), SK: parent.SK + core.KeySeparator + padIndex(index)}
}

// subTaskPrefix is the sk prefix of the sub-tasks (and failure records) of
// parent.
func subTaskPrefix(parent core.Key) string { return parent.SK + core.KeySeparator }

func padIndex(i int) string {
	s := strconv.Itoa(i)
	if len(s) < IndexDigits {
		s = strings.Repeat("0", IndexDigits-len(s)) + s
	}
	return s
}

// parentKey returns the parent of a sub-task (or failure record) key.
func parentKey(k core.Key) (core.Key, error) {
	typ, tenant, ok := strings.Cut(k.PK, core.KeySeparator)
	i := strings.LastIndex(k.SK, core.KeySeparator)
	if !ok || (typ != KeyTypeSubTask && typ != KeyTypeFailure) || i < 0 {
		return core.Key{}, &core.KeyError{Part: "key", Value: k.PK + " " + k.SK, Reason: "not a sub-task key"}
	}
	return core.Key{PK: KeyTypeTask + core.KeySeparator + tenant, SK: k.SK[:i]}, nil
}

// checkTaskKey validates the key of a task or parent given by a caller:
// TASK#tenantCode and {type}#{id}. It returns the tenant code.
func checkTaskKey(k core.Key) (string, error) {
	if err := core.ValidateEntityKey(k); err != nil {
		return "", err
	}
	if core.TypeOf(k.PK) != KeyTypeTask {
		return "", &core.KeyError{Part: "pk", Value: k.PK, Reason: "not a task key (want " + KeyTypeTask + "#tenantCode)"}
	}
	if strings.Count(k.SK, core.KeySeparator) != 1 {
		return "", &core.KeyError{Part: "sk", Value: k.SK, Reason: "not a task sort key (want {type}#{id})"}
	}
	tenant, _ := core.TenantCodeOf(k.PK)
	return tenant, nil
}

// Attribute value helpers.
func avS(s string) types.AttributeValue       { return &types.AttributeValueMemberS{Value: s} }
func avTime(t time.Time) types.AttributeValue { return avS(core.FormatTime(t)) }

// avString returns the string of an S value, "" for any other value.
func avString(v types.AttributeValue) string {
	if s, ok := v.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// statusIs is the condition "status = s".
func statusIs(s Status) core.Condition { return core.IfAttrEquals("status", avS(string(s))) }

// attemptIs is the condition "attempt = token": the row is held by that
// attempt.
func attemptIs(token string) core.Condition { return core.IfAttrEquals("attempt", avS(token)) }

// errorText is the stored text of an error: its message, bounded so that
// a huge error never makes the row too large.
func errorText(err error) string {
	const max = 8 * 1024
	s := err.Error()
	if len(s) > max {
		s = s[:max] + fmt.Sprintf("… (%d bytes cut)", len(s)-max)
	}
	return s
}
