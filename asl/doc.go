// Package asl is the Amazon States Language toolkit of stepcqrs: a typed
// model of state machine definitions, a builder for writing them in Go,
// lossless JSON, and validation with messages like those of AWS.
//
// The interpreter that runs definitions lives in asl/interp; JSONPath and
// JSON values in asl/jsonpath; intrinsic functions in asl/intrinsic.
package asl
