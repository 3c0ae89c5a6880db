package task

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/eventfactory"
)

// UnsettledIndex is the sparse global secondary index of the tasks table
// that lists the single tasks and parents not final yet, by when the
// sweep is to look at them: every status change writes UnsettledAt in the
// same write (CREATED/QUEUED: StuckAfter later; PROCESSING: after the
// lease), and the final one removes both attributes. It costs no request
// of its own. Provision it on the tasks table with a KEYS_ONLY projection
// (the same index as the command tables').
var UnsettledIndex = core.Index{Name: "unsettled", PK: "unsettled", SK: "unsettledAt"}

// UnsettledShards is the number of partitions UnsettledIndex spreads the
// tasks over.
const UnsettledShards = 16

// DefaultSweepLimit is the default of SweepOptions.Limit.
const DefaultSweepLimit = 1000

// SweepOptions configure Sweep.
type SweepOptions struct {
	// Limit bounds the tasks one sweep looks at; the rest are left to the
	// next sweep. Default DefaultSweepLimit.
	Limit int
}

// SweepResult counts what a sweep found and did.
type SweepResult struct {
	// Found counts the tasks due.
	Found int `json:"found"`
	// Enqueued counts single tasks whose message was sent again: never
	// enqueued (a lost stream record), QUEUED too long (a lost message),
	// or PROCESSING past the lease of an attempt that was not the last.
	Enqueued int `json:"enqueued"`
	// Started counts parents whose execution was started (a lost stream
	// record).
	Started int `json:"started"`
	// Failed counts single tasks whose last attempt did not finish within
	// its lease, and parents whose execution ended without finalizing
	// them: they were marked FAILED (a parent's unfinished sub-tasks too).
	Failed int `json:"failed"`
	// Running counts tasks left to a live attempt or execution.
	Running int `json:"running"`
	// Cleared counts tasks that were final already.
	Cleared int `json:"cleared"`
}

// Sweep finds the single tasks and parents that are due in
// UnsettledIndex and recovers them, so that no task stays CREATED, QUEUED
// or PROCESSING for ever, whatever was lost: a stream record, a queue
// message, a crashed last attempt, an execution aborted by hand. It reads
// the index — a few queries, never a table scan — and for each task:
//
//   - single, CREATED or QUEUED: (re)sends its message (the consumer runs
//     a task at most once to completion, however many messages);
//   - single, PROCESSING past its lease: the last attempt
//     (Settings.MaxReceiveCount) is marked FAILED, an earlier one is
//     re-sent, for the next delivery to take over;
//   - parent, CREATED: starts its execution; PROCESSING or CANCELLING:
//     starts a missing execution, leaves a running one, and fails the
//     parent (and its unfinished sub-tasks) when its execution ended
//     without finalizing it;
//
// and moves its UnsettledAt forward. The store must implement
// core.IndexQuerier (both adapters do).
//
// Deployed, run it on a schedule: an EventBridge Scheduler schedule every
// few minutes invoking the service's Lambda with the event SweepEvent
// describes (Routes routes it here). The embedded runtime sweeps by
// itself.
func (s *Service) Sweep(ctx context.Context, so SweepOptions) (SweepResult, error) {
	var res SweepResult
	if s.queue == nil || s.wf == nil {
		return res, &core.ValidationError{Problems: []string{"task: sweep: Options.Queue and Options.Workflows are required"}}
	}
	iq, ok := s.store.(core.IndexQuerier)
	if !ok {
		return res, fmt.Errorf("task: sweep: the item store %T cannot query indexes: %w", s.store, core.ErrNotImplemented)
	}
	if so.Limit <= 0 {
		so.Limit = DefaultSweepLimit
	}
	now := s.now()
	for shard := 0; shard < UnsettledShards && res.Found < so.Limit; shard++ {
		page, err := iq.QueryIndex(ctx, s.table, core.IndexQuery{Index: UnsettledIndex, PK: strconv.Itoa(shard),
			Op: core.SKLessEq, SK: core.FormatTime(now), Limit: so.Limit - res.Found})
		if err != nil {
			return res, fmt.Errorf("task: sweep shard %d: %w", shard, err)
		}
		for _, it := range page.Items {
			pk, sk := avString(it["pk"]), avString(it["sk"])
			if pk == "" || sk == "" {
				continue
			}
			res.Found++
			if err := s.sweepOne(ctx, core.Key{PK: pk, SK: sk}, now, &res); err != nil {
				return res, err
			}
		}
	}
	if res.Found > 0 {
		s.log.WarnContext(ctx, "task sweep recovered tasks", "found", res.Found, "enqueued", res.Enqueued,
			"started", res.Started, "failed", res.Failed, "running", res.Running, "cleared", res.Cleared)
	}
	return res, nil
}

// sweepOne recovers the task at key (see Sweep).
func (s *Service) sweepOne(ctx context.Context, key core.Key, now time.Time, res *SweepResult) error {
	r, err := s.read(ctx, key)
	if errors.Is(err, core.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("task: sweep: %w", err)
	}
	log := s.log.With("pk", key.PK, "sk", key.SK, "status", r.Status)
	if r.Status.Final() {
		res.Cleared++
		_, err := s.store.Update(ctx, s.table, key, core.Update{Remove: []string{"unsettled", "unsettledAt"}}, statusIs(r.Status))
		if err != nil && !errors.Is(err, core.ErrConditionFailed) {
			return fmt.Errorf("task: sweep: %w", err)
		}
		return nil
	}
	next := now.Add(s.set.StuckAfter)
	switch {
	case r.Kind == KindTask && r.Status == StatusCreated:
		log.WarnContext(ctx, "task sweep: task never enqueued (lost stream record); enqueueing it")
		res.Enqueued++
		return s.enqueue(ctx, key)
	case r.Kind == KindTask && r.Status == StatusQueued:
		log.WarnContext(ctx, "task sweep: task queued too long (lost message); sending it again")
		if err := s.send(ctx, r); err != nil {
			return err
		}
		res.Enqueued++
		next = now.Add(s.set.Lease + s.set.StuckAfter)
	case r.Kind == KindTask && r.Status == StatusProcessing:
		lu, _ := core.ParseTime(r.LeaseUntil)
		switch {
		case now.Before(lu):
			res.Running++
			next = lu.Add(s.set.StuckAfter)
		case lastDelivery(r.Attempt, s.set.MaxReceiveCount):
			cause := fmt.Errorf("task: its last delivery (receive %d of %d) did not finish within its lease (%s): the function crashed or timed out",
				s.set.MaxReceiveCount, s.set.MaxReceiveCount, s.set.Lease)
			_, err := s.store.Update(ctx, s.table, key, finalUpdate(StatusFailed, nil, cause, now), attemptIs(r.Attempt))
			if errors.Is(err, core.ErrConditionFailed) {
				return nil // it moved on meanwhile
			}
			if err != nil {
				return err
			}
			log.ErrorContext(ctx, "task sweep: last attempt crashed; task failed", "attempts", r.Attempts)
			res.Failed++
			r, err := s.read(ctx, key)
			if err != nil {
				return err
			}
			return s.notifyTask(ctx, r)
		default:
			log.WarnContext(ctx, "task sweep: attempt past its lease; sending the task again", "attempts", r.Attempts)
			if err := s.send(ctx, r); err != nil {
				return err
			}
			res.Enqueued++
			next = now.Add(s.set.Lease + s.set.StuckAfter)
		}
	case r.Kind == KindFanOut && r.Status == StatusCreated:
		log.WarnContext(ctx, "task sweep: parent never started (lost stream record); starting it")
		res.Started++
		_, err := s.start(ctx, key)
		return err
	case r.Kind == KindFanOut:
		name := ExecutionName(key)
		ex, err := s.wf.DescribeExecution(ctx, executionARN(s.cfg.TaskStateMachineARN, name))
		switch {
		case errors.Is(err, core.ErrNotFound):
			in, err := s.executionInput(r)
			if err != nil {
				return err
			}
			if _, err := s.wf.StartExecution(ctx, s.cfg.TaskStateMachineARN, name, in); err != nil && !errors.Is(err, core.ErrExecutionExists) {
				return fmt.Errorf("task: sweep: start %s: %w", name, err)
			}
			log.WarnContext(ctx, "task sweep: parent had no execution; started it", "execution", name)
			res.Started++
		case err != nil:
			return fmt.Errorf("task: sweep: describe %s: %w", name, err)
		case ex.Status == core.ExecutionRunning:
			res.Running++
		default:
			cause := fmt.Errorf("execution %s ended (%s %s) without finalizing the task", name, ex.Status, ex.Error)
			if _, err := s.abort(ctx, key, cause); err != nil {
				return err
			}
			log.ErrorContext(ctx, "task sweep: execution ended without finalizing the parent; failed it", "executionStatus", ex.Status)
			res.Failed++
			return nil
		}
	default:
		return nil
	}
	// Look again later: move the task along the index.
	_, err = s.store.Update(ctx, s.table, key, core.Update{Set: map[string]core.AttributeValue{"unsettledAt": avTime(next)}},
		statusIs(r.Status))
	if err != nil && !errors.Is(err, core.ErrConditionFailed) {
		return fmt.Errorf("task: sweep: %w", err)
	}
	return nil
}

// lastDelivery reports whether the attempt token is a queue delivery at
// the receive limit: its message goes to the dead-letter queue, so no
// delivery will take the task over.
func lastDelivery(token string, maxReceive int) bool {
	_, rc := splitToken(token)
	return rc >= maxReceive
}

// The sweep event: Routes routes EventBridge events of this source and
// detail-type to Sweep.
const (
	SweepEventSource     = "stepcqrs"
	SweepEventDetailType = "stepcqrs.task.sweep"
)

// SweepEvent is the detail of the sweep event. A schedule invokes the
// service's Lambda with an EventBridge-shaped input such as
//
//	{"version": "0", "id": "sweep", "source": "stepcqrs",
//	 "detail-type": "stepcqrs.task.sweep", "account": "123456789012",
//	 "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
//	 "resources": [], "detail": {}}
type SweepEvent struct {
	// Limit overrides SweepOptions.Limit (0: default).
	Limit int `json:"limit,omitempty"`
}

func (s *Service) onSweep(ctx context.Context, ev eventfactory.EventBridgeEvent[SweepEvent]) error {
	res, err := s.Sweep(ctx, SweepOptions{Limit: ev.Detail.Limit})
	s.log.InfoContext(ctx, "task sweep", "found", res.Found, "enqueued", res.Enqueued, "started", res.Started,
		"failed", res.Failed, "running", res.Running, "cleared", res.Cleared, "err", err)
	return err
}
