package conformance_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stepcqrs/stepcqrs/asl/interp/conformance"
)

const (
	passing = `{"id":"%s","definition":{"StartAt":"A","States":{"A":{"Type":"Pass","Result":1,"End":true}}},"input":{},"expected":{"status":"SUCCEEDED","output":1},"exact":true}`
	failing = `{"id":"%s","definition":{"StartAt":"A","States":{"A":{"Type":"Pass","Result":2,"End":true}}},"input":{},"expected":{"status":"SUCCEEDED","output":1},"exact":true}`
)

func caseLine(format, id string) string { return strings.Replace(format, "%s", id, 1) }

func TestKnownArtefacts(t *testing.T) {
	a := conformance.KnownArtefacts()
	if len(a) == 0 {
		t.Fatal("no known artefacts: the embedded list did not load")
	}
	for _, id := range a.IDs() {
		if !strings.HasPrefix(id, "tests/") || len(a[id]) < 20 {
			t.Errorf("artefact %q: reason %q", id, a[id])
		}
	}
}

func TestParseArtefacts(t *testing.T) {
	a, err := conformance.ParseArtefacts([]byte(`[{"id":"x","reason":"recorded wrong"},{"id":"y","reason":"also"}]`))
	if err != nil || len(a) != 2 || a["x"] != "recorded wrong" || a["y"] != "also" {
		t.Fatalf("ParseArtefacts = %v, %v", a, err)
	}
	for _, bad := range []string{
		`{"id":"x","reason":"r"}`,
		`[{"id":"x"}]`,
		`[{"reason":"r"}]`,
		`[{"id":"x","reason":"r"},{"id":"x","reason":"again"}]`,
	} {
		if _, err := conformance.ParseArtefacts([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// TestRunWithArtefacts: a listed case that fails is an artefact, not a
// failure; an unlisted failure still fails the run; a listed case that
// passes is reported stale and fails the run, so the list does not rot.
func TestRunWithArtefacts(t *testing.T) {
	artefacts := conformance.Artefacts{"known": "recorded wrong", "fixed": "was recorded wrong"}
	tests := []struct {
		name    string
		lines   []string
		summary string
		ok      bool
		report  []string
	}{
		{"listed failure", []string{caseLine(passing, "p"), caseLine(failing, "known")},
			"1 passed, 0 failed, 0 skipped, 1 known artefact", true,
			[]string{"ARTEFACT known: recorded wrong (output: want 1, got 2)"}},
		{"unlisted failure", []string{caseLine(failing, "known"), caseLine(failing, "new")},
			"0 passed, 1 failed, 0 skipped, 1 known artefact", false,
			[]string{"ARTEFACT known: recorded wrong", "FAIL new: output: want 1, got 2"}},
		{"listed case passes", []string{caseLine(passing, "fixed")},
			"1 passed, 0 failed, 0 skipped, 1 stale artefact", false,
			[]string{"STALE fixed: listed as a known artefact (was recorded wrong) but passes; remove it from the list"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			s, err := conformance.Run(context.Background(), strings.NewReader(strings.Join(tt.lines, "\n")), conformance.Options{Out: &out, Artefacts: artefacts})
			if err != nil {
				t.Fatal(err)
			}
			if s.String() != tt.summary || s.OK() != tt.ok {
				t.Errorf("summary %q ok=%v, want %q ok=%v", s, s.OK(), tt.summary, tt.ok)
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if last := lines[len(lines)-1]; last != tt.summary {
				t.Errorf("last line %q, want %q", last, tt.summary)
			}
			for _, want := range tt.report {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}

// TestRunTimesConstructionAndExecution: each outcome carries both times.
func TestRunTimesConstructionAndExecution(t *testing.T) {
	s, err := conformance.Run(context.Background(), strings.NewReader(caseLine(passing, "p")), conformance.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := s.Outcomes[0]
	if o.Verdict != conformance.Pass || o.Construct <= 0 || o.Elapsed <= 0 {
		t.Errorf("outcome %+v: want a pass with construction and execution times", o)
	}
}

func TestCompare(t *testing.T) {
	var cases []conformance.Case
	for _, l := range []string{caseLine(passing, "a"), caseLine(passing, "b"), caseLine(failing, "k"), caseLine(passing, "s")} {
		var c conformance.Case
		if err := json.Unmarshal([]byte(l), &c); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, c)
	}
	ms := time.Millisecond
	ours := conformance.Summary{Outcomes: []conformance.Outcome{
		{ID: "a", Verdict: conformance.Pass, Construct: 1 * ms, Elapsed: 2 * ms},
		{ID: "b", Verdict: conformance.Pass, Construct: 3 * ms, Elapsed: 4 * ms},
		{ID: "k", Verdict: conformance.Artefact, Construct: 5 * ms, Elapsed: 9 * ms},
		{ID: "s", Verdict: conformance.Pass, Construct: 100 * ms, Elapsed: 100 * ms},
	}}
	results := map[string]conformance.ExternalResult{
		"a": {ID: "a", Status: "SUCCEEDED", Output: json.RawMessage(`1`), ConstructMillis: 10, Millis: 20},
		"b": {ID: "b", Status: "FAILED", Error: "X", ConstructMillis: 30, Millis: 40},
		"k": {ID: "k", Status: "SUCCEEDED", Output: json.RawMessage(`2`), ConstructMillis: 50, Millis: 60},
		"s": {ID: "s", Skipped: "JSONata"},
	}
	cmp, err := conformance.Compare(cases, ours, results, conformance.Artefacts{"k": "recorded wrong"})
	if err != nil {
		t.Fatal(err)
	}
	if got := cmp.Theirs.String(); got != "1 passed, 1 failed, 1 skipped, 1 known artefact" {
		t.Errorf("theirs = %s", got)
	}
	if cmp.BothPass != 1 || cmp.OnlyOurs != 2 || cmp.OnlyTheirs != 0 || cmp.Both != 3 {
		t.Errorf("comparison %+v", cmp)
	}
	wantOurs := conformance.Timing{ConstructTotal: 9 * ms, ConstructMedian: 3 * ms, ExecTotal: 15 * ms, ExecMedian: 4 * ms}
	wantOther := conformance.Timing{ConstructTotal: 90 * ms, ConstructMedian: 30 * ms, ExecTotal: 120 * ms, ExecMedian: 40 * ms}
	if cmp.Ours != wantOurs || cmp.Other != wantOther {
		t.Errorf("timings ours %+v other %+v; want %+v and %+v", cmp.Ours, cmp.Other, wantOurs, wantOther)
	}
	if _, err := conformance.Compare(cases[:3], ours, results, nil); err == nil {
		t.Error("Compare with outcomes for other cases: no error")
	}
}
