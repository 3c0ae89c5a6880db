// Package jsonpath holds JSON values as the ASL interpreter sees them and the
// JSONPath dialect of Amazon States Language over them.
//
// A JSON value is one of: nil, bool, string, json.Number, []any or
// map[string]any. Numbers are json.Number so that the text of a number that
// passes through a state machine is kept exactly (1.0 stays 1.0); code that
// creates numbers creates json.Number. Functions that take values also accept
// float64 and the Go integer types and treat them as numbers, but never
// produce them. Decode parses JSON into this form.
//
// Paths follow the Jayway JsonPath library AWS uses: Compile (or Get)
// accepts "$", "$$" and "$variable" roots, dotted and bracketed fields,
// indexes, index lists, slices, wildcards, recursive descent and filters. A
// definite path yields its value or a *NotFoundError; an indefinite one
// yields the []any of its matches. Objects have no field order in this
// representation, so wildcards and recursive descent visit fields in sorted
// key order. Set implements ResultPath on reference paths.
package jsonpath
