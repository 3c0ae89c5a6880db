package asl

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzParse checks that Parse never panics, that whatever it accepts
// marshals back to the same JSON value, that the output is a fixed point of
// Parse+Marshal, and that Validate and Mermaid do not panic on it.
func FuzzParse(f *testing.F) {
	for _, file := range []string{casesFile, invalidFile} {
		lines, _ := readCorpusLines(file) // no seeds when the corpus is absent
		for _, l := range lines {
			f.Add([]byte(l.Definition))
		}
	}
	f.Add([]byte(`{"StartAt":"A","States":{"A":{"Type":"Pass","End":false,"Next":"","InputPath":null}}}`))
	f.Add([]byte(`{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Not":{"Variable":"$.a","IsNull":true,"StringEquals":"x"},"Next":"C"}]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sm, err := Parse(data)
		if err != nil {
			return
		}
		out, err := json.Marshal(sm)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		var in, got any
		if err := json.Unmarshal(data, &in); err != nil {
			t.Fatalf("Parse accepted invalid JSON: %v", err)
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("Marshal produced invalid JSON: %v\n%s", err, out)
		}
		if !jsonEqual(in, got) {
			t.Fatalf("round trip differs\n in: %s\nout: %s", data, out)
		}
		sm2, err := Parse(out)
		if err != nil {
			t.Fatalf("re-Parse: %v", err)
		}
		out2, err := json.Marshal(sm2)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("not a fixed point (%v)\n 1: %s\n 2: %s", err, out, out2)
		}
		_ = Validate(sm)
		_ = Mermaid(sm)
	})
}

// jsonEqual compares decoded JSON values; duplicate keys in the input make
// the decoder keep the last value, as Parse does.
func jsonEqual(a, b any) bool {
	ab, _ := json.Marshal(a)
	bb, _ := json.Marshal(b)
	return bytes.Equal(ab, bb)
}
