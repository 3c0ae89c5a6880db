package jsonpath

import "fmt"

// SyntaxError reports a path that cannot be parsed.
type SyntaxError struct {
	Path string // the text being parsed
	Pos  int    // byte offset of the problem in Path
	Msg  string // what is wrong
}

// Error implements error.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("jsonpath: invalid path %q at offset %d: %s", e.Path, e.Pos, e.Msg)
}

// NotFoundError reports that a definite path selects nothing in a document:
// a missing object field, an index out of range, or a step into a value of
// the wrong type. AWS turns this into a States.Runtime failure that names the
// path.
type NotFoundError struct {
	Path   string // the path as written
	Reason string // what was missing, for diagnostics
}

// Error implements error.
func (e *NotFoundError) Error() string {
	return fmt.Sprintf("jsonpath: path %q not found: %s", e.Path, e.Reason)
}

// SetError reports that Set cannot place a value at a reference path, for
// example because an intermediate value is not an object. AWS fails the
// execution with States.Runtime in that case.
type SetError struct {
	Path   string // the reference path
	Reason string // why the value could not be set
}

// Error implements error.
func (e *SetError) Error() string {
	return fmt.Sprintf("jsonpath: cannot set %q: %s", e.Path, e.Reason)
}
