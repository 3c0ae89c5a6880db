package asl

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

const (
	casesFile   = "../../shared/asl-conformance/cases.jsonl"
	invalidFile = "../../shared/asl-conformance/invalid-definitions.jsonl"
)

type corpusLine struct {
	ID         string          `json:"id"`
	Definition json.RawMessage `json:"definition"`
}

// readCorpus returns the definitions of a JSONL corpus file, skipping the
// test when the shared corpus is not checked out next to the module.
func readCorpus(t testing.TB, path string) []corpusLine {
	t.Helper()
	lines, err := readCorpusLines(path)
	if os.IsNotExist(err) {
		t.Skipf("corpus not available: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

func readCorpusLines(path string) ([]corpusLine, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []corpusLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var l corpusLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

// semanticEqual reports whether a and b are the same JSON value (numbers by value).
func semanticEqual(t testing.TB, a, b []byte) bool {
	t.Helper()
	return reflect.DeepEqual(decodeAny(t, a), decodeAny(t, b))
}

func decodeAny(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

func TestRoundTripCorpus(t *testing.T) {
	for _, file := range []string{casesFile, invalidFile} {
		lines := readCorpus(t, file)
		for _, l := range lines {
			sm, err := Parse(l.Definition)
			if err != nil {
				t.Errorf("%s: Parse: %v", l.ID, err)
				continue
			}
			out, err := json.Marshal(sm)
			if err != nil {
				t.Errorf("%s: Marshal: %v", l.ID, err)
				continue
			}
			if !semanticEqual(t, l.Definition, out) {
				t.Errorf("%s: round trip differs\n in: %s\nout: %s", l.ID, l.Definition, out)
			}
		}
		t.Logf("%s: %d definitions", file, len(lines))
	}
}

func TestInvalidCorpusRejected(t *testing.T) {
	f, err := os.Open(invalidFile)
	if err != nil {
		t.Skipf("corpus not available: %v", err)
	}
	defer f.Close()
	var out bytes.Buffer
	passed, failed, skipped, err := RunInvalidCorpus(f, &out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d passed, %d failed, %d skipped", passed, failed, skipped)
	if failed > 0 || passed == 0 {
		t.Errorf("invalid definitions accepted:\n%s", out.String())
	}
}

func TestValidCorpusAccepted(t *testing.T) {
	f, err := os.Open(casesFile)
	if err != nil {
		t.Skipf("corpus not available: %v", err)
	}
	defer f.Close()
	var out bytes.Buffer
	passed, failed, skipped, err := RunValidCorpus(f, &out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d passed, %d failed, %d skipped", passed, failed, skipped)
	if failed > 0 || passed == 0 {
		t.Errorf("valid definitions rejected:\n%s", out.String())
	}
}

func TestRunCorpusCounts(t *testing.T) {
	const (
		valid   = `{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`
		invalid = `{"StartAt":"A"}`
		token   = `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::sns:publish.waitForTaskToken","End":true}}}`
	)
	input := `{"id":"v","definition":` + valid + `}
{"id":"i","definition":` + invalid + `}

{"id":"none"}
{"id":"express-token","definition":` + token + `}
{"id":"typed","workflow_type":"EXPRESS","definition":` + token + `}
{"id":"str","definition":"{\"StartAt\":\"A\"}"}
`
	tests := []struct {
		name                    string
		run                     func(r *strings.Reader, w *strings.Builder) (int, int, int, error)
		passed, failed, skipped int
		summary                 string
	}{
		{"invalid", func(r *strings.Reader, w *strings.Builder) (int, int, int, error) { return RunInvalidCorpus(r, w) },
			4, 1, 1, "4 passed, 1 failed, 1 skipped\n"},
		{"valid", func(r *strings.Reader, w *strings.Builder) (int, int, int, error) { return RunValidCorpus(r, w) },
			1, 4, 1, "1 passed, 4 failed, 1 skipped\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			p, f, s, err := tc.run(strings.NewReader(input), &out)
			if err != nil {
				t.Fatal(err)
			}
			if p != tc.passed || f != tc.failed || s != tc.skipped || !strings.HasSuffix(out.String(), tc.summary) {
				t.Errorf("got %d/%d/%d, output:\n%s", p, f, s, out.String())
			}
		})
	}
}

// BenchmarkParseValidate measures Parse, Validate and Marshal over every
// definition of cases.jsonl (one op = the whole corpus).
func BenchmarkParseValidate(b *testing.B) {
	lines, err := readCorpusLines(casesFile)
	if err != nil {
		b.Skip(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			sm, err := Parse(l.Definition)
			if err != nil {
				b.Fatal(err)
			}
			if err := Validate(sm); err != nil {
				b.Fatal(err)
			}
			if _, err := json.Marshal(sm); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(lines)), "defs/op")
}
