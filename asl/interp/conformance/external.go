package conformance

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/stepcqrs/stepcqrs/asl/interp"
)

// ExternalResult is one line of an outcome file written by another
// interpreter for the same cases (bench/aws-local-stepfunctions writes one):
// the case id and either the execution's result or why it was skipped.
type ExternalResult struct {
	ID      string          `json:"id"`
	Skipped string          `json:"skipped,omitempty"`
	Status  string          `json:"status,omitempty"`
	Output  json.RawMessage `json:"output,omitempty"`
	Error   string          `json:"error,omitempty"`
	Cause   string          `json:"cause,omitempty"`
	// ConstructMillis is the wall time, in milliseconds, of making the
	// definition runnable (parsing, validating, building the machine).
	ConstructMillis float64 `json:"construct_ms,omitempty"`
	// Millis is the execution's wall time in milliseconds.
	Millis float64 `json:"ms,omitempty"`
}

// ReadExternalResults reads an outcome file (JSON Lines of ExternalResult),
// keyed by case id. A repeated id is an error.
func ReadExternalResults(r io.Reader) (map[string]ExternalResult, error) {
	results, err := readJSONL[ExternalResult](r, "results line")
	if err != nil {
		return nil, err
	}
	out := make(map[string]ExternalResult, len(results))
	for i, res := range results {
		if _, dup := out[res.ID]; dup {
			return nil, fmt.Errorf("conformance: result %d: case %q appears twice", i+1, res.ID)
		}
		out[res.ID] = res
	}
	return out, nil
}

// Grade judges an external result by the rules RunCase applies to the
// interpreter's own: status, output, error and cause. The states entered
// are not compared, since other interpreters do not report them. A case
// with no result is a failure.
func Grade(c Case, res ExternalResult, ok bool) Outcome {
	o := Outcome{ID: c.ID,
		Construct: time.Duration(res.ConstructMillis * float64(time.Millisecond)),
		Elapsed:   time.Duration(res.Millis * float64(time.Millisecond))}
	switch {
	case !ok:
		o.Verdict, o.Reason = Fail, "no result"
	case res.Skipped != "":
		o.Verdict, o.Reason = Skip, res.Skipped
	default:
		got := interp.Result{Status: interp.Status(res.Status), Output: res.Output, Error: res.Error, Cause: res.Cause}
		if d := compareResult(c, got); d != "" {
			o.Verdict, o.Reason = Fail, d
		} else {
			o.Verdict = Pass
		}
	}
	return o
}
