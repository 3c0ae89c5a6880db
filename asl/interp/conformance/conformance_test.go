package conformance

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/asl/jsonpath"
)

// corpusDir is the shared corpus, relative to this package.
var corpusDir = filepath.Join("..", "..", "..", "..", "shared", "asl-conformance")

// passFloor is the ratchet: the corpus run fails when fewer cases pass.
const passFloor = 697

func TestCorpus(t *testing.T) {
	path := filepath.Join(corpusDir, "cases.jsonl")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("conformance corpus not found at %s: %v", path, err)
	}
	var out strings.Builder
	artefacts := KnownArtefacts()
	s, err := RunFile(context.Background(), path, Options{Out: &out, Artefacts: artefacts})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	t.Log(s.String())
	if s.Passed < passFloor {
		t.Errorf("%d cases passed, below the floor of %d", s.Passed, passFloor)
	}
	// Every listed artefact is a case of the corpus that still fails.
	verdicts := map[string]Verdict{}
	for _, o := range s.Outcomes {
		verdicts[o.ID] = o.Verdict
	}
	for _, id := range artefacts.IDs() {
		if v, ok := verdicts[id]; !ok || v != Artefact {
			t.Errorf("known artefact %s: verdict %q, want %s (remove it from known-artefacts.json if it is gone or passes)", id, v, Artefact)
		}
	}
	if s.Stale != 0 || s.Artefacts != len(artefacts) {
		t.Errorf("summary %s: want %d known artefacts and none stale", s, len(artefacts))
	}
}

func TestInvalidDefinitions(t *testing.T) {
	path := filepath.Join(corpusDir, "invalid-definitions.jsonl")
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("invalid-definitions corpus not found at %s: %v", path, err)
	}
	defer f.Close()
	var out strings.Builder
	passed, failed, skipped, err := asl.RunInvalidCorpus(f, &out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d passed, %d failed, %d skipped", passed, failed, skipped)
	if failed > 0 {
		t.Errorf("validation accepted definitions AWS rejects:\n%s", out.String())
	}
}

func TestMatcher(t *testing.T) {
	tests := []struct {
		name         string
		placeholders []string
		shape        bool
		want, got    string
		ok           bool
	}{
		{"numbers by value", nil, false, `{"a":1}`, `{"a":1.0}`, true},
		{"different numbers", nil, false, `{"a":1}`, `{"a":2}`, false},
		{"whole placeholder matches any value", []string{"<json-input:1>"}, false, `"<json-input:1>"`, `{"x":1}`, true},
		{"embedded placeholder", []string{"<uuid:1>"}, false, `"id <uuid:1> end"`, `"id abc-1 end"`, true},
		{"embedded placeholder mismatch", []string{"<uuid:1>"}, false, `"id <uuid:1> end"`, `"ix abc-1 end"`, false},
		{"missing key", nil, false, `{"a":1}`, `{}`, false},
		{"extra key", nil, false, `{}`, `{"a":1}`, false},
		{"shape ignores leaves", nil, true, `{"a":"x","b":[1]}`, `{"a":2,"b":[3]}`, true},
		{"shape keeps keys", nil, true, `{"a":"x"}`, `{"b":"x"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := jsonpath.DecodeString(tt.want)
			if err != nil {
				t.Fatalf("want %s: %v", tt.want, err)
			}
			got, err := jsonpath.DecodeString(tt.got)
			if err != nil {
				t.Fatalf("got %s: %v", tt.got, err)
			}
			m := matcher{placeholders: tt.placeholders, shapeOnly: tt.shape}
			d := m.match("$", want, got)
			if (d == "") != tt.ok {
				t.Errorf("match = %q, want ok=%v", d, tt.ok)
			}
		})
	}
}
