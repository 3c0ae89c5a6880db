package task

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/eventfactory"
)

// StreamFilterCriteria is the filter of the tasks table's event source
// mapping: INSERT records of single tasks and parents only. Sub-task and
// failure rows, and every status update (MODIFY), never invoke the
// function. The routes skip such records anyway.
const StreamFilterCriteria = `{"eventName":["INSERT"],"dynamodb":{"NewImage":{"kind":{"S":["task","fanout"]}}}}`

// Streamed reports whether a tasks table stream record passes
// StreamFilterCriteria: an INSERT (eventName) whose new image's "kind" is
// a single task or a parent. The embedded runtime filters with it.
func Streamed(eventName, kind string) bool {
	return eventName == eventfactory.StreamInsert && (Kind(kind) == KindTask || Kind(kind) == KindFanOut)
}

// Routes returns the registration of the task capability's event routes:
//
//   - the tasks table's stream, INSERT records (filter the event source
//     mapping with StreamFilterCriteria): a single task is enqueued on the
//     task queue (QUEUED), a parent's execution of the task state machine
//     is started (PROCESSING);
//   - the task queue (core.Config.TaskQueue; give it a dead-letter queue
//     with maxReceiveCount Settings.MaxReceiveCount and a visibility
//     timeout of at least the function timeout, and report batch item
//     failures): each message runs one single task;
//   - the steps of the task state machine (core.Config.TaskStateMachineARN;
//     without it, fan-out parents fail with a clear cause);
//   - the sweep event (SweepEventSource, SweepEventDetailType).
//
// It needs Options.Queue and Options.Workflows.
func (s *Service) Routes() (eventfactory.Registration, error) {
	var p []string
	if s.queue == nil {
		p = append(p, "task: Options.Queue is nil (the task queue)")
	}
	if s.wf == nil {
		p = append(p, "task: Options.Workflows is nil (the task state machine)")
	}
	if len(p) > 0 {
		return nil, &core.ValidationError{Problems: p}
	}
	return func(r *eventfactory.Router) {
		eventfactory.OnDynamoDB(r, s.table, []string{eventfactory.StreamInsert}, s.onInsert)
		eventfactory.OnSQS(r, s.cfg.TaskQueue(), s.onMessage)
		if arn := s.cfg.TaskStateMachineARN; arn != "" {
			m := machineName(arn)
			eventfactory.OnStepFunctions(r, m, StateSubTask, s.stepSubTask)
			eventfactory.OnStepFunctions(r, m, StateSubTaskDistributed, s.stepSubTask)
			eventfactory.OnStepFunctions(r, m, StateSubTaskFailed, s.stepSubTaskFailed)
			eventfactory.OnStepFunctions(r, m, StateSubTaskFailedDistrib, s.stepSubTaskFailed)
			eventfactory.OnStepFunctions(r, m, StateFinalize, s.stepFinalize)
			eventfactory.OnStepFunctions(r, m, StateAbort, s.stepAbort)
		}
		eventfactory.OnEventBridge(r, SweepEventSource, SweepEventDetailType, s.onSweep)
	}, nil
}

// onInsert handles a new row of the tasks table.
func (s *Service) onInsert(ctx context.Context, rec eventfactory.DynamoDBRecord[core.Item]) error {
	if rec.NewImage == nil {
		return &core.ValidationError{Problems: []string{"task: stream record without NewImage: the stream view must be NEW_IMAGE or NEW_AND_OLD_IMAGES"}}
	}
	img := *rec.NewImage
	if !Streamed(rec.EventName, avString(img["kind"])) {
		return nil
	}
	r, err := decodeRow(img)
	if err == nil {
		_, err = checkTaskKey(r.key())
	}
	if err != nil {
		// A row written around the service: no retry could ever make it
		// run, so it must not hold up the stream.
		s.log.ErrorContext(ctx, "task: stream record rejected: not a task of the framework", "table", rec.Table,
			"sequenceNumber", rec.Record.Change.SequenceNumber, "err", err)
		return nil
	}
	if r.Status != StatusCreated {
		return nil
	}
	switch r.Kind {
	case KindTask:
		return s.enqueue(ctx, r.key())
	default:
		_, err := s.start(ctx, r.key())
		return err
	}
}

// onMessage is the task queue consumer.
func (s *Service) onMessage(ctx context.Context, msg eventfactory.SQSMessage[QueueMessage]) error {
	key := core.Key{PK: msg.Body.PK, SK: msg.Body.SK}
	if _, err := checkTaskKey(key); err != nil {
		return fmt.Errorf("task: queue message %s: %w", msg.Message.MessageId, err)
	}
	rc, _ := strconv.Atoi(msg.Message.Attributes["ApproximateReceiveCount"])
	if rc < 1 {
		rc = 1
	}
	return s.runTask(ctx, key, attemptToken("sqs|"+msg.Message.MessageId, rc), rc)
}

// stepKeys validates the parent keys of a step input.
func stepKeys(in StepInput) (core.Key, error) {
	k := core.Key{PK: in.PK, SK: in.SK}
	if _, err := checkTaskKey(k); err != nil {
		return k, err
	}
	return k, nil
}

func subTaskIndex(in StepInput) (int, error) {
	if in.Index == nil || *in.Index < 0 || *in.Index >= MaxSubTasks {
		return 0, &core.ValidationError{Problems: []string{"task: step input has no valid sub-task index"}}
	}
	return *in.Index, nil
}

// stepSubTask is the SubTask step (one Map iteration).
func (s *Service) stepSubTask(ctx context.Context, t eventfactory.SFNTask[StepInput]) (SubTaskResult, error) {
	parent, err := stepKeys(t.Input)
	if err != nil {
		return SubTaskResult{}, err
	}
	i, err := subTaskIndex(t.Input)
	if err != nil {
		return SubTaskResult{}, err
	}
	st, err := s.runSubTask(ctx, parent, i, stepToken(t.Context))
	return SubTaskResult{Status: st}, err
}

// stepSubTaskFailed is the SubTaskFailed step: the iteration's step
// failed beyond its retries.
func (s *Service) stepSubTaskFailed(ctx context.Context, t eventfactory.SFNTask[StepInput]) (SubTaskResult, error) {
	parent, err := stepKeys(t.Input)
	if err != nil {
		return SubTaskResult{}, err
	}
	i, err := subTaskIndex(t.Input)
	if err != nil {
		return SubTaskResult{}, err
	}
	st, err := s.markSubTaskFailed(ctx, parent, i, errors.New(t.Input.Error.Text()))
	return SubTaskResult{Status: st}, err
}

// stepFinalize is the Finalize step.
func (s *Service) stepFinalize(ctx context.Context, t eventfactory.SFNTask[StepInput]) (Summary, error) {
	parent, err := stepKeys(t.Input)
	if err != nil {
		return Summary{}, err
	}
	return s.finalize(ctx, parent)
}

// stepAbort is the Abort step.
func (s *Service) stepAbort(ctx context.Context, t eventfactory.SFNTask[StepInput]) (Summary, error) {
	parent, err := stepKeys(t.Input)
	if err != nil {
		return Summary{}, err
	}
	return s.abort(ctx, parent, fmt.Errorf("the task state machine failed: %s", t.Input.Error.Text()))
}
