package asl

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// CorpusError reports a malformed line of a corpus file.
type CorpusError struct {
	// Line is the 1-based line number.
	Line int
	// Err is the decoding error.
	Err error
}

// Error implements error.
func (e *CorpusError) Error() string { return fmt.Sprintf("corpus line %d: %v", e.Line, e.Err) }

// Unwrap returns the decoding error.
func (e *CorpusError) Unwrap() error { return e.Err }

type corpusRecord struct {
	ID           string          `json:"id"`
	Definition   json.RawMessage `json:"definition"`
	WorkflowType string          `json:"workflow_type"`
	Type         string          `json:"type"`
}

// workflowType returns the workflow type a record is validated for: its
// "workflow_type" or "type" field, else EXPRESS when its id names an
// express test, else STANDARD.
func (r *corpusRecord) workflowType() string {
	switch {
	case r.WorkflowType != "":
		return strings.ToUpper(r.WorkflowType)
	case strings.EqualFold(r.Type, WorkflowExpress) || strings.EqualFold(r.Type, WorkflowStandard):
		return strings.ToUpper(r.Type)
	case strings.Contains(strings.ToLower(r.ID), "express"):
		return WorkflowExpress
	}
	return WorkflowStandard
}

// RunInvalidCorpus validates every definition of a JSONL file in the format
// of invalid-definitions.jsonl (fields id, definition, optional
// workflow_type) and counts those rejected (passed) and accepted (failed);
// lines without a definition are skipped. It writes one line per failure and
// a final "N passed, M failed, K skipped" line to w.
func RunInvalidCorpus(r io.Reader, w io.Writer) (passed, failed, skipped int, err error) {
	return runCorpus(r, w, true)
}

// RunValidCorpus is the converse of RunInvalidCorpus for files in the format
// of cases.jsonl: a definition passes when Validate accepts it.
func RunValidCorpus(r io.Reader, w io.Writer) (passed, failed, skipped int, err error) {
	return runCorpus(r, w, false)
}

func runCorpus(r io.Reader, w io.Writer, wantInvalid bool) (passed, failed, skipped int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var rec corpusRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return passed, failed, skipped, &CorpusError{Line: line, Err: err}
		}
		if len(rec.Definition) == 0 || string(rec.Definition) == "null" {
			skipped++
			continue
		}
		def := rec.Definition
		if def[0] == '"' { // a definition given as a JSON string
			var s string
			if err := json.Unmarshal(def, &s); err != nil {
				return passed, failed, skipped, &CorpusError{Line: line, Err: err}
			}
			def = []byte(s)
		}
		_, verr := ParseAndValidate(def, WithWorkflowType(rec.workflowType()))
		if verr != nil && !errors.Is(verr, ErrInvalidDefinition) {
			return passed, failed, skipped, verr
		}
		switch rejected := verr != nil; {
		case rejected == wantInvalid:
			passed++
		case wantInvalid:
			failed++
			fmt.Fprintf(w, "FAIL %s: accepted, want InvalidDefinition\n", rec.ID)
		default:
			failed++
			fmt.Fprintf(w, "FAIL %s: %v\n", rec.ID, verr)
		}
	}
	if err := sc.Err(); err != nil {
		return passed, failed, skipped, err
	}
	_, err = fmt.Fprintf(w, "%d passed, %d failed, %d skipped\n", passed, failed, skipped)
	return passed, failed, skipped, err
}
