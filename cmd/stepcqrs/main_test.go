package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	def := filepath.Join(dir, "def.json")
	if err := os.WriteFile(def, []byte(`{"StartAt":"A","States":{"A":{"Type":"Pass","Result":1,"End":true}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := filepath.Join(dir, "cases.jsonl")
	lines := `{"id":"ok","definition":{"StartAt":"A","States":{"A":{"Type":"Pass","Result":1,"End":true}}},"input":{},"expected":{"status":"SUCCEEDED","output":1},"exact":true}
{"id":"bad","definition":{"StartAt":"A","States":{"A":{"Type":"Pass","Result":2,"End":true}}},"input":{},"expected":{"status":"SUCCEEDED","output":1},"exact":true}
{"id":"jsonata","definition":{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","Output":"{% [1,2]^($) %}","End":true}}},"input":{},"expected":{"status":"SUCCEEDED","output":{}},"features":["QueryLanguage=JSONata"]}
`
	if err := os.WriteFile(cases, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		wantErr error
		wantOut string
	}{
		{"no args", nil, errUsage, ""},
		{"help", []string{"help"}, nil, "Usage:"},
		{"unknown", []string{"asl", "frobnicate"}, errUsage, ""},
		{"validate", []string{"asl", "validate", def}, nil, "valid"},
		{"graph", []string{"asl", "graph", def}, nil, "flowchart"},
		{"conform", []string{"asl", "conform", "--cases", cases}, errFailures, "1 passed, 1 failed, 1 skipped"},
		{"conform needs a file", []string{"asl", "conform"}, errUsage, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut strings.Builder
			err := run(context.Background(), tt.args, &out, &errOut)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("output = %q, want it to contain %q", out.String(), tt.wantOut)
			}
		})
	}
}
