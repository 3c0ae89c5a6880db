package asl

import (
	"errors"
	"strings"
)

// ErrInvalidDefinition is the sentinel every *ValidationError unwraps to; it
// corresponds to the InvalidDefinition error of CreateStateMachine.
var ErrInvalidDefinition = errors.New("invalid state machine definition")

// Problem codes, used as the prefix of AWS's messages.
const (
	// CodeInvalidJSON: the definition is not a JSON object.
	CodeInvalidJSON = "INVALID_JSON_DESCRIPTION"
	// CodeSchema: a field is missing, unknown, of the wrong type or out of range.
	CodeSchema = "SCHEMA_VALIDATION_FAILED"
	// CodeMissingTarget: a transition names a state that does not exist.
	CodeMissingTarget = "MISSING_TRANSITION_TARGET"
	// CodeUnreachable: a state cannot be reached from StartAt.
	CodeUnreachable = "UNREACHABLE_STATE"
	// CodeNoTerminal: no state of a machine can end it.
	CodeNoTerminal = "NO_TERMINAL_STATE"
	// CodeInvalidPath: a JSONPath or reference path is malformed.
	CodeInvalidPath = "INVALID_JSONPATH"
	// CodeInvalidIntrinsic: an intrinsic function call is malformed or unknown.
	CodeInvalidIntrinsic = "INVALID_INTRINSIC_FUNCTION"
	// CodeInvalidResource: a Task Resource is not a supported ARN.
	CodeInvalidResource = "INVALID_RESOURCE"
	// CodeDuplicateState: a state name is used twice across nested machines.
	CodeDuplicateState = "DUPLICATE_STATE_NAME"
	// CodeInvalidLabel: a Map Label is empty, too long or has a forbidden character.
	CodeInvalidLabel = "INVALID_LABEL"
	// CodeInvalidJSONata: a JSONata expression ("{% ... %}") does not parse.
	CodeInvalidJSONata = "INVALID_JSONATA_EXPRESSION"
)

// Problem is one defect of a definition.
type Problem struct {
	// Code is one of the Code* constants.
	Code string
	// Location is a JSON pointer to the offending value, e.g. "/States/X/Next".
	Location string
	// Message describes the defect in AWS's words.
	Message string
}

// String formats the problem as AWS does: "CODE: message at /location", or
// "CODE: message" when the problem has no location.
func (p Problem) String() string {
	if p.Location == "" {
		return p.Code + ": " + p.Message
	}
	return p.Code + ": " + p.Message + " at " + p.Location
}

// Path returns the location as a JSONPath into the definition, e.g.
// "$.States.A.Next" for "/States/A/Next", "$.States['my state'].Catch[0]"
// for "/States/my state/Catch/0", or "$" for the whole definition. A
// numeric token is an array index except where it names a state.
func (p Problem) Path() string {
	var b strings.Builder
	b.WriteByte('$')
	loc := strings.TrimPrefix(p.Location, "/")
	if loc == "" {
		return b.String()
	}
	prev := ""
	for _, tok := range strings.Split(loc, "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch {
		case isIndex(tok) && prev != "States":
			b.WriteString("[" + tok + "]")
		case isIdentifier(tok):
			b.WriteString("." + tok)
		default:
			b.WriteString("['" + strings.ReplaceAll(strings.ReplaceAll(tok, `\`, `\\`), "'", `\'`) + "']")
		}
		prev = tok
	}
	return b.String()
}

func isIndex(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// ValidationError lists every problem found in a definition. It unwraps to
// ErrInvalidDefinition (and, for JSON syntax errors, to the decoder's error).
type ValidationError struct {
	// Problems holds the defects in document order.
	Problems []Problem
	cause    error
}

// Error formats the problems like AWS's InvalidDefinition message.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("Invalid State Machine Definition: '")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.String())
	}
	b.WriteString("'")
	return b.String()
}

// Unwrap returns ErrInvalidDefinition and the underlying cause, if any.
func (e *ValidationError) Unwrap() []error {
	if e.cause != nil {
		return []error{ErrInvalidDefinition, e.cause}
	}
	return []error{ErrInvalidDefinition}
}
