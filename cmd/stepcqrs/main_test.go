package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestMain runs the command itself when STEPCQRS_RUN_MAIN is set, so that
// tests can check the exit status of the real binary.
func TestMain(m *testing.M) {
	if os.Getenv("STEPCQRS_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

const (
	validDef   = `{"StartAt":"A","States":{"A":{"Type":"Pass","Result":1,"End":true}}}`
	invalidDef = `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"X"},"B":{"Type":"Succeed"}}}`
	casesJSONL = `{"id":"ok","definition":{"StartAt":"A","States":{"A":{"Type":"Pass","Result":1,"End":true}}},"input":{},"expected":{"status":"SUCCEEDED","output":1},"exact":true}
{"id":"bad","definition":{"StartAt":"A","States":{"A":{"Type":"Pass","Result":2,"End":true}}},"input":{},"expected":{"status":"SUCCEEDED","output":1},"exact":true}
{"id":"jsonata","definition":{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","Output":"{% [1,2]^($) %}","End":true}}},"input":{},"expected":{"status":"SUCCEEDED","output":{}},"features":["QueryLanguage=JSONata"]}
`
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestExecute runs command lines as main does and checks the exit status
// and both outputs.
func TestExecute(t *testing.T) {
	def := writeFile(t, "def.json", validDef)
	bad := writeFile(t, "bad.json", invalidDef)
	cases := writeFile(t, "cases.jsonl", casesJSONL)
	tests := []struct {
		name      string
		args      []string
		stdin     string
		code      int
		stdout    []string // substrings
		stderr    []string // substrings
		stdoutNot string
	}{
		{name: "no args", code: 2, stderr: []string{"stepcqrs: missing command\nRun 'stepcqrs --help' for usage.\n"}},
		{name: "unknown command", args: []string{"bogus"}, code: 2, stderr: []string{"stepcqrs: unknown command \"bogus\"\n"}},
		{name: "unknown asl command", args: []string{"asl", "frobnicate"}, code: 2, stderr: []string{`stepcqrs: unknown command "frobnicate" for "stepcqrs asl"`, "Run 'stepcqrs asl --help'"}},
		{name: "suggestion", args: []string{"asl", "valdate", def}, code: 2, stderr: []string{`did you mean "validate"?`}},
		{name: "unknown export", args: []string{"asl", "export", "orders"}, code: 2, stderr: []string{`stepcqrs: unknown command "orders" for "stepcqrs asl export"`}},
		{name: "missing subcommand", args: []string{"asl", "export"}, code: 2, stderr: []string{"stepcqrs: asl export: missing command"}},
		{name: "unknown flag", args: []string{"asl", "conform", "--bogus"}, code: 2, stderr: []string{"stepcqrs: unknown flag: --bogus", "Run 'stepcqrs asl conform --help'"}},
		{name: "missing file", args: []string{"asl", "validate"}, code: 2, stderr: []string{"stepcqrs: asl validate: missing FILE"}},
		{name: "extra argument", args: []string{"asl", "graph", def, def}, code: 2, stderr: []string{`stepcqrs: asl graph: unexpected argument "` + def + `"`}},
		{name: "file not found", args: []string{"asl", "validate", "/nonexistent/def.json"}, code: 1, stderr: []string{"stepcqrs: open /nonexistent/def.json: no such file or directory\n"}},
		{name: "help", args: []string{"help"}, code: 0, stdout: []string{"Usage:", "stepcqrs asl validate FILE"}},
		{name: "validate help", args: []string{"asl", "validate", "--help"}, code: 0, stdout: []string{"Usage:\n  stepcqrs asl validate FILE [flags]", "--type TYPE"}},
		{name: "graph help", args: []string{"asl", "graph", "--help"}, code: 0, stdout: []string{"stepcqrs asl graph FILE [flags]"}},
		{name: "export help", args: []string{"asl", "export", "--help"}, code: 0, stdout: []string{"command", "print the command state machine definition"}},
		{name: "valid", args: []string{"asl", "validate", def}, code: 0, stdout: []string{"valid\n"}},
		{name: "valid from stdin", args: []string{"asl", "validate", "-"}, stdin: validDef, code: 0, stdout: []string{"valid\n"}},
		{name: "express only", args: []string{"asl", "validate", "--type", "EXPRESS", "-"}, code: 1,
			stdin:  `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","End":true}}}`,
			stdout: []string{"$.States.T.Resource: SCHEMA_VALIDATION_FAILED: Express state machine does not support '.waitForTaskToken'"}},
		{name: "problems one a line", args: []string{"asl", "validate", bad}, code: 1, stdout: []string{
			"$.States.A.Next: MISSING_TRANSITION_TARGET: Missing 'Next' target: X\n$.States.B: UNREACHABLE_STATE: State 'B' is not reachable\n"}},
		{name: "not an object", args: []string{"asl", "validate", "-"}, stdin: `[1]`, code: 1,
			stdout: []string{"$: INVALID_JSON_DESCRIPTION: The definition must be a JSON object, not an array\n"}, stdoutNot: "Go value"},
		{name: "jsonata syntax", args: []string{"asl", "validate", "-"}, code: 1,
			stdin:  `{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","Output":"{% $foo( %}","End":true}}}`,
			stdout: []string{"$.States.A.Output: INVALID_JSONATA_EXPRESSION: Unexpected end of expression\n"}},
		{name: "jsonata outside the evaluator", args: []string{"asl", "validate", "-"}, code: 0,
			stdin:  `{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","Output":"{% [2,1]^($) %}","End":true}}}`,
			stdout: []string{"valid\n"}},
		{name: "graph", args: []string{"asl", "graph", "-"}, stdin: validDef, code: 0, stdout: []string{"flowchart", `s1("A")`}},
		{name: "graph refuses invalid", args: []string{"asl", "graph", bad}, code: 1, stdoutNot: "flowchart",
			stderr: []string{"stepcqrs: " + bad + " is not a valid definition:\n$.States.A.Next: MISSING_TRANSITION_TARGET: Missing 'Next' target: X\n$.States.B: UNREACHABLE_STATE"}},
		{name: "conform", args: []string{"asl", "conform", "--cases", cases}, code: 1, stdout: []string{"FAIL bad: output: want 1, got 2", "1 passed, 1 failed, 1 skipped\n"}},
		{name: "conform from stdin", args: []string{"asl", "conform", "--cases", "-"}, stdin: casesJSONL, code: 1, stdout: []string{"1 passed, 1 failed, 1 skipped\n"}},
		{name: "conform needs a file", args: []string{"asl", "conform"}, code: 2, stderr: []string{"stepcqrs: asl conform: --cases or --invalid is required"}},
		{name: "conform one stdin", args: []string{"asl", "conform", "--cases", "-", "--invalid", "-"}, code: 2, stderr: []string{"only one of --cases, --invalid and --results"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut strings.Builder
			code := execute(context.Background(), tt.args, strings.NewReader(tt.stdin), &out, &errOut)
			if code != tt.code {
				t.Errorf("exit status %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out.String(), errOut.String())
			}
			for _, w := range tt.stdout {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tt.stderr {
				if !strings.Contains(errOut.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut.String())
				}
			}
			if tt.stdoutNot != "" && strings.Contains(out.String(), tt.stdoutNot) {
				t.Errorf("stdout has %q:\n%s", tt.stdoutNot, out.String())
			}
			if tt.code == 0 && errOut.Len() > 0 {
				t.Errorf("stderr on success: %s", errOut.String())
			}
			if n := strings.Count(errOut.String(), "stepcqrs: "); tt.code != 0 && len(tt.stderr) > 0 && n != 1 {
				t.Errorf("stderr has %d \"stepcqrs: \" prefixes, want 1:\n%s", n, errOut.String())
			}
		})
	}
}

// TestEveryCommandHasHelp walks the command tree: every command answers
// --help with its usage and status 0, and the overview of `stepcqrs
// --help` names every command with every flag.
func TestEveryCommandHasHelp(t *testing.T) {
	var overview strings.Builder
	if code := execute(context.Background(), []string{"--help"}, nil, &overview, &strings.Builder{}); code != 0 {
		t.Fatalf("--help: status %d", code)
	}
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		n++
		path := strings.Fields(c.CommandPath())[1:]
		var out, errOut strings.Builder
		if code := execute(context.Background(), append(path, "--help"), nil, &out, &errOut); code != 0 || !strings.Contains(out.String(), "Usage:") {
			t.Errorf("%v --help: status %d, output %q, stderr %q", path, code, out.String(), errOut.String())
		}
		if !c.HasSubCommands() && c.HasParent() {
			if !strings.Contains(overview.String(), strings.Join(path, " ")) {
				t.Errorf("overview lacks %v", path)
			}
			c.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
				if !strings.Contains(overview.String(), "--"+f.Name) {
					t.Errorf("overview lacks flag --%s of %v", f.Name, path)
				}
			})
		}
		for _, sub := range c.Commands() {
			if sub.Name() != "help" {
				walk(sub)
			}
		}
	}
	walk(newRoot())
	if n < 7 {
		t.Errorf("walked %d commands, want the root, asl, conform, validate, graph, export and export command", n)
	}
}

// TestBinaryExitStatus runs the real binary (this test binary, as main):
// the must-have command lines of the issue.
func TestBinaryExitStatus(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"asl", "validate", "--help"}, 0, ""},
		{[]string{"bogus"}, 2, "stepcqrs: unknown command \"bogus\"\n"},
		{[]string{"asl", "validate", "/nonexistent"}, 1, "stepcqrs: open /nonexistent: no such file or directory\n"},
	}
	for _, tt := range tests {
		cmd := exec.Command(os.Args[0], tt.args...)
		cmd.Env = append(os.Environ(), "STEPCQRS_RUN_MAIN=1")
		var errOut strings.Builder
		cmd.Stderr = &errOut
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tt.code || !strings.HasPrefix(errOut.String(), tt.stderr) {
			t.Errorf("%v: status %d, stderr %q; want %d, %q", tt.args, code, errOut.String(), tt.code, tt.stderr)
		}
	}
}

// corpusDir is the shared corpus, relative to this package.
var corpusDir = filepath.Join("..", "..", "..", "shared", "asl-conformance")

// TestConformDocumentedCommand runs the command the README documents on
// the shared corpus: it passes, counting the known artefact apart.
func TestConformDocumentedCommand(t *testing.T) {
	cases, invalid := filepath.Join(corpusDir, "cases.jsonl"), filepath.Join(corpusDir, "invalid-definitions.jsonl")
	if _, err := os.Stat(cases); err != nil {
		t.Skipf("corpus not found: %v", err)
	}
	var out, errOut strings.Builder
	code := execute(context.Background(), []string{"asl", "conform", "--cases", cases, "--invalid", invalid}, nil, &out, &errOut)
	if code != 0 {
		t.Fatalf("status %d\n%s\n%s", code, out.String(), errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var casesLine string
	for _, l := range lines {
		if strings.HasSuffix(l, "1 known artefact") && casesLine == "" {
			casesLine = l
		}
	}
	if casesLine == "" || !strings.Contains(casesLine, " passed, 0 failed, 0 skipped, 1 known artefact") || !strings.HasPrefix(out.String(), "ARTEFACT ") {
		t.Errorf("output:\n%s", out.String())
	}
}
