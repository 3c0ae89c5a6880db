package conformance

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/asl/interp"
)

// corpusEngine is a case made runnable once, for the execution benchmark.
type corpusEngine struct {
	id    string
	eng   *interp.Engine
	input json.RawMessage
}

// corpusEngines builds an engine for every case of the corpus that parses,
// validates and compiles (skipping the test when the corpus is absent).
func corpusEngines(tb testing.TB) []corpusEngine {
	tb.Helper()
	path := filepath.Join(corpusDir, "cases.jsonl")
	f, err := os.Open(path)
	if err != nil {
		tb.Skipf("conformance corpus not found at %s: %v", path, err)
	}
	defer f.Close()
	cases, err := ReadCases(f)
	if err != nil {
		tb.Fatal(err)
	}
	var out []corpusEngine
	for _, c := range cases {
		def, err := asl.Parse(c.Definition)
		if err != nil {
			continue
		}
		clock := interp.NewVirtualClock(time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC))
		eng, err := interp.New(def, interp.Options{
			Clock:            clock,
			Lambda:           NewStubInvoker(c.Stubs, clock, "us-east-1", "111111111111"),
			StateMachineName: "ConformanceMachine",
			Express:          isExpress(c),
			Seed:             1,
		})
		if err != nil {
			continue
		}
		input := c.Input
		if len(input) == 0 {
			input = json.RawMessage("{}")
		}
		out = append(out, corpusEngine{id: c.ID, eng: eng, input: input})
	}
	return out
}

// BenchmarkCorpusExecution runs the executions of every case of the shared
// corpus (engines built beforehand, as `asl conform` times them apart) and
// reports the mean execution time per case.
func BenchmarkCorpusExecution(b *testing.B) {
	engines := corpusEngines(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, ce := range engines {
			if _, err := ce.eng.Execute(ctx, ce.input); err != nil {
				b.Fatalf("%s: %v", ce.id, err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(engines)), "ns/case")
}
