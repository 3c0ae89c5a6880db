package asl

import (
	"fmt"
	"strings"

	"github.com/stepcqrs/stepcqrs/asl/intrinsic"
	"github.com/stepcqrs/stepcqrs/asl/jsonpath"
)

// The syntax checks of Validate use the grammars of the packages the
// interpreter evaluates with (asl/jsonpath and asl/intrinsic), so that a
// definition Validate accepts never fails to parse at run time.

// PathError describes a path or intrinsic function call Validate rejects.
type PathError struct {
	// Input is the checked text.
	Input string
	// Reason describes the problem.
	Reason string
	// Err is the parser's error, if any.
	Err error
}

// Error implements error.
func (e *PathError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return fmt.Sprintf("%s: %q", e.Reason, e.Input)
}

// Unwrap returns the parser's error.
func (e *PathError) Unwrap() error { return e.Err }

// CheckPath reports whether p is a syntactically valid JSONPath as ASL uses
// it: "$" (the input), "$$" (the context object) or "$name" (a variable),
// followed by fields, indexes, slices, wildcards, deep scans or filters.
func CheckPath(p string) error {
	if err := jsonpath.Validate(p); err != nil {
		return &PathError{Input: p, Err: err}
	}
	return nil
}

// CheckReferencePath reports whether p is a valid reference path for the
// "...Path" fields (SecondsPath, TimeoutSecondsPath, Variable, ...): a
// JSONPath that selects a single value, without wildcards, deep scans,
// slices, unions or filters. The root may be "$", "$$" or a variable.
func CheckReferencePath(p string) error {
	c, err := jsonpath.Compile(p)
	if err != nil {
		return &PathError{Input: p, Err: err}
	}
	if !c.IsDefinite() {
		return &PathError{Input: p, Reason: "not a reference path (wildcards, deep scans, slices, unions and filters are not allowed)"}
	}
	return nil
}

// CheckResultPath reports whether p is a valid ResultPath: a reference path
// rooted at "$" made of single field names and array indexes.
func CheckResultPath(p string) error {
	if err := CheckPath(p); err != nil {
		return err
	}
	if !jsonpath.IsReferencePath(p) {
		return &PathError{Input: p, Reason: "a ResultPath must be rooted at '$' and made of field names and array indexes only"}
	}
	return nil
}

// IsIntrinsicCall reports whether s looks like an intrinsic function call:
// "States.Name(".
func IsIntrinsicCall(s string) bool { return intrinsic.IsIntrinsic(s) }

// CheckIntrinsic checks an intrinsic function call such as
// States.Format('{} {}', $.a, States.UUID()): syntax, known function names
// and argument counts, nested calls included.
func CheckIntrinsic(s string) error {
	c, err := intrinsic.Parse(s)
	if err == nil {
		err = intrinsic.Check(c)
	}
	if err != nil {
		return &PathError{Input: s, Err: err}
	}
	return nil
}

// isStatesCall reports whether a ".$" value is meant as an intrinsic call.
func isStatesCall(s string) bool { return strings.HasPrefix(strings.TrimSpace(s), "States.") }
