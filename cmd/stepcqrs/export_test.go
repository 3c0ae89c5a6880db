package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/importcsv"
	"github.com/stepcqrs/stepcqrs/task"
)

// TestExportCommand exports the command state machine and feeds it to
// `asl validate` and `asl graph`.
func TestExportCommand(t *testing.T) {
	ctx := context.Background()
	const fn = "arn:aws:lambda:eu-west-1:123456789012:function:orders"
	var out, errOut strings.Builder
	if err := run(ctx, []string{"asl", "export", "command", "--function-arn", fn, "--timeout", "42"}, nil, &out, &errOut); err != nil {
		t.Fatalf("export: %v (%s)", err, errOut.String())
	}
	want, err := command.StateMachineJSON(command.StateMachineOptions{FunctionARN: fn, WaitTimeoutSeconds: 42})
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out.String()) != strings.TrimSpace(string(want)) {
		t.Fatalf("export differs from command.StateMachineJSON")
	}
	sm, err := asl.ParseAndValidate([]byte(out.String()))
	if err != nil {
		t.Fatal(err)
	}
	if sm.StartAt != command.StateApply || !strings.Contains(out.String(), `"TimeoutSeconds": 42`) || !strings.Contains(out.String(), fn) {
		t.Fatalf("definition:\n%s", out.String())
	}
	file := filepath.Join(t.TempDir(), "command.asl.json")
	if err := run(ctx, []string{"asl", "export", "command", "--out", file}, nil, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil || !strings.Contains(string(b), DefaultFunctionARN) {
		t.Fatalf("file: %v\n%s", err, b)
	}
	for _, tt := range []struct {
		cmd  string
		want []string
	}{
		{"validate", []string{"valid"}},
		{"graph", []string{"flowchart", `"Apply"`, `"Wait"`, `"States.Timeout"| s1`, "Sync (Map)", "MarkFailed"}},
	} {
		out.Reset()
		if err := run(ctx, []string{"asl", tt.cmd, file}, nil, &out, &errOut); err != nil {
			t.Fatalf("%s: %v", tt.cmd, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s output lacks %q:\n%s", tt.cmd, w, out.String())
			}
		}
	}
	for _, bad := range [][]string{
		{"asl", "export"},
		{"asl", "export", "orders"},
		{"asl", "export", "command", "--timeout", "0"},
		{"asl", "export", "command", "extra"},
	} {
		if err := run(ctx, bad, nil, &out, &errOut); !errors.Is(err, errUsage) {
			t.Errorf("%v: err %v, want usage", bad, err)
		}
	}
}

// TestExportTask exports the task state machine, in both child execution
// types, as task.StateMachineJSON builds it.
func TestExportTask(t *testing.T) {
	ctx := context.Background()
	const fn = "arn:aws:lambda:eu-west-1:123456789012:function:orders"
	for _, c := range []struct {
		args []string
		typ  string
	}{
		{nil, asl.ExecutionStandard},
		{[]string{"--express"}, asl.ExecutionExpress},
	} {
		var out, errOut strings.Builder
		args := append([]string{"asl", "export", "task", "--function-arn", fn}, c.args...)
		if err := run(ctx, args, nil, &out, &errOut); err != nil {
			t.Fatalf("%v: %v (%s)", args, err, errOut.String())
		}
		opts := task.StateMachineOptions{FunctionARN: fn}
		if c.typ == asl.ExecutionExpress {
			opts.DistributedExecutionType = c.typ
		}
		want, err := task.StateMachineJSON(opts)
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(out.String()) != strings.TrimSpace(string(want)) {
			t.Fatalf("%v: export differs from task.StateMachineJSON", args)
		}
		if !strings.Contains(out.String(), `"ExecutionType": "`+c.typ+`"`) || !strings.Contains(out.String(), fn) {
			t.Fatalf("%v: definition lacks the execution type or function:\n%s", args, out.String())
		}
	}
}

// TestExportImport exports the CSV import state machine as
// importcsv.StateMachineJSON builds it.
func TestExportImport(t *testing.T) {
	var out, errOut strings.Builder
	const fn = "arn:aws:lambda:eu-west-1:123456789012:function:orders"
	if err := run(context.Background(), []string{"asl", "export", "import", "--function-arn", fn}, nil, &out, &errOut); err != nil {
		t.Fatalf("%v (%s)", err, errOut.String())
	}
	want, err := importcsv.StateMachineJSON(importcsv.StateMachineOptions{FunctionARN: fn})
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out.String()) != strings.TrimSpace(string(want)) || !strings.Contains(out.String(), fn) {
		t.Fatalf("export differs from importcsv.StateMachineJSON:\n%s", out.String())
	}
}
