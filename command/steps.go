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
}

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
	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
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
	in, err := json.Marshal(ExecutionInput{Module: module, PK: c.PK, SK: c.SK})
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
	case OutcomeFailed:
		res.Next = NextFailed
	default:
		return ApplyStepResult{}, fmt.Errorf("apply %s: unknown outcome %q", key.SK, ar.Apply.Outcome)
	}
	log.DebugContext(ctx, "apply step", "outcome", res.Outcome, "next", res.Next)
	return res, nil
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
