package task

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/eventfactory"
)

// Attempts. Every delivery that runs a task or sub-task has a token, unit
// ":" seq: an SQS message id and its receive count, or a Step Functions
// state entry (execution, state, entered time) and its retry count. The
// token of the attempt that holds a PROCESSING row is stored on it
// ("attempt"), and every write that ends the attempt is conditioned on
// it, so a superseded attempt can never record an outcome or move a
// counter. Another delivery takes a held row over when
//
//   - the holder's lease ran out (Settings.Lease), or
//   - it is a later delivery of the same unit (a higher receive count, or
//     a retry of the same state entry): the holder's invocation is over,
//     since SQS redelivers a message only after its visibility timeout,
//     which is at least the function timeout, and Step Functions retries
//     a state only after its invocation failed;
//
// otherwise (a duplicate delivery running at the same time) it fails with
// *BusyError and is retried later.

// attemptToken joins unit and seq.
func attemptToken(unit string, seq int) string { return unit + ":" + strconv.Itoa(seq) }

// splitToken splits a token into unit and seq.
func splitToken(tok string) (string, int) {
	i := strings.LastIndexByte(tok, ':')
	if i < 0 {
		return tok, 0
	}
	n, _ := strconv.Atoi(tok[i+1:])
	return tok[:i], n
}

// canTakeOver reports whether the attempt token may take over a row held
// by holder with lease leaseUntil.
func canTakeOver(holder, token, leaseUntil string, now time.Time) bool {
	if holder == "" || leaseUntil == "" {
		return true
	}
	if lu, err := core.ParseTime(leaseUntil); err == nil && !now.Before(lu) {
		return true
	}
	hu, hs := splitToken(holder)
	tu, ts := splitToken(token)
	return hu == tu && ts > hs
}

// takeUpdate is the write that makes token hold a row: PROCESSING, the
// token, a fresh lease, one more attempt.
func (s *Service) takeUpdate(token string, now time.Time, withUnsettled bool) core.Update {
	lease := now.Add(s.set.Lease)
	upd := core.Update{
		Set: map[string]core.AttributeValue{
			"status": avS(string(StatusProcessing)), "attempt": avS(token), "leaseUntil": avTime(lease),
			"startedAt": avTime(now), "updatedAt": avTime(now),
		},
		Add: map[string]int64{"attempts": 1, "version": 1},
	}
	if withUnsettled {
		upd.Set["unsettledAt"] = avTime(lease.Add(s.set.StuckAfter))
	}
	return upd
}

// finalUpdate is the write that ends a row in status st, with the result
// (COMPLETED) or the error (FAILED). It removes the holder's token, so
// that no attempt — the holder's late outcome after a sweep or an abort
// failed the row, say — can write the row again.
func finalUpdate(st Status, result json.RawMessage, cause error, now time.Time) core.Update {
	upd := core.Update{
		Set:    map[string]core.AttributeValue{"status": avS(string(st)), "finishedAt": avTime(now), "updatedAt": avTime(now)},
		Remove: []string{"attempt", "leaseUntil", "unsettled", "unsettledAt"},
		Add:    map[string]int64{"version": 1},
	}
	if cause != nil {
		upd.Set["error"] = avS(errorText(cause))
		upd.Set["errorName"] = avS(eventfactory.ErrorName(cause))
		upd.Remove = append(upd.Remove, "result")
	} else {
		upd.Remove = append(upd.Remove, "error", "errorName")
		if result != nil {
			upd.Set["result"] = avS(string(result))
		}
	}
	return upd
}

// applyLocal mirrors a successful Update on the in-memory row, for rows
// written in a transaction (which returns no item).
func applyLocal(r *row, upd core.Update) {
	for name, v := range upd.Set {
		s := avString(v)
		switch name {
		case "status":
			r.Status = Status(s)
		case "attempt":
			r.Attempt = s
		case "leaseUntil":
			r.LeaseUntil = s
		case "result":
			r.Result = s
		case "error":
			r.Error = s
		case "errorName":
			r.ErrorName = s
		case "startedAt":
			r.StartedAt, _ = core.ParseTime(s)
		case "finishedAt":
			r.FinishedAt, _ = core.ParseTime(s)
		case "updatedAt":
			r.UpdatedAt, _ = core.ParseTime(s)
		}
	}
	for _, name := range upd.Remove {
		switch name {
		case "attempt":
			r.Attempt = ""
		case "leaseUntil":
			r.LeaseUntil = ""
		case "result":
			r.Result = ""
		case "error":
			r.Error = ""
		case "errorName":
			r.ErrorName = ""
		}
	}
	r.Attempts += int(upd.Add["attempts"])
	r.Version += upd.Add["version"]
}

// invokeFor returns ctx carrying the Invoke a handler runs with: the
// task's tenant and creator, and the Lambda request id.
func invokeFor(ctx context.Context, r *row) context.Context {
	inv := core.InvokeFromLambda(ctx)
	inv.TenantCode, inv.UserID = r.TenantCode, r.CreatedBy
	return core.NewContext(ctx, inv)
}

// runHandler runs the handler of r's type on r's input.
func (s *Service) runHandler(ctx context.Context, r *row, parent core.Key) (json.RawMessage, error) {
	e := s.reg.lookup(r.Type)
	if e == nil {
		return nil, &UnknownTypeError{Type: r.Type}
	}
	j := Job[json.RawMessage]{Key: r.key(), Parent: parent, Index: r.Index, TenantCode: r.TenantCode,
		Type: r.Type, Name: r.Name, Input: rawJSON(r.Input), Attempt: r.Attempts}
	var out json.RawMessage
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = &eventfactory.PanicError{Value: p}
			}
		}()
		out, err = e.run(invokeFor(ctx, r), j)
		return err
	}()
	return out, err
}

// permanent reports whether a handler error of a single task must not be
// retried.
func permanent(err error) bool {
	return errors.Is(err, ErrPermanent) || errors.Is(err, ErrUnknownType) || errors.Is(err, ErrInput)
}

// QueueMessage is the body of a task queue message: the task's keys.
type QueueMessage struct {
	PK string `json:"pk"`
	SK string `json:"sk"`
}

// enqueue moves a CREATED single task to QUEUED and sends its message. A
// redelivered stream record (the task already QUEUED) sends the message
// again; the consumer runs a task at most once to completion whatever the
// number of messages.
func (s *Service) enqueue(ctx context.Context, key core.Key) error {
	now := s.now()
	it, err := s.store.Update(ctx, s.table, key, core.Update{
		Set: map[string]core.AttributeValue{"status": avS(string(StatusQueued)), "updatedAt": avTime(now),
			"unsettledAt": avTime(now.Add(s.set.StuckAfter))},
		Add: map[string]int64{"version": 1},
	}, statusIs(StatusCreated))
	var r *row
	switch {
	case err == nil:
		if r, err = decodeRow(it); err != nil {
			return err
		}
	case errors.Is(err, core.ErrConditionFailed):
		if r, err = s.read(ctx, key); err != nil {
			return err
		}
		if r.Status != StatusQueued {
			return nil // taken, finished or cancelled meanwhile
		}
	default:
		return fmt.Errorf("task: enqueue %s: %w", key.SK, err)
	}
	// Notify before sending, so that QUEUED never follows PROCESSING.
	if err := s.notifyTask(ctx, r); err != nil {
		return err
	}
	return s.send(ctx, r)
}

// send puts the task's message on the task queue.
func (s *Service) send(ctx context.Context, r *row) error {
	if s.queue == nil {
		return &core.ValidationError{Problems: []string{"task: Options.Queue is nil: single tasks need the task queue"}}
	}
	body, _ := json.Marshal(QueueMessage{PK: r.PK, SK: r.SK})
	if _, err := s.queue.Send(ctx, s.cfg.TaskQueue(), core.OutgoingMessage{Body: string(body),
		Attributes: map[string]string{"type": r.Type}}); err != nil {
		return fmt.Errorf("task: send %s: %w", r.SK, err)
	}
	return nil
}

// take makes token hold the single task at key: from QUEUED (or CREATED,
// when the message overtook the stream's status write), or over a holder
// it may take over. It returns nil when there is nothing to run (the task
// is final or cancelled), and *BusyError when another live attempt holds
// it.
func (s *Service) take(ctx context.Context, key core.Key, token string) (*row, error) {
	from := StatusQueued
	var holder string
	for range 4 {
		now := s.now()
		cond := statusIs(from)
		if holder != "" {
			cond = attemptIs(holder)
		}
		it, err := s.store.Update(ctx, s.table, key, s.takeUpdate(token, now, true), cond)
		if err == nil {
			return decodeRow(it)
		}
		if !errors.Is(err, core.ErrConditionFailed) {
			return nil, err
		}
		r, err := s.read(ctx, key)
		if err != nil {
			return nil, err
		}
		if r.Kind != KindTask {
			return nil, &core.ValidationError{Problems: []string{fmt.Sprintf("task: %s is a %s row, not a single task", key.SK, r.Kind)}}
		}
		switch r.Status {
		case StatusCreated, StatusQueued:
			from, holder = r.Status, ""
		case StatusProcessing:
			if r.Attempt == token {
				return r, nil // this very attempt (a retried write that had landed)
			}
			if !canTakeOver(r.Attempt, token, r.LeaseUntil, now) {
				return nil, &BusyError{SK: key.SK, HeldBy: r.Attempt, LeaseUntil: r.LeaseUntil}
			}
			holder = r.Attempt
		default:
			// Final or cancelled: run nothing. Re-publish a final status,
			// whose notification may have been lost with the delivery
			// that wrote it.
			if r.Status.Final() {
				return nil, s.notifyTask(ctx, r)
			}
			return nil, nil
		}
	}
	return nil, fmt.Errorf("task: take %s: the task kept changing: %w", key.SK, core.ErrConditionFailed)
}

// runTask is the queue consumer for one message: take the task, run its
// handler, record the outcome. The returned error fails the message
// (batchItemFailures): it returns to the queue for a retry, and moves to
// the dead-letter queue after the receive limit.
func (s *Service) runTask(ctx context.Context, key core.Key, token string, receiveCount int) error {
	r, err := s.take(ctx, key, token)
	if err != nil || r == nil {
		return err
	}
	if err := s.notifyTask(ctx, r); err != nil {
		return err
	}
	log := s.log.With("pk", key.PK, "sk", key.SK, "type", r.Type, "attempt", r.Attempts)
	out, herr := s.runHandler(ctx, r, core.Key{})
	now := s.now()
	var upd core.Update
	switch {
	case herr == nil:
		upd = finalUpdate(StatusCompleted, out, nil, now)
	case permanent(herr) || receiveCount >= s.set.MaxReceiveCount:
		upd = finalUpdate(StatusFailed, nil, herr, now)
	default:
		// Retried: back to QUEUED with the cause, until the message
		// returns after its visibility timeout.
		upd = core.Update{
			Set: map[string]core.AttributeValue{"status": avS(string(StatusQueued)), "error": avS(errorText(herr)),
				"errorName": avS(eventfactory.ErrorName(herr)), "updatedAt": avTime(now),
				"unsettledAt": avTime(now.Add(s.set.Lease + s.set.StuckAfter))},
			Remove: []string{"attempt", "leaseUntil"},
			Add:    map[string]int64{"version": 1},
		}
	}
	it, err := s.store.Update(ctx, s.table, key, upd, attemptIs(token))
	if errors.Is(err, core.ErrItemTooLarge) && herr == nil {
		herr = Permanent(fmt.Errorf("task: the result of %s does not fit in its row: %w", key.SK, err))
		upd = finalUpdate(StatusFailed, nil, herr, now)
		it, err = s.store.Update(ctx, s.table, key, upd, attemptIs(token))
	}
	if errors.Is(err, core.ErrConditionFailed) {
		// Taken over meanwhile: the outcome is the new holder's to record.
		log.WarnContext(ctx, "task attempt superseded; its outcome is dropped", "err", herr)
		return nil
	}
	if err != nil {
		return fmt.Errorf("task: record %s: %w", key.SK, err)
	}
	if r, err = decodeRow(it); err != nil {
		return err
	}
	if err := s.notifyTask(ctx, r); err != nil {
		return err
	}
	switch {
	case herr == nil:
		return nil
	case r.Status == StatusFailed && permanent(herr):
		log.ErrorContext(ctx, "task failed", "err", herr)
		return nil
	case r.Status == StatusFailed:
		// The last attempt: the message goes to the dead-letter queue.
		log.ErrorContext(ctx, "task failed on its last attempt; its message goes to the dead-letter queue", "err", herr)
		return herr
	}
	log.WarnContext(ctx, "task attempt failed; it will be retried", "err", herr)
	return herr
}
