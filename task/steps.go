package task

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/eventfactory"
)

// ExecutionInput is the input of a task state machine execution: the
// parent's keys and sizes, never its sub-tasks (Step Functions caps
// payloads at 256 KB); the steps read the rows they need.
type ExecutionInput struct {
	PK string `json:"pk"`
	SK string `json:"sk"`
	// Total is the number of sub-tasks; the inline Map iterates over
	// 0..Total-1.
	Total int64 `json:"total"`
	// MaxConcurrency is the Map's MaxConcurrencyPath.
	MaxConcurrency int `json:"maxConcurrency"`
	// Manifest, beyond Settings.InlineMax sub-tasks, is where the
	// distributed Map reads its items and writes its results.
	Manifest *Manifest `json:"manifest,omitempty"`
}

// StepInput is the state input the steps receive: the keys of the
// parent, the index of a sub-task (SubTask, SubTaskFailed) and the error a
// Catch recorded (SubTaskFailed, Abort).
type StepInput struct {
	PK    string                 `json:"pk"`
	SK    string                 `json:"sk"`
	Index *int                   `json:"index,omitempty"`
	Error *eventfactory.SFNError `json:"error,omitempty"`
}

// SubTaskResult is the result of the SubTask and SubTaskFailed steps: the
// sub-task's final status (the output of the Map iteration).
type SubTaskResult struct {
	Status Status `json:"status"`
}

// Summary is the result of Finalize and Abort, and the output of the
// execution: the parent's final status and counters, as its row has them.
type Summary struct {
	PK     string `json:"pk"`
	SK     string `json:"sk"`
	Status Status `json:"status"`
	// Error is the cause of FAILED or CANCELLED (the Fail state's cause).
	Error  string `json:"error"`
	Counts Counts `json:"counts"`
}

func summaryOf(r *row) Summary {
	return Summary{PK: r.PK, SK: r.SK, Status: r.Status, Error: r.Error, Counts: r.counts()}
}

// ExecutionName returns the deterministic execution name of the parent at
// key: a readable part and a hash, at most 80 characters of
// [A-Za-z0-9-_]. A redelivered stream record, or a sweep, gets the same
// name, so Step Functions starts no second execution.
func ExecutionName(key core.Key) string {
	return core.ExecutionName(key.SK, key.PK, key.SK)
}

// executionARN returns the ARN of execution name of the state machine
// stateMachineARN.
func executionARN(stateMachineARN, name string) string {
	return strings.Replace(stateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + name
}

// machineName returns the name part of a state machine ARN.
func machineName(arn string) string {
	if i := strings.LastIndexByte(arn, ':'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// executionInput is the execution input of parent r: the same bytes for
// every start, so a re-start of a running execution is idempotent.
func (s *Service) executionInput(r *row) (json.RawMessage, error) {
	in := ExecutionInput{PK: r.PK, SK: r.SK, Total: r.Total, MaxConcurrency: r.MaxConcurrency}
	if r.Manifest != "" {
		in.Manifest = &Manifest{Bucket: s.cfg.Bucket(), Key: r.Manifest, Results: manifestPrefix(r) + "results"}
	}
	return json.Marshal(in)
}

// start moves a CREATED parent to PROCESSING and starts its execution (a
// redelivered record, or a sweep, re-starts it under the same name, which
// is a no-op for a running execution).
func (s *Service) start(ctx context.Context, key core.Key) (bool, error) {
	arn := s.cfg.TaskStateMachineARN
	if arn == "" {
		return false, s.failParent(ctx, key, errors.New("task: Config.TaskStateMachineARN is empty: the task state machine is not deployed"))
	}
	if s.wf == nil {
		return false, &core.ValidationError{Problems: []string{"task: Options.Workflows is nil: fan-outs need the task state machine"}}
	}
	name := ExecutionName(key)
	now := s.now()
	it, err := s.store.Update(ctx, s.table, key, core.Update{
		Set: map[string]core.AttributeValue{"status": avS(string(StatusProcessing)), "startedAt": avTime(now),
			"updatedAt": avTime(now), "executionArn": avS(executionARN(arn, name)),
			"unsettledAt": avTime(now.Add(s.set.StuckAfter))},
		Add: map[string]int64{"version": 1},
	}, statusIs(StatusCreated))
	var r *row
	switch {
	case err == nil:
		r, err = decodeRow(it)
	case errors.Is(err, core.ErrConditionFailed):
		r, err = s.read(ctx, key)
		if err == nil && r.Status != StatusProcessing && r.Status != StatusCancelling {
			return false, nil // final or cancelled before it started
		}
	}
	if err != nil {
		return false, fmt.Errorf("task: start %s: %w", key.SK, err)
	}
	in, err := s.executionInput(r)
	if err != nil {
		return false, err
	}
	// Notify before starting, so that PROCESSING never follows what the
	// execution (or a cancel) publishes. A redelivery publishes again: the
	// first publish may be what failed it.
	if err := s.notifyTask(ctx, r); err != nil {
		return false, err
	}
	if _, err := s.wf.StartExecution(ctx, arn, name, in); err != nil && !errors.Is(err, core.ErrExecutionExists) {
		return false, fmt.Errorf("task: start execution %s: %w", name, err)
	}
	return true, nil
}

// failParent marks a parent FAILED with cause, from whatever non-final
// status it has.
func (s *Service) failParent(ctx context.Context, key core.Key, cause error) error {
	for range 4 {
		r, err := s.read(ctx, key)
		if err != nil {
			return err
		}
		if r.Status.Final() {
			return nil
		}
		it, err := s.store.Update(ctx, s.table, key, finalUpdate(StatusFailed, nil, cause, s.now()), statusIs(r.Status))
		if errors.Is(err, core.ErrConditionFailed) {
			continue
		}
		if err != nil {
			return err
		}
		if r, err = decodeRow(it); err != nil {
			return err
		}
		s.log.ErrorContext(ctx, "task failed", "pk", key.PK, "sk", key.SK, "err", cause)
		return s.notifyTask(ctx, r)
	}
	return fmt.Errorf("task: fail %s: the task kept changing: %w", key.SK, core.ErrConditionFailed)
}

// stepToken is the attempt token of a step invocation: its state entry
// (execution, state, entered time) and retry count.
func stepToken(c eventfactory.SFNContext) string {
	unit := "sfn|" + c.Execution.ID + "|" + c.State.Name + "|" + c.State.EnteredTime.UTC().Format(time.RFC3339Nano)
	return attemptToken(unit, c.State.RetryCount)
}

// errSuperseded: the sub-task's write lost to another attempt.
var errSuperseded = errors.New("task: superseded")

// runSubTask is the SubTask step: take the sub-task, run its type's
// handler, and record COMPLETED or FAILED together with the parent's
// counters. It returns the sub-task's final status; a redelivered step
// runs nothing and returns the recorded status.
func (s *Service) runSubTask(ctx context.Context, parent core.Key, index int, token string) (Status, error) {
	key := subTaskKey(parent, index)
	r, err := s.read(ctx, key)
	if err != nil {
		return "", err
	}
	var running bool
	for tries := 0; !running; tries++ {
		if tries == 4 {
			return "", fmt.Errorf("task: sub-task %s kept changing: %w", key.SK, core.ErrConditionFailed)
		}
		now := s.now()
		switch r.Status {
		case StatusCreated:
			take := s.takeUpdate(token, now, false)
			err := s.store.Transact(ctx, []core.TxOp{
				{Table: s.table, Key: key, Update: &take, Cond: statusIs(StatusCreated)},
				{Table: s.table, Key: parent, Update: &core.Update{Add: map[string]int64{"running": 1, "version": 1}},
					Cond: statusIs(StatusProcessing)},
			})
			var tce *core.TransactionCanceledError
			switch {
			case err == nil:
				applyLocal(r, take)
				running = true
				continue
			case errors.As(err, &tce) && len(tce.Reasons) == 2 && tce.Reasons[0] != nil:
				// Taken or ended meanwhile: look again.
			case errors.As(err, &tce) && len(tce.Reasons) == 2 && tce.Reasons[1] != nil:
				// The parent is no longer PROCESSING (cancelled): this
				// sub-task does not start.
				st, err := s.skipSubTask(ctx, parent, r)
				if errors.Is(err, errSuperseded) {
					break
				}
				return st, err
			default:
				return "", err
			}
		case StatusProcessing:
			if !canTakeOver(r.Attempt, token, r.LeaseUntil, now) {
				return "", &BusyError{SK: key.SK, HeldBy: r.Attempt, LeaseUntil: r.LeaseUntil}
			}
			take := s.takeUpdate(token, now, false)
			it, err := s.store.Update(ctx, s.table, key, take, attemptIs(r.Attempt))
			if err == nil {
				r, err = decodeRow(it)
				if err != nil {
					return "", err
				}
				running = true
				continue
			}
			if !errors.Is(err, core.ErrConditionFailed) {
				return "", err
			}
		default:
			// Final: run nothing; re-publish the final status, whose
			// notification may have been lost with the step that wrote it.
			return r.Status, s.notifySubTask(ctx, r)
		}
		if r, err = s.read(ctx, key); err != nil {
			return "", err
		}
	}
	out, herr := s.runHandler(ctx, r, parent)
	if herr != nil && errors.Is(herr, core.ErrTransient) {
		// The state machine retries it; the retry takes the sub-task
		// over (a later retry of the same state entry).
		return "", herr
	}
	st := StatusCompleted
	if herr != nil {
		st = StatusFailed
	}
	err = s.recordSubTask(ctx, parent, r, attemptIs(token), true, st, out, herr)
	if errors.Is(err, core.ErrItemTooLarge) && herr == nil {
		herr = fmt.Errorf("task: the result of sub-task %s does not fit in its row: %w", key.SK, err)
		st = StatusFailed
		err = s.recordSubTask(ctx, parent, r, attemptIs(token), true, st, nil, herr)
	}
	if errors.Is(err, errSuperseded) {
		// Another attempt took the sub-task over meanwhile: its outcome
		// counts. Report it when recorded, else retry later.
		cur, rerr := s.read(ctx, key)
		if rerr != nil {
			return "", rerr
		}
		if cur.Status.Final() {
			return cur.Status, nil
		}
		return "", &BusyError{SK: key.SK, HeldBy: cur.Attempt, LeaseUntil: cur.LeaseUntil}
	}
	if err != nil {
		return "", err
	}
	return st, nil
}

// recordSubTask ends sub-task r in status st (COMPLETED or FAILED), in one
// transaction with the parent's counters (running -1 when it was
// PROCESSING, succeeded or failed +1) and, for FAILED, the failure
// record; cond guards the sub-task (its status, or its holder). It
// returns errSuperseded when cond no longer holds.
func (s *Service) recordSubTask(ctx context.Context, parent core.Key, r *row, cond core.Condition, running bool, st Status, out json.RawMessage, cause error) error {
	now := s.now()
	upd := finalUpdate(st, out, cause, now)
	counters := map[string]int64{"version": 1}
	if st == StatusCompleted {
		counters["succeeded"] = 1
	} else {
		counters["failed"] = 1
	}
	if running {
		counters["running"] = -1
	}
	ops := []core.TxOp{
		{Table: s.table, Key: r.key(), Update: &upd, Cond: cond},
		{Table: s.table, Key: parent, Update: &core.Update{Add: counters}, Cond: core.IfExists()},
	}
	if st == StatusFailed {
		fk := failureKey(parent, r.Index)
		it, err := core.MarshalItem(&row{PK: fk.PK, SK: fk.SK, Kind: KindFailure, TenantCode: r.TenantCode, Type: r.Type,
			Index: r.Index, Error: errorText(cause), ErrorName: eventfactory.ErrorName(cause), Version: 1,
			CreatedAt: now, FinishedAt: now})
		if err != nil {
			return err
		}
		ops = append(ops, core.TxOp{Table: s.table, Put: it})
	}
	err := s.store.Transact(ctx, ops)
	var tce *core.TransactionCanceledError
	switch {
	case err == nil:
	case errors.As(err, &tce) && len(tce.Reasons) > 0 && tce.Reasons[0] != nil:
		return errSuperseded
	case errors.As(err, &tce) && len(tce.Reasons) > 1 && tce.Reasons[1] != nil:
		return &core.NotFoundError{Kind: "task", Name: parent.PK + "/" + parent.SK}
	default:
		return fmt.Errorf("task: record sub-task %s: %w", r.SK, err)
	}
	applyLocal(r, upd)
	if err := s.notifySubTask(ctx, r); err != nil {
		return err
	}
	if cause != nil {
		s.log.WarnContext(ctx, "sub-task failed", "pk", r.PK, "sk", r.SK, "err", cause)
	}
	return nil
}

// skipSubTask records a CREATED sub-task of a parent that is no longer
// PROCESSING as CANCELLED, with the parent's cancelled counter.
func (s *Service) skipSubTask(ctx context.Context, parent core.Key, r *row) (Status, error) {
	now := s.now()
	upd := core.Update{
		Set: map[string]core.AttributeValue{"status": avS(string(StatusCancelled)), "finishedAt": avTime(now), "updatedAt": avTime(now)},
		Add: map[string]int64{"version": 1},
	}
	err := s.store.Transact(ctx, []core.TxOp{
		{Table: s.table, Key: r.key(), Update: &upd, Cond: statusIs(StatusCreated)},
		{Table: s.table, Key: parent, Update: &core.Update{Add: map[string]int64{"cancelled": 1, "version": 1}}, Cond: core.IfExists()},
	})
	var tce *core.TransactionCanceledError
	if errors.As(err, &tce) && len(tce.Reasons) > 0 && tce.Reasons[0] != nil {
		return "", errSuperseded
	}
	if err != nil {
		return "", fmt.Errorf("task: cancel sub-task %s: %w", r.SK, err)
	}
	applyLocal(r, upd)
	return StatusCancelled, s.notifySubTask(ctx, r)
}

// markSubTaskFailed records the sub-task FAILED with cause, from CREATED
// or from whatever attempt holds it (the SubTaskFailed step after a step
// failed beyond its retries, and Abort). A final sub-task is left as it
// is.
func (s *Service) markSubTaskFailed(ctx context.Context, parent core.Key, index int, cause error) (Status, error) {
	key := subTaskKey(parent, index)
	for range 4 {
		r, err := s.read(ctx, key)
		if err != nil {
			return "", err
		}
		switch r.Status {
		case StatusCreated:
			err = s.recordSubTask(ctx, parent, r, statusIs(StatusCreated), false, StatusFailed, nil, cause)
		case StatusProcessing:
			err = s.recordSubTask(ctx, parent, r, attemptIs(r.Attempt), true, StatusFailed, nil, cause)
		default:
			return r.Status, nil
		}
		if errors.Is(err, errSuperseded) {
			continue
		}
		if err != nil {
			return "", err
		}
		return StatusFailed, nil
	}
	return "", fmt.Errorf("task: fail sub-task %s: it kept changing: %w", key.SK, core.ErrConditionFailed)
}

// finalize is the Finalize step: the parent's final status from its
// counters — CANCELLED when it was cancelled, FAILED when a sub-task
// failed (or, which the flow never leaves behind, a sub-task is
// unaccounted for), COMPLETED when all succeeded.
func (s *Service) finalize(ctx context.Context, key core.Key) (Summary, error) {
	for range 4 {
		r, err := s.read(ctx, key)
		if err != nil {
			return Summary{}, err
		}
		if r.Kind != KindFanOut {
			return Summary{}, &core.ValidationError{Problems: []string{fmt.Sprintf("task: %s is not a fan-out parent", key.SK)}}
		}
		if r.Status.Final() {
			return summaryOf(r), s.notifyTask(ctx, r)
		}
		c := r.counts()
		var st Status
		var cause error
		switch {
		case r.Status == StatusCancelling:
			st = StatusCancelled
			cause = eventfactory.Named(ErrorNameTaskCancelled, fmt.Errorf("cancelled: %d of %d sub-tasks completed, %d failed, %d not started",
				c.Succeeded, c.Total, c.Failed, c.Cancelled+c.Pending()))
		case c.Failed > 0:
			st = StatusFailed
			cause = eventfactory.Named(ErrorNameSubTasksFailed, fmt.Errorf("%d of %d sub-tasks failed (see the failures)", c.Failed, c.Total))
		case c.Succeeded == c.Total:
			st = StatusCompleted
		default:
			st = StatusFailed
			cause = eventfactory.Named(ErrorNameSubTasksFailed, fmt.Errorf("%d of %d sub-tasks unaccounted for: %d running, %d not started",
				c.Total-c.Succeeded, c.Total, c.Running, c.Pending()))
		}
		it, err := s.store.Update(ctx, s.table, key, finalUpdate(st, nil, cause, s.now()), statusIs(r.Status))
		if errors.Is(err, core.ErrConditionFailed) {
			continue // cancelled meanwhile: decide again
		}
		if err != nil {
			return Summary{}, err
		}
		if r, err = decodeRow(it); err != nil {
			return Summary{}, err
		}
		return summaryOf(r), s.notifyTask(ctx, r)
	}
	return Summary{}, fmt.Errorf("task: finalize %s: the parent kept changing: %w", key.SK, core.ErrConditionFailed)
}

// abort is the Abort step, and the sweep's answer to an execution that
// ended without finalizing: every unfinished sub-task is recorded FAILED
// with cause, then the parent FAILED.
func (s *Service) abort(ctx context.Context, key core.Key, cause error) (Summary, error) {
	var after *core.Key
	prefix := subTaskPrefix(key)
	pk := KeyTypeSubTask + strings.TrimPrefix(key.PK, KeyTypeTask)
	for {
		page, err := s.store.Query(ctx, s.table, core.Query{PK: pk, Op: core.SKBeginsWith, SK: prefix,
			StartAfter: after, ConsistentRead: true})
		if err != nil {
			return Summary{}, err
		}
		for _, it := range page.Items {
			r, err := decodeRow(it)
			if err != nil {
				return Summary{}, err
			}
			if r.Status.Final() {
				continue
			}
			if _, err := s.markSubTaskFailed(ctx, key, r.Index, cause); err != nil {
				return Summary{}, err
			}
		}
		if page.Next == nil {
			break
		}
		after = page.Next
	}
	if err := s.failParent(ctx, key, cause); err != nil {
		return Summary{}, err
	}
	r, err := s.read(ctx, key)
	if err != nil {
		return Summary{}, err
	}
	return summaryOf(r), nil
}
