// Command stepcqrs is the command-line tool of the stepcqrs framework.
//
// Usage:
//
//	stepcqrs asl conform --cases FILE.jsonl [--invalid FILE.jsonl] [-v]
//	stepcqrs asl validate FILE
//	stepcqrs asl graph FILE
//	stepcqrs asl export command [--function-arn ARN] [--timeout S] [--out FILE]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/asl/interp/conformance"
	"github.com/stepcqrs/stepcqrs/command"
)

const usage = `stepcqrs: the stepcqrs command-line tool

Usage:
  stepcqrs asl conform --cases FILE.jsonl [--invalid FILE.jsonl] [-v]
        run ASL execution cases (and invalid definitions) through the
        interpreter and the validator; ends with "N passed, M failed, K skipped"
  stepcqrs asl validate FILE
        validate a state machine definition (JSON)
  stepcqrs asl graph FILE
        print a Mermaid flowchart of a state machine definition
  stepcqrs asl export command [--function-arn ARN] [--timeout S] [--out FILE]
        print the command state machine definition (validated JSON), as
        deployed to Step Functions; ARN is the service's Lambda (default
        "${FunctionArn}", a DefinitionSubstitutions placeholder), S the
        wait timeout in seconds (default 300)
`

// errUsage marks a command line that cannot be run.
var errUsage = errors.New("usage")

// errFailures marks a run that completed with failures.
var errFailures = errors.New("failures")

func main() {
	err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, errUsage):
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	case errors.Is(err, errFailures):
		os.Exit(1)
	default:
		fmt.Fprintln(os.Stderr, "stepcqrs:", err)
		os.Exit(1)
	}
}

// run dispatches a command line.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) < 2 || args[0] != "asl" {
		if len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, usage)
			return nil
		}
		return errUsage
	}
	switch args[1] {
	case "conform":
		return conform(ctx, args[2:], stdout, stderr)
	case "validate":
		return validate(args[2:], stdout)
	case "graph":
		return graph(args[2:], stdout)
	case "export":
		return export(args[2:], stdout, stderr)
	}
	return errUsage
}

// conform runs conformance files.
func conform(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("asl conform", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cases := fs.String("cases", "", "JSONL file of execution cases")
	invalid := fs.String("invalid", "", "JSONL file of definitions AWS rejects")
	verbose := fs.Bool("v", false, "also report passing and skipped cases")
	results := fs.String("results", "", "JSONL outcomes of another interpreter on the --cases file, graded side by side")
	resultsName := fs.String("results-name", "external", "name of that interpreter in the report")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *cases == "" && *invalid == "" {
		fmt.Fprintln(stderr, "asl conform: --cases or --invalid is required")
		return errUsage
	}
	passed, failed, skipped := 0, 0, 0
	if *cases != "" {
		s, err := conformance.RunFile(ctx, *cases, conformance.Options{Out: stdout, Verbose: *verbose})
		if err != nil {
			return err
		}
		passed, failed, skipped = s.Passed, s.Failed, s.Skipped
		if *results != "" {
			if err := compareExternal(*cases, *results, *resultsName, s, stdout); err != nil {
				return err
			}
		}
	} else if *results != "" {
		fmt.Fprintln(stderr, "asl conform: --results needs --cases")
		return errUsage
	}
	if *invalid != "" {
		f, err := os.Open(*invalid)
		if err != nil {
			return err
		}
		defer f.Close()
		fmt.Fprintf(stdout, "invalid definitions (%s):\n", *invalid)
		p, nFailed, k, err := asl.RunInvalidCorpus(f, stdout)
		if err != nil {
			return err
		}
		if *cases != "" {
			// Both files: the last line totals them.
			fmt.Fprintf(stdout, "%d passed, %d failed, %d skipped\n", passed+p, failed+nFailed, skipped+k)
		}
		failed += nFailed
	}
	if failed > 0 {
		return errFailures
	}
	return nil
}

// readDefinition parses the definition in a file.
func readDefinition(args []string) (*asl.StateMachine, []byte, error) {
	if len(args) != 1 {
		return nil, nil, errUsage
	}
	data, err := os.ReadFile(args[0])
	if err != nil {
		return nil, nil, err
	}
	sm, err := asl.Parse(data)
	return sm, data, err
}

// validate validates a definition file.
func validate(args []string, stdout io.Writer) error {
	_, data, err := readDefinition(args)
	if err != nil {
		return err
	}
	if _, err := asl.ParseAndValidate(data); err != nil {
		fmt.Fprintln(stdout, strings.TrimSpace(err.Error()))
		return errFailures
	}
	fmt.Fprintln(stdout, "valid")
	return nil
}

// graph prints a Mermaid flowchart of a definition.
func graph(args []string, stdout io.Writer) error {
	sm, _, err := readDefinition(args)
	if err != nil {
		return err
	}
	return mermaid(sm, stdout)
}

// DefaultFunctionARN is the function of an exported definition when
// --function-arn is not given: a placeholder for CloudFormation's
// DefinitionSubstitutions (or sed).
const DefaultFunctionARN = "${FunctionArn}"

// export prints a framework state machine definition.
func export(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "command" {
		fmt.Fprintln(stderr, "asl export: the only definition is \"command\"")
		return errUsage
	}
	fs := flag.NewFlagSet("asl export command", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fn := fs.String("function-arn", DefaultFunctionARN, "the service's Lambda function (name or ARN) every task invokes")
	timeout := fs.Int("timeout", 300, "wait timeout for a predecessor, in seconds")
	out := fs.String("out", "", "write the definition to this file instead of stdout")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	if *timeout <= 0 {
		fmt.Fprintln(stderr, "asl export command: --timeout must be positive")
		return errUsage
	}
	def, err := command.StateMachineJSON(command.StateMachineOptions{FunctionARN: *fn, WaitTimeoutSeconds: *timeout})
	if err != nil {
		return err
	}
	// What is printed is what Step Functions will be given: check it
	// parses and validates as such.
	if _, err := asl.ParseAndValidate(def); err != nil {
		return fmt.Errorf("exported definition does not validate: %w", err)
	}
	def = append(def, '\n')
	if *out != "" {
		return os.WriteFile(*out, def, 0o644)
	}
	_, err = stdout.Write(def)
	return err
}
