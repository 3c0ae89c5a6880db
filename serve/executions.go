package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/stepcqrs/stepcqrs/asl/interp"
	"github.com/stepcqrs/stepcqrs/core"
)

// maxPayload is Step Functions' limit on execution input and task output.
const maxPayload = 256 * 1024

// execution is one execution the server started.
type execution struct {
	arn, name string
	sm        *machine
	express   bool
	input     json.RawMessage
	start     time.Time
	x         *interp.Execution
	stop      time.Time     // set, under Server.mu, before ended closes
	ended     chan struct{} // closed once stop is set
}

// startExecution starts an execution, idempotently by name for standard
// state machines: the same name and input of a running execution give
// that execution (started false); a different input, or a name whose
// execution has ended, give ExecutionAlreadyExists.
func (s *Server) startExecution(smARN, name string, input *string) (e *execution, started bool, err error) {
	m, err := s.machine(smARN)
	if err != nil {
		return nil, false, err
	}
	if name == "" {
		name = newUUID()
	}
	if !validName(name) {
		return nil, false, apiErr(CodeInvalidName, "Invalid Name: '%s'", name)
	}
	in := json.RawMessage(`{}`)
	if input != nil {
		if len(*input) > maxPayload {
			return nil, false, apiErr(CodeInvalidExecutionInput, "Invalid State Machine Execution Input: 'the input of %d bytes exceeds the maximum of %d'", len(*input), maxPayload)
		}
		var b bytes.Buffer
		if err := json.Compact(&b, []byte(*input)); err != nil {
			return nil, false, apiErr(CodeInvalidExecutionInput, "Invalid State Machine Execution Input: '%v'", err)
		}
		in = b.Bytes()
	}
	arn := "arn:aws:states:" + s.opts.Region + ":" + s.opts.AccountID + ":execution:" + m.name + ":" + name
	if m.typ == TypeExpress {
		arn = "arn:aws:states:" + s.opts.Region + ":" + s.opts.AccountID + ":express:" + m.name + ":" + name + ":" + newUUID()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.execs[arn]; old != nil {
		if bytes.Equal(old.input, in) && old.x.Status().Status == interp.StatusRunning {
			return old, false, nil
		}
		return nil, false, apiErr(CodeExecutionAlreadyExists, "Execution Already Exists: '%s'", arn)
	}
	x, err := m.eng.Start(context.Background(), in, interp.WithName(name))
	if err != nil {
		return nil, false, apiErr(CodeInvalidExecutionInput, "Invalid State Machine Execution Input: '%v'", err)
	}
	e = &execution{arn: arn, name: name, sm: m, express: m.typ == TypeExpress, input: in, start: x.StartTime(), x: x, ended: make(chan struct{})}
	s.execs[arn] = e
	s.order = append(s.order, e)
	go func() {
		<-x.Done()
		s.mu.Lock()
		e.stop = s.opts.Clock.Now()
		s.mu.Unlock()
		close(e.ended)
	}()
	return e, true, nil
}

// execution returns the execution of arn.
func (s *Server) execution(arn string) (*execution, error) {
	if checkARN(arn, "execution") != nil && checkARN(arn, "express") != nil {
		return nil, apiErr(CodeInvalidArn, "Invalid Arn: 'Resource type not valid in this context: %s'", arn)
	}
	s.mu.Lock()
	e := s.execs[arn]
	s.mu.Unlock()
	if e == nil {
		return nil, apiErr(CodeExecutionDoesNotExist, "Execution Does Not Exist: '%s'", arn)
	}
	return e, nil
}

// snapshot is an execution's state at one time.
type snapshot struct {
	res  interp.Result
	stop time.Time
}

// state returns the execution's result and stop date.
func (s *Server) state(e *execution) snapshot {
	select {
	case <-e.ended:
		s.mu.Lock()
		defer s.mu.Unlock()
		return snapshot{res: e.x.Status(), stop: e.stop}
	default:
		return snapshot{res: interp.Result{Status: interp.StatusRunning}}
	}
}

func (s *Server) opStartExecution(_ context.Context, body []byte) (any, error) {
	var in struct {
		StateMachineArn string  `json:"stateMachineArn"`
		Name            string  `json:"name"`
		Input           *string `json:"input"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	e, _, err := s.startExecution(in.StateMachineArn, in.Name, in.Input)
	if err != nil {
		return nil, err
	}
	return map[string]any{"executionArn": e.arn, "startDate": epoch(e.start)}, nil
}

func (s *Server) opStartSyncExecution(ctx context.Context, body []byte) (any, error) {
	var in struct {
		StateMachineArn string  `json:"stateMachineArn"`
		Name            string  `json:"name"`
		Input           *string `json:"input"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	m, err := s.machine(in.StateMachineArn)
	if err != nil {
		return nil, err
	}
	if m.typ != TypeExpress {
		return nil, apiErr(CodeStateMachineTypeNotSupport, "This operation is not supported by this type of state machine")
	}
	e, _, err := s.startExecution(in.StateMachineArn, in.Name, in.Input)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.ended:
	case <-ctx.Done():
		_ = e.x.Stop("States.Aborted", "the StartSyncExecution request ended")
		<-e.ended
	}
	out := s.describe(e)
	delete(out, "redriveCount")
	out["billingDetails"] = map[string]any{
		"billedMemoryUsedInMB":         64,
		"billedDurationInMilliseconds": max(100, s.state(e).stop.Sub(e.start).Milliseconds()),
	}
	return out, nil
}

// describe renders an execution as DescribeExecution does.
func (s *Server) describe(e *execution) map[string]any {
	st := s.state(e)
	out := map[string]any{
		"executionArn":    e.arn,
		"stateMachineArn": e.sm.arn,
		"name":            e.name,
		"status":          string(st.res.Status),
		"startDate":       epoch(e.start),
		"input":           string(e.input),
		"inputDetails":    map[string]any{"included": true},
	}
	if !st.stop.IsZero() {
		out["stopDate"] = epoch(st.stop)
	}
	if st.res.Status == interp.StatusSucceeded {
		out["output"] = string(st.res.Output)
		out["outputDetails"] = map[string]any{"included": true}
	}
	if st.res.Error != "" {
		out["error"] = st.res.Error
	}
	if st.res.Cause != "" {
		out["cause"] = st.res.Cause
	}
	return out
}

func (s *Server) opDescribeExecution(_ context.Context, body []byte) (any, error) {
	var in struct {
		ExecutionArn string `json:"executionArn"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	e, err := s.execution(in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	return s.describe(e), nil
}

func (s *Server) opListExecutions(_ context.Context, body []byte) (any, error) {
	var in struct {
		StateMachineArn string `json:"stateMachineArn"`
		StatusFilter    string `json:"statusFilter"`
		MaxResults      int    `json:"maxResults"`
		NextToken       string `json:"nextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if _, err := s.machine(in.StateMachineArn); err != nil {
		return nil, err
	}
	s.mu.Lock()
	var list []*execution
	for i := len(s.order) - 1; i >= 0; i-- {
		if s.order[i].sm.arn == in.StateMachineArn {
			list = append(list, s.order[i])
		}
	}
	s.mu.Unlock()
	var items []any
	for _, e := range list {
		st := s.state(e)
		if in.StatusFilter != "" && string(st.res.Status) != in.StatusFilter {
			continue
		}
		it := map[string]any{"executionArn": e.arn, "stateMachineArn": e.sm.arn, "name": e.name, "status": string(st.res.Status), "startDate": epoch(e.start)}
		if !st.stop.IsZero() {
			it["stopDate"] = epoch(st.stop)
		}
		items = append(items, it)
	}
	from, to, next, err := page(in.NextToken, in.MaxResults, len(items))
	if err != nil {
		return nil, err
	}
	out := map[string]any{"executions": append([]any{}, items[from:to]...)}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func (s *Server) opStopExecution(_ context.Context, body []byte) (any, error) {
	var in struct {
		ExecutionArn string `json:"executionArn"`
		Error        string `json:"error"`
		Cause        string `json:"cause"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	e, err := s.execution(in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	_ = e.x.Stop(in.Error, in.Cause)
	<-e.ended
	return map[string]any{"stopDate": epoch(s.state(e).stop)}, nil
}

func (s *Server) opGetExecutionHistory(_ context.Context, body []byte) (any, error) {
	in := struct {
		ExecutionArn         string `json:"executionArn"`
		MaxResults           int    `json:"maxResults"`
		ReverseOrder         bool   `json:"reverseOrder"`
		NextToken            string `json:"nextToken"`
		IncludeExecutionData *bool  `json:"includeExecutionData"`
	}{}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	e, err := s.execution(in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	evs := e.x.History()
	if in.ReverseOrder {
		for i, j := 0, len(evs)-1; i < j; i, j = i+1, j-1 {
			evs[i], evs[j] = evs[j], evs[i]
		}
	}
	from, to, next, err := page(in.NextToken, in.MaxResults, len(evs))
	if err != nil {
		return nil, err
	}
	include := in.IncludeExecutionData == nil || *in.IncludeExecutionData
	list := make([]any, 0, to-from)
	for _, ev := range evs[from:to] {
		list = append(list, historyEvent(ev, e.sm.role, s.opts.Region, include))
	}
	out := map[string]any{"events": list}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

// tokenShape matches the task tokens the interpreter issues.
var tokenShape = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// tokenError maps an interpreter token error to the API's: a token the
// server could have issued is TaskTimedOut (it is no longer waited on,
// as AWS answers for a used token), anything else InvalidToken.
func tokenError(token string, err error) error {
	if !errors.Is(err, interp.ErrUnknownToken) {
		return err
	}
	if tokenShape.MatchString(token) {
		return apiErr(CodeTaskTimedOut, "Task Timed Out: 'Provided task does not exist anymore'")
	}
	return apiErr(CodeInvalidToken, "Invalid Token: 'Invalid token'")
}

func checkToken(token string) error {
	if token == "" || len(token) > 1024 {
		return apiErr(CodeInvalidToken, "Invalid Token: 'Invalid token'")
	}
	return nil
}

func (s *Server) sendTaskSuccess(token string, output string) error {
	if err := checkToken(token); err != nil {
		return err
	}
	if len(output) > maxPayload || !json.Valid([]byte(output)) {
		return apiErr(CodeInvalidOutput, "Invalid Output: 'the output must be a JSON text of at most %d bytes'", maxPayload)
	}
	return tokenError(token, s.tokens.SendTaskSuccess(token, json.RawMessage(output)))
}

func (s *Server) sendTaskFailure(token, errName, cause string) error {
	if err := checkToken(token); err != nil {
		return err
	}
	if len(errName) > 256 || len(cause) > 32768 {
		return apiErr(CodeValidation, "the error is limited to 256 characters and the cause to 32768")
	}
	return tokenError(token, s.tokens.SendTaskFailure(token, errName, cause))
}

func (s *Server) sendTaskHeartbeat(token string) error {
	if err := checkToken(token); err != nil {
		return err
	}
	return tokenError(token, s.tokens.SendTaskHeartbeat(token))
}

func (s *Server) opSendTaskSuccess(_ context.Context, body []byte) (any, error) {
	var in struct {
		TaskToken string `json:"taskToken"`
		Output    string `json:"output"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	return struct{}{}, s.sendTaskSuccess(in.TaskToken, in.Output)
}

func (s *Server) opSendTaskFailure(_ context.Context, body []byte) (any, error) {
	var in struct {
		TaskToken string `json:"taskToken"`
		Error     string `json:"error"`
		Cause     string `json:"cause"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	return struct{}{}, s.sendTaskFailure(in.TaskToken, in.Error, in.Cause)
}

func (s *Server) opSendTaskHeartbeat(_ context.Context, body []byte) (any, error) {
	var in struct {
		TaskToken string `json:"taskToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	return struct{}{}, s.sendTaskHeartbeat(in.TaskToken)
}

// coreError maps an API error to the errors of core.Workflows.
func coreError(err error, name string) error {
	var ae *APIError
	if !errors.As(err, &ae) {
		return err
	}
	switch ae.Code {
	case CodeStateMachineDoesNotExist:
		return &core.NotFoundError{Kind: "state machine", Name: name}
	case CodeExecutionDoesNotExist, CodeInvalidArn:
		return &core.NotFoundError{Kind: "execution", Name: name}
	case CodeExecutionAlreadyExists:
		return fmt.Errorf("%w: %s", core.ErrExecutionExists, ae.Message)
	case CodeInvalidToken, CodeTaskTimedOut, CodeTaskDoesNotExist:
		return fmt.Errorf("%w: %s", core.ErrTaskTokenInvalid, ae.Message)
	case CodeInvalidName, CodeInvalidExecutionInput, CodeInvalidOutput, CodeValidation:
		return fmt.Errorf("%w: %s", core.ErrValidation, ae.Message)
	}
	return err
}

// StartExecution implements core.Workflows.
func (s *Server) StartExecution(ctx context.Context, stateMachineARN, name string, input json.RawMessage) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	var in *string
	if len(bytes.TrimSpace(input)) > 0 {
		str := string(input)
		in = &str
	}
	e, _, err := s.startExecution(stateMachineARN, name, in)
	if err != nil {
		if ae := (*APIError)(nil); errors.As(err, &ae) && ae.Code == CodeInvalidArn {
			return "", &core.NotFoundError{Kind: "state machine", Name: stateMachineARN}
		}
		return "", coreError(err, stateMachineARN)
	}
	return e.arn, nil
}

// DescribeExecution implements core.Workflows.
func (s *Server) DescribeExecution(ctx context.Context, executionARN string) (core.Execution, error) {
	if err := ctx.Err(); err != nil {
		return core.Execution{}, err
	}
	e, err := s.execution(executionARN)
	if err != nil {
		return core.Execution{}, coreError(err, executionARN)
	}
	return s.coreExecution(e), nil
}

func (s *Server) coreExecution(e *execution) core.Execution {
	st := s.state(e)
	return core.Execution{
		ARN: e.arn, StateMachineARN: e.sm.arn, Name: e.name, Status: core.ExecutionStatus(st.res.Status),
		Input: append(json.RawMessage(nil), e.input...), Output: append(json.RawMessage(nil), st.res.Output...),
		Error: st.res.Error, Cause: st.res.Cause, StartDate: e.start, StopDate: st.stop,
	}
}

// Wait blocks until the execution ends or ctx does, and returns it (the
// integrations' ExecutionWaiter).
func (s *Server) Wait(ctx context.Context, executionARN string) (core.Execution, error) {
	e, err := s.execution(executionARN)
	if err != nil {
		return core.Execution{}, coreError(err, executionARN)
	}
	select {
	case <-e.ended:
		return s.coreExecution(e), nil
	case <-ctx.Done():
		return core.Execution{}, ctx.Err()
	}
}

// StopExecution aborts a running execution (the integrations'
// ExecutionStopper); stopping an ended one changes nothing.
func (s *Server) StopExecution(ctx context.Context, executionARN, errName, cause string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e, err := s.execution(executionARN)
	if err != nil {
		return coreError(err, executionARN)
	}
	_ = e.x.Stop(errName, cause)
	<-e.ended
	return nil
}

// SendTaskSuccess implements core.Workflows.
func (s *Server) SendTaskSuccess(ctx context.Context, token string, output json.RawMessage) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(bytes.TrimSpace(output)) == 0 {
		output = json.RawMessage(`{}`)
	}
	return coreError(s.sendTaskSuccess(token, string(output)), "task token")
}

// SendTaskFailure implements core.Workflows.
func (s *Server) SendTaskFailure(ctx context.Context, token, errName, cause string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return coreError(s.sendTaskFailure(token, errName, cause), "task token")
}

// SendTaskHeartbeat implements core.Workflows.
func (s *Server) SendTaskHeartbeat(ctx context.Context, token string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return coreError(s.sendTaskHeartbeat(token), "task token")
}

// History returns the history events of an execution, as the interpreter
// records them.
func (s *Server) History(executionARN string) ([]interp.Event, error) {
	e, err := s.execution(executionARN)
	if err != nil {
		return nil, coreError(err, executionARN)
	}
	return e.x.History(), nil
}
