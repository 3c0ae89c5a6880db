package eventfactory

import (
	"encoding/json"
	"strings"
	"time"
)

// SFNPayload is the payload a Step Functions Task state sends when its
// Parameters are {"input.$": "$", "context.$": "$$"} and, for
// .waitForTaskToken, "taskToken.$": "$$.Task.Token".
type SFNPayload struct {
	// Input is the state's input ($), undecoded.
	Input json.RawMessage `json:"input,omitempty"`
	// Context is the context object ($$). Nil when the payload has none,
	// which Dispatch rejects.
	Context *SFNContext `json:"context,omitempty"`
	// TaskToken is the task token when the state machine passes it
	// explicitly; it is also in Context.Task.
	TaskToken string `json:"taskToken,omitempty"`
}

// SFNContext is the Step Functions context object ($$).
type SFNContext struct {
	Execution    SFNExecution    `json:"Execution"`
	State        SFNState        `json:"State"`
	StateMachine SFNStateMachine `json:"StateMachine"`
	// Task is present in states using .waitForTaskToken.
	Task *SFNTaskInfo `json:"Task,omitempty"`
	// Map is present inside a Map state's iterations.
	Map *SFNMap `json:"Map,omitempty"`
}

// SFNExecution describes the running execution.
type SFNExecution struct {
	ID           string          `json:"Id"` // execution ARN
	Input        json.RawMessage `json:"Input,omitempty"`
	Name         string          `json:"Name"`
	RoleArn      string          `json:"RoleArn"` //nolint:revive // AWS spelling
	StartTime    time.Time       `json:"StartTime"`
	RedriveCount int             `json:"RedriveCount"`
}

// SFNState describes the state being run.
type SFNState struct {
	EnteredTime time.Time `json:"EnteredTime"`
	Name        string    `json:"Name"`
	RetryCount  int       `json:"RetryCount"`
}

// SFNStateMachine names the state machine.
type SFNStateMachine struct {
	ID   string `json:"Id"` // state machine ARN
	Name string `json:"Name"`
}

// SFNTaskInfo holds the task token of a .waitForTaskToken state.
type SFNTaskInfo struct {
	Token string `json:"Token"`
}

// SFNMap describes the Map iteration being run.
type SFNMap struct {
	Item SFNMapItem `json:"Item"`
}

// SFNMapItem is the item of a Map iteration.
type SFNMapItem struct {
	Index int             `json:"Index"`
	Value json.RawMessage `json:"Value,omitempty"`
}

// MachineName returns the state machine's name: StateMachine.Name, else
// the last part of StateMachine.Id
// (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME).
func (c *SFNContext) MachineName() string {
	if c.StateMachine.Name != "" {
		return c.StateMachine.Name
	}
	if i := strings.LastIndexByte(c.StateMachine.ID, ':'); i >= 0 {
		return c.StateMachine.ID[i+1:]
	}
	return c.StateMachine.ID
}

// Token returns the task token: the payload's taskToken, else the context's
// Task.Token, else "".
func (p *SFNPayload) Token() string {
	if p.TaskToken != "" {
		return p.TaskToken
	}
	if p.Context != nil && p.Context.Task != nil {
		return p.Context.Task.Token
	}
	return ""
}

// SFNTask is a Step Functions task as its handler sees it: the state's
// input decoded as In, the context object and the task token.
type SFNTask[In any] struct {
	Input     In
	Context   SFNContext
	TaskToken string // empty unless the state waits for a task token
	Payload   SFNPayload
}

// SFNError is the error output of a Step Functions Catch (what its
// ResultPath puts into the state's input): the error name and the cause.
type SFNError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// Text is the error as readable text, "Error: message". A Lambda
// function's error reaches Step Functions with a JSON document as its
// Cause ({"errorMessage": …, "errorType": …, "stackTrace": …}), of which it
// keeps the message; any other Cause is kept as it is. A nil SFNError is
// "unknown error".
func (e *SFNError) Text() string {
	if e == nil {
		return "unknown error"
	}
	cause := e.Cause
	var doc struct {
		ErrorMessage *string `json:"errorMessage"`
	}
	if strings.HasPrefix(strings.TrimSpace(cause), "{") && json.Unmarshal([]byte(cause), &doc) == nil && doc.ErrorMessage != nil {
		cause = *doc.ErrorMessage
	}
	switch {
	case cause == "":
		return e.Error
	case e.Error == "":
		return cause
	}
	return e.Error + ": " + cause
}
