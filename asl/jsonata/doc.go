// Package jsonata compiles and evaluates JSONata expressions, the query
// language of Amazon States Language states with QueryLanguage JSONata.
//
// It implements the subset of the language that state machines use: paths
// over $states and variables, literals, array and object constructors,
// arithmetic, comparison, boolean and string operators, the conditional
// operator, variable binding, blocks, lambdas and function chaining,
// regular expressions and the standard functions, plus the additions of
// Step Functions ($partition, $range, $hash, $random, $uuid and $parse).
//
// Compile tells text that is not JSONata (*SyntaxError) from constructs
// outside the subset (*UnsupportedError, matching ErrUnsupported), so a
// validator can reject the former and accept the latter, which Step
// Functions runs.
//
//	x, err := jsonata.Compile(`$states.input.n * 2`)
//	v, ok, err := x.Eval(map[string]any{"states": states}, rt)
package jsonata
