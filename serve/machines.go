package serve

import (
	"context"
	"encoding/base64"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/asl/interp"
)

// State machine types.
const (
	TypeStandard = "STANDARD"
	TypeExpress  = "EXPRESS"
)

// defaultRoleARN is the role of state machines created without one (by
// CreateStateMachine of the Go API).
const defaultRoleARN = "arn:aws:iam::123456789012:role/stepcqrs-serve"

// machine is a registered state machine. Its fields do not change: an
// update replaces the machine, so that running executions keep the
// definition they started with.
type machine struct {
	arn, name, typ, role string
	definition           string
	created, updated     time.Time
	revision             string
	eng                  *interp.Engine
}

// StateMachine describes a state machine for CreateStateMachine.
type StateMachine struct {
	// Name is the state machine's name (1 to 80 characters).
	Name string
	// Definition is the Amazon States Language JSON.
	Definition string
	// Type is TypeStandard (default) or TypeExpress.
	Type string
	// RoleARN is the execution role, reported in $$.Execution.RoleArn.
	RoleARN string
}

// CreateStateMachine registers a state machine, or replaces the
// definition of the one with that name, and returns its ARN. It is the Go
// form of the API's CreateStateMachine followed, for an existing name, by
// UpdateStateMachine.
func (s *Server) CreateStateMachine(sm StateMachine) (string, error) {
	if sm.Type == "" {
		sm.Type = TypeStandard
	}
	if sm.RoleARN == "" {
		sm.RoleARN = defaultRoleARN
	}
	arn := s.StateMachineARN(sm.Name)
	s.mu.Lock()
	old := s.machines[arn]
	s.mu.Unlock()
	if old != nil {
		_, err := s.update(arn, &sm.Definition, &sm.RoleARN)
		return arn, err
	}
	m, err := s.create(sm)
	if err != nil {
		return "", err
	}
	return m.arn, nil
}

// validName reports whether name is a valid state machine or execution
// name: 1 to 80 characters, none of whitespace, brackets, wildcards,
// special or control characters.
func validName(name string) bool {
	if name == "" || len([]rune(name)) > 80 {
		return false
	}
	if strings.ContainsAny(name, " \t\n\r<>{}[]?*\"#%\\^|~`$&,;:/") {
		return false
	}
	for _, r := range name {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) {
			return false
		}
	}
	return true
}

// newMachine parses, validates and compiles a definition.
func (s *Server) newMachine(name, typ, role, definition string) (*machine, error) {
	wt := asl.WorkflowStandard
	if typ == TypeExpress {
		wt = asl.WorkflowExpress
	}
	def, err := asl.ParseAndValidate([]byte(definition), asl.WithWorkflowType(wt))
	if err != nil {
		return nil, apiErr(CodeInvalidDefinition, "%s", definitionMessage(err))
	}
	eng, err := interp.New(def, interp.Options{
		Clock:            s.opts.Clock,
		Lambda:           s.opts.Lambda,
		Resources:        s.resources,
		Objects:          s.opts.Objects,
		Region:           s.opts.Region,
		AccountID:        s.opts.AccountID,
		StateMachineName: name,
		RoleArn:          role,
		Express:          typ == TypeExpress,
		Tokens:           s.tokens,
	})
	if err != nil {
		return nil, apiErr(CodeInvalidDefinition, "Invalid State Machine Definition: '%v'", err)
	}
	now := s.opts.Clock.Now()
	return &machine{
		arn: s.StateMachineARN(name), name: name, typ: typ, role: role, definition: definition,
		created: now, updated: now, revision: newUUID(), eng: eng,
	}, nil
}

// definitionMessage is the message of an InvalidDefinition error.
func definitionMessage(err error) string {
	var ve *asl.ValidationError
	if errors.As(err, &ve) {
		return ve.Error()
	}
	return "Invalid State Machine Definition: '" + err.Error() + "'"
}

// create registers a new state machine; an existing one with the same
// name is StateMachineAlreadyExists unless its definition, type and role
// are the same (then it is returned, as AWS does).
func (s *Server) create(sm StateMachine) (*machine, error) {
	if !validName(sm.Name) {
		return nil, apiErr(CodeInvalidName, "Invalid Name: '%s'", sm.Name)
	}
	if sm.Type != TypeStandard && sm.Type != TypeExpress {
		return nil, apiErr(CodeValidation, "1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]", sm.Type)
	}
	if !strings.HasPrefix(sm.RoleARN, "arn:") {
		return nil, apiErr(CodeInvalidArn, "Invalid Arn: 'Resource type not valid in this context: %s'", sm.RoleARN)
	}
	m, err := s.newMachine(sm.Name, sm.Type, sm.RoleARN, sm.Definition)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.machines[m.arn]; old != nil {
		if old.definition == m.definition && old.typ == m.typ && old.role == m.role {
			return old, nil
		}
		return nil, apiErr(CodeStateMachineAlreadyExists, "State Machine Already Exists: '%s'", m.arn)
	}
	s.machines[m.arn] = m
	return m, nil
}

// update replaces the definition and/or role of a state machine; running
// executions keep theirs.
func (s *Server) update(arn string, definition, role *string) (*machine, error) {
	old, err := s.machine(arn)
	if err != nil {
		return nil, err
	}
	def, r := old.definition, old.role
	if definition != nil {
		def = *definition
	}
	if role != nil && *role != "" {
		r = *role
	}
	m, err := s.newMachine(old.name, old.typ, r, def)
	if err != nil {
		return nil, err
	}
	m.created = old.created
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.machines[arn] == nil {
		return nil, apiErr(CodeStateMachineDoesNotExist, "State Machine Does Not Exist: '%s'", arn)
	}
	s.machines[arn] = m
	return m, nil
}

// checkARN validates the shape of a state machine ARN.
func checkARN(arn, kind string) error {
	parts := strings.Split(arn, ":")
	if len(parts) < 7 || parts[0] != "arn" || parts[2] != "states" || parts[5] != kind {
		return apiErr(CodeInvalidArn, "Invalid Arn: 'Resource type not valid in this context: %s'", arn)
	}
	return nil
}

// machine returns the state machine of arn.
func (s *Server) machine(arn string) (*machine, error) {
	if err := checkARN(arn, "stateMachine"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	m := s.machines[arn]
	s.mu.Unlock()
	if m == nil {
		return nil, apiErr(CodeStateMachineDoesNotExist, "State Machine Does Not Exist: '%s'", arn)
	}
	return m, nil
}

func (s *Server) opCreateStateMachine(_ context.Context, body []byte) (any, error) {
	var in struct {
		Name       string `json:"name"`
		Definition string `json:"definition"`
		RoleArn    string `json:"roleArn"`
		Type       string `json:"type"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Type == "" {
		in.Type = TypeStandard
	}
	if in.RoleArn == "" {
		return nil, apiErr(CodeValidation, "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
	}
	m, err := s.create(StateMachine{Name: in.Name, Definition: in.Definition, Type: in.Type, RoleARN: in.RoleArn})
	if err != nil {
		return nil, err
	}
	return map[string]any{"stateMachineArn": m.arn, "creationDate": epoch(m.created)}, nil
}

func (s *Server) opUpdateStateMachine(_ context.Context, body []byte) (any, error) {
	var in struct {
		StateMachineArn string  `json:"stateMachineArn"`
		Definition      *string `json:"definition"`
		RoleArn         *string `json:"roleArn"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Definition == nil && in.RoleArn == nil {
		return nil, apiErr("MissingRequiredParameter", "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified")
	}
	m, err := s.update(in.StateMachineArn, in.Definition, in.RoleArn)
	if err != nil {
		return nil, err
	}
	return map[string]any{"updateDate": epoch(m.updated), "revisionId": m.revision}, nil
}

// describeMachine renders a state machine as DescribeStateMachine does.
func describeMachine(m *machine) map[string]any {
	return map[string]any{
		"stateMachineArn":      m.arn,
		"name":                 m.name,
		"status":               "ACTIVE",
		"definition":           m.definition,
		"roleArn":              m.role,
		"type":                 m.typ,
		"creationDate":         epoch(m.created),
		"revisionId":           m.revision,
		"loggingConfiguration": map[string]any{"level": "OFF", "includeExecutionData": false},
		"tracingConfiguration": map[string]any{"enabled": false},
	}
}

func (s *Server) opDescribeStateMachine(_ context.Context, body []byte) (any, error) {
	var in struct {
		StateMachineArn string `json:"stateMachineArn"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	m, err := s.machine(in.StateMachineArn)
	if err != nil {
		return nil, err
	}
	return describeMachine(m), nil
}

func (s *Server) opDescribeStateMachineForExecution(_ context.Context, body []byte) (any, error) {
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
	out := describeMachine(e.sm)
	delete(out, "status")
	delete(out, "type")
	delete(out, "creationDate")
	out["updateDate"] = epoch(e.sm.updated)
	return out, nil
}

// page decodes a nextToken (an offset) and bounds maxResults.
func page(token string, maxResults, total int) (from, to int, next string, err error) {
	if maxResults <= 0 || maxResults > 1000 {
		maxResults = 100
	}
	if token != "" {
		b, derr := base64.RawURLEncoding.DecodeString(token)
		n, perr := strconv.Atoi(string(b))
		if derr != nil || perr != nil || n < 0 || n > total {
			return 0, 0, "", apiErr(CodeInvalidToken, "Invalid Token: '%s'", token)
		}
		from = n
	}
	to = min(from+maxResults, total)
	if to < total {
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(to)))
	}
	return from, to, next, nil
}

func (s *Server) opListStateMachines(_ context.Context, body []byte) (any, error) {
	var in struct {
		MaxResults int    `json:"maxResults"`
		NextToken  string `json:"nextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	ms := make([]*machine, 0, len(s.machines))
	for _, m := range s.machines {
		ms = append(ms, m)
	}
	s.mu.Unlock()
	sort.Slice(ms, func(i, j int) bool { return ms[i].name < ms[j].name })
	from, to, next, err := page(in.NextToken, in.MaxResults, len(ms))
	if err != nil {
		return nil, err
	}
	list := make([]any, 0, to-from)
	for _, m := range ms[from:to] {
		list = append(list, map[string]any{"stateMachineArn": m.arn, "name": m.name, "type": m.typ, "creationDate": epoch(m.created)})
	}
	out := map[string]any{"stateMachines": list}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func (s *Server) opDeleteStateMachine(_ context.Context, body []byte) (any, error) {
	var in struct {
		StateMachineArn string `json:"stateMachineArn"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkARN(in.StateMachineArn, "stateMachine"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	delete(s.machines, in.StateMachineArn)
	s.mu.Unlock()
	return struct{}{}, nil
}

func (s *Server) opValidate(_ context.Context, body []byte) (any, error) {
	var in struct {
		Definition string `json:"definition"`
		Type       string `json:"type"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	wt := asl.WorkflowStandard
	if in.Type == TypeExpress {
		wt = asl.WorkflowExpress
	}
	_, err := asl.ParseAndValidate([]byte(in.Definition), asl.WithWorkflowType(wt))
	if err == nil {
		return map[string]any{"result": "OK", "diagnostics": []any{}, "truncated": false}, nil
	}
	var ve *asl.ValidationError
	if !errors.As(err, &ve) {
		return nil, err
	}
	diags := make([]any, 0, len(ve.Problems))
	for _, p := range ve.Problems {
		d := map[string]any{"severity": "ERROR", "code": p.Code, "message": p.Message}
		if p.Location != "" {
			d["location"] = p.Location
		}
		diags = append(diags, d)
	}
	return map[string]any{"result": "FAIL", "diagnostics": diags, "truncated": false}, nil
}
