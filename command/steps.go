package command

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"

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
	Error *StepError `json:"error,omitempty"`
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

// StepError is the error output of a Step Functions Catch.
type StepError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

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
	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
}

// DefaultMaxWaitTimeouts is the default of StepsOptions.MaxWaitTimeouts:
// with the default wait timeout of 300 s, a command gives up on a
// predecessor that made no progress for 50 minutes.
const DefaultMaxWaitTimeouts = 10

// WaitTimeoutError is the cause recorded on a command failed because its
// predecessor stayed unsettled through MaxWaitTimeouts consecutive waits,
// even after its execution was re-started.
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
	sum := sha256.Sum256([]byte(module + "\x00" + pk + "\x00" + sk))
	h := hex.EncodeToString(sum[:12])
	var b strings.Builder
	for _, r := range module + "-" + core.CodeOf(sk) + "-v" + versionPart(sk) {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	readable := b.String()
	if max := 80 - 1 - len(h); len(readable) > max {
		readable = readable[:max]
	}
	return readable + "-" + h
}

func versionPart(sk string) string {
	if _, v, err := core.ParseVersionedSK(sk); err == nil {
		return fmt.Sprint(v)
	}
	return "0"
}

// streamCommand is the part of a command row the stream route needs.
type streamCommand struct {
	PK       string             `dynamodbav:"pk"`
	SK       string             `dynamodbav:"sk"`
	Status   core.CommandStatus `dynamodbav:"status"`
	SyncMode string             `dynamodbav:"syncMode"`
}

// Steps returns the registration of the command flow's event routes: for
// every module, the INSERT records of its command table's stream start one
// execution of the command state machine per command (deterministic name,
// keys-only input; commands published synchronously are skipped); and the
// step handlers of the state machine's states, which call the services'
// step methods (Advance, RegisterWaitToken, RunHandler, Finish, Fail) and
// resume waiting successors through Workflows.
//
// The command table's event source mapping should deliver INSERT records
// only (FilterCriteria {"eventName": ["INSERT"]}): status updates are
// MODIFY records, which no route handles.
func Steps(opts StepsOptions) (eventfactory.Registration, error) {
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
	return st.register, nil
}

type steps struct {
	opts    StepsOptions
	log     *slog.Logger
	machine string
}

func (st *steps) register(r *eventfactory.Router) {
	modules := make([]string, 0, len(st.opts.Services))
	for m := range st.opts.Services {
		modules = append(modules, m)
	}
	sort.Strings(modules)
	for _, m := range modules {
		svc := st.opts.Services[m]
		table, _, _ := svc.Tables()
		eventfactory.OnDynamoDB(r, table, []string{eventfactory.StreamInsert},
			func(ctx context.Context, rec eventfactory.DynamoDBRecord[streamCommand]) error {
				return st.onInsert(ctx, m, rec)
			})
	}
	eventfactory.OnStepFunctions(r, st.machine, StateApply, st.apply)
	eventfactory.OnStepFunctions(r, st.machine, StateWait, st.wait)
	eventfactory.OnStepFunctions(r, st.machine, StateSyncHandler, st.syncHandler)
	eventfactory.OnStepFunctions(r, st.machine, StateFinish, st.finish)
	eventfactory.OnStepFunctions(r, st.machine, StateMarkFailed, st.markFailed)
}

// onInsert starts the execution of a new command.
func (st *steps) onInsert(ctx context.Context, module string, rec eventfactory.DynamoDBRecord[streamCommand]) error {
	c := rec.NewImage
	if c == nil {
		return &core.ValidationError{Problems: []string{"command stream record without NewImage: the stream view must be NEW_IMAGE or NEW_AND_OLD_IMAGES"}}
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
		cause = fmt.Errorf("%s: %s", e.Error, e.Cause)
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
	if _, err := Steps(opts); err != nil {
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
	st := &steps{opts: opts, log: opts.Logger, machine: MachineName(opts.StateMachineARN)}
	if st.log == nil {
		st.log = slog.Default()
	}
	key := core.Key{PK: entity.PK, SK: beyond}
	preds, err := svc.unsettledBefore(ctx, key)
	if err != nil || len(preds) == 0 {
		return 0, err
	}
	_, err = st.recoverPredecessors(ctx, st.log.With("module", module, "pk", entity.PK, "sk", entity.SK), svc, module, key)
	return len(preds), err
}
