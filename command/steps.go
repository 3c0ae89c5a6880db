package command

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/eventfactory"
)

// ExecutionInput is the input of a command state machine execution: the
// command row's keys and its module, never the record itself (Step
// Functions caps payloads at 256 KB; steps re-read with ConsistentRead).
type ExecutionInput struct {
	Module string `json:"module"`
	PK     string `json:"pk"`
	SK     string `json:"sk"`
}

// Key returns the command row's key.
func (in ExecutionInput) Key() core.Key { return core.Key{PK: in.PK, SK: in.SK} }

// StepInput is the state input a step handler receives: the execution
// input plus what earlier states added (the Map item's handler name, the
// error a Catch recorded).
type StepInput struct {
	ExecutionInput
	// Handler names the data-sync handler of a Sync iteration.
	Handler string `json:"handler,omitempty"`
	// Error is the error output of the Catch that led to MarkFailed.
	Error *eventfactory.SFNError `json:"error,omitempty"`
	// Step is the result of the previous Apply of this execution (nil on
	// the first Apply).
	Step *ApplyStepResult `json:"step,omitempty"`
	// Wake says how the last Wait ended: resumed ({"resumedBy": ...}) or
	// timed out (the Catch's {"Error": "States.Timeout", ...}).
	Wake *Wake `json:"wake,omitempty"`
}

// Wake is how a Wait step ended: the output of SendTaskSuccess
// (ResumedBy set) or the error output of its timeout Catch.
type Wake struct {
	// ResumedBy is the command (or "self") that resumed the wait.
	ResumedBy string `json:"resumedBy,omitempty"`
	// Error and Cause are set when the wait timed out.
	Error string `json:"Error,omitempty"`
	Cause string `json:"Cause,omitempty"`
}

// TimedOut reports whether the wait ended by its timeout.
func (w *Wake) TimedOut() bool { return w != nil && w.Error == asl.ErrorTimeout }

// ApplyStepResult is the result of the Apply step; Route branches on Next.
type ApplyStepResult struct {
	// Next is NextDone, NextSync, NextWait or NextFailed.
	Next string `json:"next"`
	// Handlers are the module's data-sync handlers (the Sync Map's items);
	// never null, so the state's ResultSelector always finds it.
	Handlers []string `json:"handlers"`
	// Outcome is what Apply did.
	Outcome Outcome `json:"outcome"`
	// Version is the command's version.
	Version int64 `json:"version"`
	// Resumed counts the successors resumed (default path only).
	Resumed int `json:"resumed,omitempty"`
	// WaitFor is the earlier version being waited for (NextWait), 0
	// otherwise. Always present: the state's ResultSelector reads it.
	WaitFor int64 `json:"waitFor"`
	// Timeouts counts the consecutive waits for WaitFor that timed out.
	// Always present: the state's ResultSelector reads it.
	Timeouts int `json:"timeouts"`
}

// StepResult is the (ignored) result of the other steps.
type StepResult struct {
	// Resumed counts the successors this step resumed.
	Resumed int `json:"resumed,omitempty"`
	// Resume reports that the Wait step resumed itself.
	Resume bool `json:"resume,omitempty"`
}

// StepsOptions configure Steps.
type StepsOptions struct {
	// Services are the CQRS modules' services, by module name. Required.
	Services map[string]*Service
	// Workflows starts executions and resumes waiting ones. Required.
	Workflows core.Workflows
	// StateMachineARN is the command state machine's ARN
	// (core.Config.CommandStateMachineARN). Required: its last part is the
	// machine name the step routes match.
	StateMachineARN string
	// MaxWaitTimeouts bounds the consecutive timed-out waits of a command
	// for the same unsettled predecessor (DefaultMaxWaitTimeouts when 0).
	// Every timeout re-starts the predecessors' executions; beyond the
	// bound the command is failed loudly (status failed, error log,
	// notification, failed execution) instead of waiting for ever.
	MaxWaitTimeouts int
	// OnRejected, when set, is called for every command stream record the
	// stream route rejects (see RejectedRecord), after it was logged.
	OnRejected RejectedRecordHook
	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
}

// RejectedRecord is a command table stream record that the stream route
// refused to start an execution for, because its row is not a command of
// the framework: a pk or sk that is not a string, a key that fails
// core.ValidateEntityKey, a sort key without a version. Such a row was
// written around the command service (a console edit, a script, another
// program), and no retry could ever make it start: the route skips it —
// nothing is started, the record is logged at error level with its
// sequence number and counted through StepsOptions.OnRejected — and goes
// on with the batch, so it never holds up the stream's shard.
type RejectedRecord struct {
	Module, Table  string
	SequenceNumber string
	EventID        string
	// PK and SK are the record's keys as text (as JSON when they were not
	// strings).
	PK, SK string
	// Err says what is wrong with the keys.
	Err error
}

// RejectedRecordHook receives the records the stream route rejects (see
// RejectedRecord), e.g. to count them in a metric. It must be safe for
// concurrent use. In an fx application, provide one in the graph and
// Module passes it to Steps.
type RejectedRecordHook func(context.Context, RejectedRecord)

// DefaultMaxWaitTimeouts is the default of StepsOptions.MaxWaitTimeouts:
// with the default wait timeout of 300 s, a command gives up on a
// predecessor that made no progress through 11 waits in a row, 55 minutes
// (the 11th timeout is beyond the bound of 10).
const DefaultMaxWaitTimeouts = 10

// WaitTimeoutError is the cause recorded on a command failed because its
// predecessor stayed unsettled through more than MaxWaitTimeouts
// consecutive timed-out waits, even after its execution was re-started.
type WaitTimeoutError struct {
	// SK is the waiting command's sort key; WaitFor the predecessor's
	// version.
	SK      string
	WaitFor int64
	// Timeouts is the number of waits that timed out.
	Timeouts int
}

func (e *WaitTimeoutError) Error() string {
	return fmt.Sprintf("command %s: predecessor version %d still unsettled after %d timed-out waits", e.SK, e.WaitFor, e.Timeouts)
}

// executionInput is the execution input of a command row: the same bytes
// for the stream route and for a re-start, so Step Functions treats a
// re-start of a running execution as idempotent.
func executionInput(module, pk, sk string) (json.RawMessage, error) {
	return json.Marshal(ExecutionInput{Module: module, PK: pk, SK: sk})
}

// executionARN returns the ARN of execution name of the state machine
// stateMachineARN (arn:...:stateMachine:M → arn:...:execution:M:name).
func executionARN(stateMachineARN, name string) string {
	return strings.Replace(stateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + name
}

// MachineName returns the name part of a state machine ARN
// (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME), or s when it is no
// ARN.
func MachineName(arn string) string {
	if i := strings.LastIndexByte(arn, ':'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// ExecutionName returns the deterministic execution name of the command
// row (pk, sk@version) of module: a readable prefix and a hash of module,
// pk and sk, at most 80 characters of [A-Za-z0-9-_]. A redelivered stream
// record gets the same name, so Step Functions does not start a second
// execution.
func ExecutionName(module, pk, sk string) string {
	return core.ExecutionName(module+"-"+core.CodeOf(sk)+"-v"+versionPart(sk), module, pk, sk)
}

func versionPart(sk string) string {
	if _, v, err := core.ParseVersionedSK(sk); err == nil {
		return fmt.Sprint(v)
	}
	return "0"
}

// StreamFilterCriteria is the filter pattern of a command table's event
// source mapping: INSERT records of commands published asynchronously.
// Status updates (MODIFY) and the rows of a synchronous publish (which
// carry syncMode; PublishSync applied them already) never invoke the
// function. The stream route skips such records anyway.
const StreamFilterCriteria = `{"eventName":["INSERT"],"dynamodb":{"NewImage":{"syncMode":[{"exists":false}]}}}`

// Streamed reports whether a command table stream record passes
// StreamFilterCriteria: an INSERT whose new image has no syncMode. The
// embedded runtime filters with it.
func Streamed(r events.DynamoDBEventRecord) bool {
	_, sync := r.Change.NewImage["syncMode"]
	return r.EventName == eventfactory.StreamInsert && !sync
}

// streamCommand is the part of a command row the stream route needs.
type streamCommand struct {
	PK       string             `dynamodbav:"pk"`
	SK       string             `dynamodbav:"sk"`
	Status   core.CommandStatus `dynamodbav:"status"`
	SyncMode string             `dynamodbav:"syncMode"`
}

// decodeStreamCommand reads the part of a command row the stream route
// needs from a stream image, refusing rows that are not commands of the
// framework: keys that are not strings or fail the key rule.
func decodeStreamCommand(img core.Item) (streamCommand, error) {
	var c streamCommand
	str := func(name string) (string, error) {
		switch v := img[name].(type) {
		case *types.AttributeValueMemberS:
			return v.Value, nil
		case nil:
			return "", &core.KeyError{Part: name, Reason: "missing"}
		default:
			return "", &core.KeyError{Part: name, Value: attrText(v), Reason: fmt.Sprintf("not a string (%T)", v)}
		}
	}
	var err error
	if c.PK, err = str("pk"); err != nil {
		return c, err
	}
	if c.SK, err = str("sk"); err != nil {
		return c, err
	}
	if _, _, err := cmdKey(core.Key{PK: c.PK, SK: c.SK}); err != nil {
		return c, err
	}
	if v, ok := img["status"].(*types.AttributeValueMemberS); ok {
		c.Status = core.CommandStatus(v.Value)
	}
	if v, ok := img["syncMode"].(*types.AttributeValueMemberS); ok {
		c.SyncMode = v.Value
	}
	return c, nil
}

// attrText renders an attribute value for a log line.
func attrText(v core.AttributeValue) string {
	var x any
	if err := attributevalue.Unmarshal(v, &x); err != nil {
		return fmt.Sprintf("%T", v)
	}
	b, _ := json.Marshal(x)
	return string(b)
}

// Steps returns the registration of the command flow's event routes: for
// every module, the INSERT records of its command table's stream start one
// execution of the command state machine per command (deterministic name,
// keys-only input; commands published synchronously are skipped); and the
// step handlers of the state machine's states, which call the services'
// step methods (Advance, RegisterWaitToken, RunHandler, Finish, Fail) and
// resume waiting successors through Workflows.
//
// The command table's event source mapping should filter with
// StreamFilterCriteria: status updates are MODIFY records, which no route
// handles, and the rows of a synchronous publish need no execution.
func Steps(opts StepsOptions) (eventfactory.Registration, error) {
	st, err := newSteps(opts)
	if err != nil {
		return nil, err
	}
	return st.register, nil
}

// newSteps validates opts, fills in their defaults and returns the step
// handlers.
func newSteps(opts StepsOptions) (*steps, error) {
	var p []string
	if len(opts.Services) == 0 {
		p = append(p, "Services is empty")
	}
	for m, s := range opts.Services {
		if s == nil {
			p = append(p, fmt.Sprintf("service of module %q is nil", m))
		} else if s.Module() != m {
			p = append(p, fmt.Sprintf("service of module %q is registered as %q", s.Module(), m))
		}
	}
	if opts.Workflows == nil {
		p = append(p, "Workflows is nil")
	}
	if opts.StateMachineARN == "" {
		p = append(p, "StateMachineARN is empty (set core.Config.CommandStateMachineARN)")
	}
	if len(p) > 0 {
		return nil, &core.ValidationError{Problems: p}
	}
	if opts.MaxWaitTimeouts < 0 {
		return nil, &core.ValidationError{Problems: []string{"MaxWaitTimeouts is negative"}}
	}
	if opts.MaxWaitTimeouts == 0 {
		opts.MaxWaitTimeouts = DefaultMaxWaitTimeouts
	}
	st := &steps{opts: opts, log: opts.Logger, machine: MachineName(opts.StateMachineARN)}
	if st.log == nil {
		st.log = slog.Default()
	}
	return st, nil
}

type steps struct {
	opts    StepsOptions
	log     *slog.Logger
	machine string
}

func (st *steps) register(r *eventfactory.Router) {
	for _, m := range slices.Sorted(maps.Keys(st.opts.Services)) {
		svc := st.opts.Services[m]
		table, _, _ := svc.Tables()
		eventfactory.OnDynamoDB(r, table, []string{eventfactory.StreamInsert},
			func(ctx context.Context, rec eventfactory.DynamoDBRecord[core.Item]) error {
				return st.onInsert(ctx, m, rec)
			})
	}
	eventfactory.OnStepFunctions(r, st.machine, StateApply, st.apply)
	eventfactory.OnStepFunctions(r, st.machine, StateWait, st.wait)
	eventfactory.OnStepFunctions(r, st.machine, StateSyncHandler, st.syncHandler)
	eventfactory.OnStepFunctions(r, st.machine, StateFinish, st.finish)
	eventfactory.OnStepFunctions(r, st.machine, StateMarkFailed, st.markFailed)
	eventfactory.OnEventBridge(r, SweepEventSource, SweepEventDetailType, st.onSweep)
}

// onInsert starts the execution of a new command.
func (st *steps) onInsert(ctx context.Context, module string, rec eventfactory.DynamoDBRecord[core.Item]) error {
	if rec.NewImage == nil {
		return &core.ValidationError{Problems: []string{"command stream record without NewImage: the stream view must be NEW_IMAGE or NEW_AND_OLD_IMAGES"}}
	}
	c, err := decodeStreamCommand(*rec.NewImage)
	if err != nil {
		st.reject(ctx, module, rec, err)
		return nil
	}
	log := st.log.With("module", module, "pk", c.PK, "sk", c.SK)
	if c.SyncMode == core.SyncModeSync || settled(c.Status) {
		log.DebugContext(ctx, "command applied synchronously; no execution")
		return nil
	}
	in, err := executionInput(module, c.PK, c.SK)
	if err != nil {
		return err
	}
	name := ExecutionName(module, c.PK, c.SK)
	arn, err := st.opts.Workflows.StartExecution(ctx, st.opts.StateMachineARN, name, in)
	if errors.Is(err, core.ErrExecutionExists) {
		log.InfoContext(ctx, "execution exists already (redelivered record)", "execution", name)
		return nil
	}
	if err != nil {
		return fmt.Errorf("start execution %s: %w", name, err)
	}
	log.DebugContext(ctx, "execution started", "executionArn", arn)
	return nil
}

// reject skips a stream record that is no command of the framework (see
// RejectedRecord): an error log with its sequence number, the OnRejected
// hook, and nothing started.
func (st *steps) reject(ctx context.Context, module string, rec eventfactory.DynamoDBRecord[core.Item], err error) {
	r := RejectedRecord{Module: module, Table: rec.Table, SequenceNumber: rec.Record.Change.SequenceNumber,
		EventID: rec.Record.EventID, Err: err}
	img := *rec.NewImage
	if v, ok := img["pk"].(*types.AttributeValueMemberS); ok {
		r.PK = v.Value
	} else if img["pk"] != nil {
		r.PK = attrText(img["pk"])
	}
	if v, ok := img["sk"].(*types.AttributeValueMemberS); ok {
		r.SK = v.Value
	} else if img["sk"] != nil {
		r.SK = attrText(img["sk"])
	}
	st.log.ErrorContext(ctx, "command stream record rejected: not a command of the framework; no execution started",
		"module", module, "table", r.Table, "sequenceNumber", r.SequenceNumber, "eventID", r.EventID,
		"pk", r.PK, "sk", r.SK, "err", err)
	if st.opts.OnRejected != nil {
		st.opts.OnRejected(ctx, r)
	}
}

func (st *steps) service(in ExecutionInput) (*Service, error) {
	svc := st.opts.Services[in.Module]
	if svc == nil {
		return nil, &core.NotFoundError{Kind: "module", Name: in.Module}
	}
	return svc, nil
}

// resume sends SendTaskSuccess to the tokens of waiting successors. A token
// already used (the successor resumed itself, or timed out) is expected.
func (st *steps) resume(ctx context.Context, log *slog.Logger, key core.Key, tokens []string) (int, error) {
	out, _ := json.Marshal(map[string]string{"resumedBy": key.SK})
	n := 0
	for _, tok := range tokens {
		err := st.opts.Workflows.SendTaskSuccess(ctx, tok, out)
		switch {
		case err == nil:
			n++
		case errors.Is(err, core.ErrTaskTokenInvalid):
			log.DebugContext(ctx, "successor token already used", "err", err)
		default:
			return n, fmt.Errorf("resume successor of %s: %w", key.SK, err)
		}
	}
	return n, nil
}

func (st *steps) taskLog(task eventfactory.SFNTask[StepInput]) *slog.Logger {
	return st.log.With("module", task.Input.Module, "pk", task.Input.PK, "sk", task.Input.SK,
		"executionId", task.Context.Execution.ID, "state", task.Context.State.Name)
}

// apply is the Apply step: Service.Advance (apply, and finish on the
// default path).
func (st *steps) apply(ctx context.Context, task eventfactory.SFNTask[StepInput]) (ApplyStepResult, error) {
	svc, err := st.service(task.Input.ExecutionInput)
	if err != nil {
		return ApplyStepResult{}, err
	}
	log := st.taskLog(task)
	key := task.Input.Key()
	for pass := 0; ; pass++ {
		ar, err := svc.Advance(ctx, key)
		if err != nil {
			return ApplyStepResult{}, err
		}
		res := ApplyStepResult{Outcome: ar.Apply.Outcome, Version: ar.Apply.Version, Handlers: []string{}}
		switch ar.Apply.Outcome {
		case OutcomeApplied, OutcomeAlreadyApplied:
			if ar.Finished || len(svc.SyncHandlers()) == 0 {
				res.Next = NextDone
				if res.Resumed, err = st.resume(ctx, log, key, ar.Resume.Tokens); err != nil {
					return ApplyStepResult{}, err
				}
			} else {
				res.Next = NextSync
				res.Handlers = svc.SyncHandlers()
			}
		case OutcomeWait:
			res.Next = NextWait
			res.WaitFor = ar.Apply.WaitFor
			if p := task.Input.Step; p != nil && p.WaitFor == res.WaitFor {
				res.Timeouts = p.Timeouts
			}
			if !task.Input.Wake.TimedOut() || pass > 0 {
				break
			}
			res.Timeouts++
			if res.Timeouts > st.opts.MaxWaitTimeouts {
				return st.giveUp(ctx, log, svc, key, res)
			}
			again, err := st.recoverPredecessors(ctx, log, svc, task.Input.Module, key)
			if err != nil {
				return ApplyStepResult{}, err
			}
			if again {
				// A predecessor was abandoned: look again at once rather
				// than wait.
				continue
			}
		case OutcomeFailed:
			res.Next = NextFailed
		default:
			return ApplyStepResult{}, fmt.Errorf("apply %s: unknown outcome %q", key.SK, ar.Apply.Outcome)
		}
		log.DebugContext(ctx, "apply step", "outcome", res.Outcome, "next", res.Next)
		return res, nil
	}
}

// wait is the Wait step (.waitForTaskToken): store the token; when the
// predecessor settled meanwhile, resume this execution at once.
func (st *steps) wait(ctx context.Context, task eventfactory.SFNTask[StepInput]) (StepResult, error) {
	svc, err := st.service(task.Input.ExecutionInput)
	if err != nil {
		return StepResult{}, err
	}
	if task.TaskToken == "" {
		return StepResult{}, &core.ValidationError{Problems: []string{"wait step without a task token: pass \"taskToken.$\": \"$$.Task.Token\""}}
	}
	key := task.Input.Key()
	wr, err := svc.RegisterWaitToken(ctx, key, task.TaskToken)
	if err != nil {
		return StepResult{}, err
	}
	if !wr.Resume {
		return StepResult{}, nil
	}
	out, _ := json.Marshal(map[string]string{"resumedBy": "self"})
	if err := st.opts.Workflows.SendTaskSuccess(ctx, task.TaskToken, out); err != nil {
		return StepResult{}, fmt.Errorf("resume %s: %w", key.SK, err)
	}
	return StepResult{Resume: true}, nil
}

// syncHandler is one iteration of the Sync Map: one data-sync handler.
func (st *steps) syncHandler(ctx context.Context, task eventfactory.SFNTask[StepInput]) (StepResult, error) {
	svc, err := st.service(task.Input.ExecutionInput)
	if err != nil {
		return StepResult{}, err
	}
	return StepResult{}, svc.RunHandler(ctx, task.Input.Key(), task.Input.Handler)
}

// finish is the Finish step after Sync.
func (st *steps) finish(ctx context.Context, task eventfactory.SFNTask[StepInput]) (StepResult, error) {
	svc, err := st.service(task.Input.ExecutionInput)
	if err != nil {
		return StepResult{}, err
	}
	key := task.Input.Key()
	r, err := svc.Finish(ctx, key)
	if err != nil {
		return StepResult{}, err
	}
	n, err := st.resume(ctx, st.taskLog(task), key, r.Tokens)
	return StepResult{Resumed: n}, err
}

// markFailed is the MarkFailed step: mark the command failed and resume
// its successors.
func (st *steps) markFailed(ctx context.Context, task eventfactory.SFNTask[StepInput]) (StepResult, error) {
	svc, err := st.service(task.Input.ExecutionInput)
	if err != nil {
		return StepResult{}, err
	}
	cause := errors.New("command failed")
	if e := task.Input.Error; e != nil {
		cause = errors.New(e.Text())
	}
	key := task.Input.Key()
	r, err := svc.Fail(ctx, key, cause)
	if err != nil {
		return StepResult{}, err
	}
	n, err := st.resume(ctx, st.taskLog(task), key, r.Tokens)
	return StepResult{Resumed: n}, err
}

// recoverPredecessors runs when a command's wait for an unsettled
// predecessor timed out. Whatever held the predecessor up — its stream
// record lost beyond retries, so its execution never started; its
// execution ended without settling it — it is re-started here: every
// unsettled earlier version gets StartExecution with its deterministic
// name and input, which starts a missing execution and is a no-op for a
// running one. When the name exists and its execution has ended, nothing
// will ever settle that command: it is abandoned (marked failed, its
// successors resumed) and again is true.
func (st *steps) recoverPredecessors(ctx context.Context, log *slog.Logger, svc *Service, module string, key core.Key) (again bool, err error) {
	preds, err := svc.unsettledBefore(ctx, key)
	if err != nil {
		return false, err
	}
	arn := st.opts.StateMachineARN
	for _, c := range preds {
		name := ExecutionName(module, c.PK, c.SK)
		in, err := executionInput(module, c.PK, c.SK)
		if err != nil {
			return false, err
		}
		plog := log.With("predecessor", c.SK, "predecessorStatus", c.Status, "execution", name)
		_, err = st.opts.Workflows.StartExecution(ctx, arn, name, in)
		if err == nil {
			plog.WarnContext(ctx, "wait timed out: predecessor execution (re)started")
			continue
		}
		if !errors.Is(err, core.ErrExecutionExists) {
			return false, fmt.Errorf("restart predecessor %s: %w", c.SK, err)
		}
		ex, err := st.opts.Workflows.DescribeExecution(ctx, executionARN(arn, name))
		if err != nil {
			return false, fmt.Errorf("describe predecessor execution %s: %w", name, err)
		}
		if ex.Status == core.ExecutionRunning {
			continue
		}
		cause := fmt.Sprintf("execution %s ended (%s %s) without settling the command", name, ex.Status, ex.Error)
		r, abandoned, err := svc.abandon(ctx, c.Key(), cause)
		if err != nil {
			return false, err
		}
		if _, err := st.resume(ctx, plog, c.Key(), r.Tokens); err != nil {
			return false, err
		}
		if abandoned {
			plog.ErrorContext(ctx, "predecessor abandoned: its execution ended without settling it", "executionStatus", ex.Status)
			again = true
		}
	}
	return again, nil
}

// giveUp fails a command whose predecessor stayed unsettled through
// MaxWaitTimeouts waits: status failed with a WaitTimeoutError, an error
// log, the failure notification, its successors resumed, and the
// execution ends in the Failed state (an alarm on failed executions sees
// it).
func (st *steps) giveUp(ctx context.Context, log *slog.Logger, svc *Service, key core.Key, res ApplyStepResult) (ApplyStepResult, error) {
	cause := &WaitTimeoutError{SK: key.SK, WaitFor: res.WaitFor, Timeouts: res.Timeouts}
	log.ErrorContext(ctx, "giving up waiting for the predecessor", "waitFor", res.WaitFor, "timeouts", res.Timeouts)
	r, err := svc.Fail(ctx, key, cause)
	if err != nil {
		return ApplyStepResult{}, err
	}
	if res.Resumed, err = st.resume(ctx, log, key, r.Tokens); err != nil {
		return ApplyStepResult{}, err
	}
	res.Next, res.Outcome = NextFailed, OutcomeFailed
	return res, nil
}

// Recover re-starts the executions of the commands of entity (its data
// row key) in module that are not settled yet, as a timed-out wait does
// for its predecessors: missing executions start under their
// deterministic names, running ones are left alone, and a command whose
// execution ended without settling it is marked failed. It is the
// operator's tool for a command that nobody waits for — the last version
// of an entity whose stream record was lost (a later version of the
// entity would recover it by itself) — and returns how many commands were
// unsettled. opts are the options given to Steps.
func Recover(ctx context.Context, opts StepsOptions, module string, entity core.Key) (int, error) {
	st, err := newSteps(opts)
	if err != nil {
		return 0, err
	}
	svc := opts.Services[module]
	if svc == nil {
		return 0, &core.NotFoundError{Kind: "module", Name: module}
	}
	if err := core.ValidateEntityKey(entity); err != nil {
		return 0, err
	}
	beyond, err := core.VersionedSK(entity.SK, core.MaxVersion)
	if err != nil {
		return 0, err
	}
	key := core.Key{PK: entity.PK, SK: beyond}
	preds, err := svc.unsettledBefore(ctx, key)
	if err != nil || len(preds) == 0 {
		return 0, err
	}
	_, err = st.recoverPredecessors(ctx, st.log.With("module", module, "pk", entity.PK, "sk", entity.SK), svc, module, key)
	return len(preds), err
}
