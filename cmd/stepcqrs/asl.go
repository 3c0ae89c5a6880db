package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/asl/interp/conformance"
	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/importcsv"
	"github.com/stepcqrs/stepcqrs/task"
)

// readInput reads a file argument; "-" is the standard input.
func readInput(c *cobra.Command, path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(c.InOrStdin())
	}
	return os.ReadFile(path)
}

// conformCmd runs conformance files.
func conformCmd() *cobra.Command {
	var (
		cases, invalid, results, resultsName string
		verbose                              bool
	)
	c := &cobra.Command{
		Use:   "conform --cases FILE.jsonl [--invalid FILE.jsonl] [-v] [--results FILE.jsonl [--results-name NAME]]",
		Short: "run ASL conformance files through the interpreter and the validator",
		Long: `Run ASL execution cases (and definitions AWS rejects) through the
interpreter and the validator; ends with "N passed, M failed, K skipped"
(and ", A known artefacts" for failures of cases whose recording is listed
as wrong). Exits 1 on a failure, or when a listed artefact passes.`,
		Args: exactArgs(),
		RunE: func(c *cobra.Command, _ []string) error {
			if cases == "" && invalid == "" {
				return usagef(c, "asl conform: --cases or --invalid is required")
			}
			if results != "" && cases == "" {
				return usagef(c, "asl conform: --results needs --cases")
			}
			if n := countStdin(cases, invalid, results); n > 1 {
				return usagef(c, "asl conform: only one of --cases, --invalid and --results can be \"-\"")
			}
			return conform(c, cases, invalid, results, resultsName, verbose)
		},
	}
	f := c.Flags()
	f.StringVar(&cases, "cases", "", "JSONL `FILE` of execution cases")
	f.StringVar(&invalid, "invalid", "", "JSONL `FILE` of definitions AWS rejects")
	f.BoolVarP(&verbose, "verbose", "v", false, "also report passing and skipped cases")
	f.StringVar(&results, "results", "", "JSONL `FILE` of another interpreter's outcomes on the --cases file, graded side by side")
	f.StringVar(&resultsName, "results-name", "external", "`NAME` of that interpreter in the report")
	return c
}

func countStdin(paths ...string) int {
	n := 0
	for _, p := range paths {
		if p == "-" {
			n++
		}
	}
	return n
}

func conform(c *cobra.Command, casesPath, invalidPath, resultsPath, resultsName string, verbose bool) error {
	stdout := c.OutOrStdout()
	artefacts := conformance.KnownArtefacts()
	var total conformance.Summary
	if casesPath != "" {
		data, err := readInput(c, casesPath)
		if err != nil {
			return err
		}
		cases, err := conformance.ReadCases(bytes.NewReader(data))
		if err != nil {
			return err
		}
		s, err := conformance.Run(c.Context(), bytes.NewReader(data), conformance.Options{Out: stdout, Verbose: verbose, Artefacts: artefacts})
		if err != nil {
			return err
		}
		total = s
		if resultsPath != "" {
			rdata, err := readInput(c, resultsPath)
			if err != nil {
				return err
			}
			results, err := conformance.ReadExternalResults(bytes.NewReader(rdata))
			if err != nil {
				return err
			}
			cmp, err := conformance.Compare(cases, s, results, artefacts)
			if err != nil {
				return err
			}
			printComparison(stdout, casesPath, len(cases), resultsName, s, cmp)
		}
	}
	if invalidPath != "" {
		data, err := readInput(c, invalidPath)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "invalid definitions (%s):\n", invalidPath)
		p, failed, k, err := asl.RunInvalidCorpus(bytes.NewReader(data), stdout)
		if err != nil {
			return err
		}
		total.Passed, total.Failed, total.Skipped = total.Passed+p, total.Failed+failed, total.Skipped+k
		if casesPath != "" {
			// Both files: the last line totals them.
			fmt.Fprintln(stdout, total.String())
		}
	}
	if !total.OK() {
		return errFailures
	}
	return nil
}

// validateCmd validates a definition.
func validateCmd() *cobra.Command {
	var workflow string
	c := &cobra.Command{
		Use:   "validate FILE",
		Short: "validate a state machine definition",
		Long: `Validate a state machine definition (JSON) as CreateStateMachine would:
print "valid", or every problem on a line of its own, with its JSONPath
(exit status 1). A FILE of "-" is the standard input.`,
		Args: exactArgs("FILE"),
		RunE: func(c *cobra.Command, args []string) error {
			data, err := readInput(c, args[0])
			if err != nil {
				return err
			}
			if _, err := asl.ParseAndValidate(data, asl.WithWorkflowType(workflow)); err != nil {
				if perr := printProblems(c.OutOrStdout(), err); perr != nil {
					return perr
				}
				return errFailures
			}
			fmt.Fprintln(c.OutOrStdout(), "valid")
			return nil
		},
	}
	c.Flags().StringVar(&workflow, "type", asl.WorkflowStandard, "workflow `TYPE` the machine is validated for: STANDARD or EXPRESS")
	return c
}

// printProblems writes the problems of a validation error one a line:
// "$.States.A.Next: MISSING_TRANSITION_TARGET: ...". An error that is not
// a validation error is returned.
func printProblems(w io.Writer, err error) error {
	var ve *asl.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	for _, p := range ve.Problems {
		fmt.Fprintf(w, "%s: %s: %s\n", p.Path(), p.Code, p.Message)
	}
	return nil
}

// graphCmd prints a Mermaid flowchart of a valid definition.
func graphCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "graph FILE",
		Short: "print a Mermaid flowchart of a state machine definition",
		Long: `Print a Mermaid flowchart of a state machine definition (JSON). An
invalid definition is refused with its problems (exit status 1). A FILE
of "-" is the standard input.`,
		Args: exactArgs("FILE"),
		RunE: func(c *cobra.Command, args []string) error {
			data, err := readInput(c, args[0])
			if err != nil {
				return err
			}
			sm, err := asl.ParseAndValidate(data)
			if err != nil {
				var problems bytes.Buffer
				if perr := printProblems(&problems, err); perr != nil {
					return perr
				}
				return fmt.Errorf("%s is not a valid definition:\n%s", displayName(args[0]), bytes.TrimRight(problems.Bytes(), "\n"))
			}
			_, err = fmt.Fprintln(c.OutOrStdout(), asl.Mermaid(sm))
			return err
		},
	}
}

func displayName(path string) string {
	if path == "-" {
		return "the standard input"
	}
	return path
}

// DefaultFunctionARN is the function of an exported definition when
// --function-arn is not given: a placeholder for CloudFormation's
// DefinitionSubstitutions (or sed).
const DefaultFunctionARN = "${FunctionArn}"

// exportCommandCmd prints the command state machine.
func exportCommandCmd() *cobra.Command {
	var (
		fn, out string
		timeout int
	)
	c := &cobra.Command{
		Use:   "command [--function-arn ARN] [--timeout S] [--out FILE]",
		Short: "print the command state machine definition",
		Long: `Print the command state machine definition (validated JSON), as
deployed to Step Functions.`,
		Args: exactArgs(),
		RunE: func(c *cobra.Command, _ []string) error {
			if timeout <= 0 {
				return usagef(c, "asl export command: --timeout must be positive")
			}
			def, err := command.StateMachineJSON(command.StateMachineOptions{FunctionARN: fn, WaitTimeoutSeconds: timeout})
			if err != nil {
				return err
			}
			return writeDefinition(c, def, out)
		},
	}
	f := c.Flags()
	f.StringVar(&fn, "function-arn", DefaultFunctionARN, "the service's Lambda function (name or `ARN`) every task invokes; the default is a DefinitionSubstitutions placeholder")
	f.IntVar(&timeout, "timeout", 300, "wait timeout for a predecessor: `S` seconds")
	f.StringVar(&out, "out", "", "write the definition to `FILE` instead of the standard output (\"-\")")
	return c
}

// exportTaskCmd prints the task state machine.
func exportTaskCmd() *cobra.Command {
	return exportDistributedCmd("task", "the task state machine",
		`a fan-out's sub-tasks under a Map with the task type's
concurrency bound, inline up to 1000 sub-tasks and as a distributed Map
over a manifest beyond.`,
		func(fn string, child string) ([]byte, error) {
			return task.StateMachineJSON(task.StateMachineOptions{FunctionARN: fn, DistributedExecutionType: child})
		})
}

// exportImportCmd prints the CSV import state machine.
func exportImportCmd() *cobra.Command {
	return exportDistributedCmd("import", "the CSV import state machine",
		`one Distributed Map per file of a job, reading
the CSV from the bucket in batches of rows.`,
		func(fn string, child string) ([]byte, error) {
			return importcsv.StateMachineJSON(importcsv.StateMachineOptions{FunctionARN: fn, DistributedExecutionType: child})
		})
}

// exportDistributedCmd is an export command of a state machine with a
// distributed Map: build makes its definition for a function and the
// child executions' type ("" for the default, STANDARD).
func exportDistributedCmd(name, what, about string, build func(fn string, child string) ([]byte, error)) *cobra.Command {
	var (
		fn, out string
		express bool
	)
	c := &cobra.Command{
		Use:   name + " [--function-arn ARN] [--express] [--out FILE]",
		Short: "print " + what + " definition",
		Long:  "Print " + what + " definition (validated JSON), as\ndeployed to Step Functions: " + about,
		Args:  exactArgs(),
		RunE: func(c *cobra.Command, _ []string) error {
			var child string
			if express {
				child = asl.ExecutionExpress
			}
			def, err := build(fn, child)
			if err != nil {
				return err
			}
			return writeDefinition(c, def, out)
		},
	}
	f := c.Flags()
	f.StringVar(&fn, "function-arn", DefaultFunctionARN, "the service's Lambda function (name or `ARN`) every task invokes; the default is a DefinitionSubstitutions placeholder")
	f.BoolVar(&express, "express", false, "run the distributed Map's child executions as EXPRESS workflows (default STANDARD)")
	f.StringVar(&out, "out", "", "write the definition to `FILE` instead of the standard output (\"-\")")
	return c
}

// writeDefinition checks that def parses and validates — what is printed
// is what Step Functions will be given — and writes it to out ("" or "-":
// the standard output).
func writeDefinition(c *cobra.Command, def []byte, out string) error {
	if _, err := asl.ParseAndValidate(def); err != nil {
		return fmt.Errorf("exported definition does not validate: %w", err)
	}
	def = append(def, '\n')
	if out != "" && out != "-" {
		return os.WriteFile(out, def, 0o644)
	}
	_, err := c.OutOrStdout().Write(def)
	return err
}
