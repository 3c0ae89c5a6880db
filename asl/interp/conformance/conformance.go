// Package conformance runs ASL execution cases (the JSONL format of the
// shared asl-conformance corpus) through the interpreter of package interp
// and compares the outcomes with what AWS Step Functions recorded.
package conformance

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/asl/interp"
	"github.com/stepcqrs/stepcqrs/asl/jsonpath"
)

// Case is one execution case of the corpus.
type Case struct {
	ID               string            `json:"id"`
	Definition       json.RawMessage   `json:"definition"`
	Input            json.RawMessage   `json:"input"`
	Expected         Expected          `json:"expected"`
	StatesEntered    []string          `json:"expected_states_entered"`
	Stubs            map[string]string `json:"stubs"`
	Exact            bool              `json:"exact"`
	Placeholders     []string          `json:"placeholders"`
	Nondeterministic []string          `json:"nondeterministic"`
	Timing           []string          `json:"timing"`
	Features         []string          `json:"features"`
}

// Expected is the recorded outcome of a case.
type Expected struct {
	Status string          `json:"status"`
	Output json.RawMessage `json:"output"`
	Error  *string         `json:"error"`
	Cause  json.RawMessage `json:"cause"`
}

// Verdict is the result of running one case.
type Verdict string

// Verdicts.
const (
	Pass Verdict = "PASS"
	Fail Verdict = "FAIL"
	Skip Verdict = "SKIP"
	// Artefact is the failure of a case listed as a known artefact of the
	// corpus (see KnownArtefacts): the recording, not the interpreter, is
	// wrong.
	Artefact Verdict = "ARTEFACT"
)

// Outcome is the verdict on one case, with the reason for a failure or skip.
type Outcome struct {
	ID      string
	Verdict Verdict
	Reason  string
	// Construct is the time taken to make the definition runnable: parse,
	// validate and compile (interp.New); zero when parsing failed.
	Construct time.Duration
	// Elapsed is the time the execution took, from start to result; zero
	// when the case did not get that far.
	Elapsed time.Duration
}

// Summary counts the outcomes of a run.
type Summary struct {
	Passed, Failed, Skipped int
	// Artefacts counts the failures of cases listed as known artefacts;
	// Stale the listed cases that passed, so that the list does not
	// outlive its reasons.
	Artefacts, Stale int
	Outcomes         []Outcome
}

// OK reports whether the run has neither failures nor stale artefacts.
func (s Summary) OK() bool { return s.Failed == 0 && s.Stale == 0 }

// String renders the summary line: "N passed, M failed, K skipped", then
// ", A known artefacts" and ", S stale artefacts" when there are any.
func (s Summary) String() string {
	out := fmt.Sprintf("%d passed, %d failed, %d skipped", s.Passed, s.Failed, s.Skipped)
	if s.Artefacts > 0 {
		out += fmt.Sprintf(", %d known %s", s.Artefacts, plural(s.Artefacts, "artefact"))
	}
	if s.Stale > 0 {
		out += fmt.Sprintf(", %d stale %s", s.Stale, plural(s.Stale, "artefact"))
	}
	return out
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// count adds an outcome to the counts.
func (s *Summary) count(o Outcome) {
	switch o.Verdict {
	case Pass:
		s.Passed++
	case Skip:
		s.Skipped++
	case Artefact:
		s.Artefacts++
	default:
		s.Failed++
	}
}

// Options configures a run.
type Options struct {
	// Out receives one line per failing case (and per passing or skipped
	// case when Verbose) and the summary line; nil discards.
	Out io.Writer
	// Verbose also reports passing and skipped cases.
	Verbose bool
	// Timeout bounds one case; default 30s.
	Timeout time.Duration
	// Artefacts lists the cases whose recording is known to be wrong
	// (KnownArtefacts, usually): their failures count as artefacts, not
	// failures, and their passing is reported as stale.
	Artefacts Artefacts
}

// RunFile runs every case of a JSONL file.
func RunFile(ctx context.Context, path string, opts Options) (Summary, error) {
	f, err := os.Open(path)
	if err != nil {
		return Summary{}, err
	}
	defer f.Close()
	return Run(ctx, f, opts)
}

// ReadCases reads the cases of a JSONL stream.
func ReadCases(r io.Reader) ([]Case, error) { return readJSONL[Case](r, "line") }

// readJSONL reads a JSON Lines stream of T, skipping blank lines; what
// names a line in errors.
func readJSONL[T any](r io.Reader, what string) ([]T, error) {
	var out []T
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var v T
		if err := json.Unmarshal([]byte(text), &v); err != nil {
			return nil, fmt.Errorf("conformance: %s %d: %w", what, line, err)
		}
		out = append(out, v)
	}
	return out, sc.Err()
}

// Run runs every case of a JSONL stream.
func Run(ctx context.Context, r io.Reader, opts Options) (Summary, error) {
	cases, err := ReadCases(r)
	if err != nil {
		return Summary{}, err
	}
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	var s Summary
	for _, c := range cases {
		o := opts.Artefacts.classify(RunCase(ctx, c, opts))
		s.Outcomes = append(s.Outcomes, o)
		s.count(o)
		switch {
		case o.Verdict == Pass && opts.Artefacts.listed(c.ID):
			s.Stale++
			fmt.Fprintf(out, "STALE %s: listed as a known artefact (%s) but passes; remove it from the list\n", c.ID, opts.Artefacts[c.ID])
		case o.Verdict == Pass:
			if opts.Verbose {
				fmt.Fprintf(out, "PASS %s\n", c.ID)
			}
		case o.Verdict == Skip:
			if opts.Verbose {
				fmt.Fprintf(out, "SKIP %s: %s\n", c.ID, o.Reason)
			}
		case o.Verdict == Artefact:
			fmt.Fprintf(out, "ARTEFACT %s: %s\n", c.ID, o.Reason)
		default:
			fmt.Fprintf(out, "FAIL %s: %s\n", c.ID, o.Reason)
		}
	}
	fmt.Fprintln(out, s.String())
	return s, nil
}

// RunCase runs one case.
func RunCase(ctx context.Context, c Case, opts Options) (o Outcome) {
	o = Outcome{ID: c.ID}
	defer func() {
		if p := recover(); p != nil {
			o.Verdict, o.Reason = Fail, fmt.Sprintf("panic: %v", p)
		}
	}()
	constructing := time.Now()
	def, err := asl.Parse(c.Definition)
	if err != nil {
		o.Verdict, o.Reason = Fail, "parse: "+err.Error()
		return o
	}
	workflow := asl.WorkflowStandard
	if isExpress(c) {
		workflow = asl.WorkflowExpress
	}
	if err := asl.Validate(def, asl.WithWorkflowType(workflow)); err != nil {
		o.Verdict, o.Reason = Fail, "validate: "+err.Error()
		return o
	}
	clock := interp.NewVirtualClock(time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC))
	eng, err := interp.New(def, interp.Options{
		Clock:            clock,
		Lambda:           NewStubInvoker(c.Stubs, clock, "us-east-1", "111111111111"),
		Region:           "us-east-1",
		AccountID:        "111111111111",
		StateMachineName: "ConformanceMachine",
		Express:          isExpress(c),
		Seed:             1,
	})
	o.Construct = time.Since(constructing)
	if err != nil {
		if errors.Is(err, interp.ErrJSONataNotSupported) {
			o.Verdict, o.Reason = Skip, err.Error()
			return o
		}
		o.Verdict, o.Reason = Fail, "new: "+err.Error()
		return o
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	input := c.Input
	if len(input) == 0 {
		input = json.RawMessage("{}")
	}
	started := time.Now()
	x, err := eng.Execute(cctx, input)
	o.Elapsed = time.Since(started) // the execution alone, not the grading
	if x == nil {
		o.Verdict, o.Reason = Fail, "start: "+err.Error()
		return o
	}
	if err != nil {
		o.Verdict, o.Reason = Fail, "did not finish: "+err.Error()
		return o
	}
	res := x.Status()
	if d := compareResult(c, res); d != "" {
		o.Verdict, o.Reason = Fail, d
		return o
	}
	if c.StatesEntered != nil {
		if d := compareStates(c, x.StatesEntered()); d != "" {
			o.Verdict, o.Reason = Fail, d
			return o
		}
	}
	o.Verdict = Pass
	return o
}

// compareResult compares the execution result with the expected one.
func compareResult(c Case, res interp.Result) string {
	if string(res.Status) != c.Expected.Status {
		detail := ""
		switch res.Status {
		case interp.StatusFailed, interp.StatusTimedOut:
			detail = fmt.Sprintf(" (error %q, cause %q)", res.Error, cut(res.Cause))
		case interp.StatusSucceeded:
			detail = " (output " + cut(string(res.Output)) + ")"
		}
		return fmt.Sprintf("status: want %s, got %s%s", c.Expected.Status, res.Status, detail)
	}
	loose := !c.Exact && (len(c.Nondeterministic) > 0 || len(c.Timing) > 0)
	m := matcher{placeholders: c.Placeholders, shapeOnly: loose}
	if res.Status == interp.StatusSucceeded {
		want, err := jsonpath.Decode(orNull(c.Expected.Output))
		if err != nil {
			return "bad expected output: " + err.Error()
		}
		got, err := jsonpath.Decode(orNull(res.Output))
		if err != nil {
			return "bad output: " + err.Error()
		}
		if d := m.match("output", want, got); d != "" {
			return d
		}
		return ""
	}
	if res.Status != interp.StatusFailed && c.Expected.Error == nil && len(c.Expected.Cause) == 0 {
		// TIMED_OUT (or ABORTED) with nothing recorded beyond the status.
		return ""
	}
	wantErr := ""
	if c.Expected.Error != nil {
		wantErr = *c.Expected.Error
	}
	if res.Error != wantErr {
		return fmt.Sprintf("error: want %q, got %q (cause %q)", wantErr, res.Error, cut(res.Cause))
	}
	if len(c.Expected.Cause) == 0 || string(c.Expected.Cause) == "null" {
		if res.Cause != "" && !loose {
			return fmt.Sprintf("cause: want none, got %q", cut(res.Cause))
		}
		return ""
	}
	want, err := jsonpath.Decode(c.Expected.Cause)
	if err != nil {
		return "bad expected cause: " + err.Error()
	}
	cm := matcher{placeholders: c.Placeholders}
	switch w := want.(type) {
	case string:
		if d := cm.match("cause", w, res.Cause); d != "" {
			return d
		}
	default:
		got, err := jsonpath.DecodeString(res.Cause)
		if err != nil {
			return fmt.Sprintf("cause: want JSON %s, got %q", short(want), cut(res.Cause))
		}
		if d := cm.match("cause", want, got); d != "" {
			return d
		}
	}
	return ""
}

// compareStates compares the states entered. Cases with Parallel or Map
// states, whose iterations AWS runs concurrently, compare as multisets when
// the order differs.
func compareStates(c Case, got []string) string {
	want := c.StatesEntered
	if equalStrings(want, got) {
		return ""
	}
	concurrent := false
	for _, f := range c.Features {
		if f == "State:Parallel" || f == "State:Map" {
			concurrent = true
		}
	}
	if concurrent {
		a := append([]string(nil), want...)
		b := append([]string(nil), got...)
		sort.Strings(a)
		sort.Strings(b)
		if equalStrings(a, b) {
			return ""
		}
	}
	return fmt.Sprintf("states entered: want %v, got %v", cutList(want), cutList(got))
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func cutList(l []string) string {
	s := strings.Join(l, ",")
	return cut("[" + s + "]")
}

func orNull(b []byte) []byte {
	if len(strings.TrimSpace(string(b))) == 0 {
		return []byte("null")
	}
	return b
}

func cut(s string) string {
	if len(s) > 200 {
		return s[:197] + "..."
	}
	return s
}

// isExpress reports whether a case ran as an EXPRESS workflow: the corpus
// names express tests so.
func isExpress(c Case) bool {
	return strings.Contains(strings.ToLower(c.ID), "express")
}
