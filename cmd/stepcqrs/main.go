// Command stepcqrs is the command-line tool of the stepcqrs framework.
//
// Usage:
//
//	stepcqrs asl conform --cases FILE.jsonl [--invalid FILE.jsonl] [-v] [--results FILE.jsonl [--results-name NAME]]
//	stepcqrs asl validate FILE
//	stepcqrs asl graph FILE
//	stepcqrs asl export command [--function-arn ARN] [--timeout S] [--out FILE]
//
// A FILE argument of "-" is the standard input. Every command takes --help.
// The exit status is 0 on success, 1 when the command found failures or
// could not run, and 2 for a command line that cannot be run.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// errUsage matches the errors of a command line that cannot be run.
var errUsage = errors.New("usage")

// errFailures marks a run that completed and reported its failures.
var errFailures = errors.New("failures")

// usageError is a command line that cannot be run: an unknown command, a
// missing or extra argument, a bad flag. It matches errUsage.
type usageError struct {
	// cmd is the path of the command whose help applies, e.g.
	// "stepcqrs asl".
	cmd string
	msg string
}

// Error implements error.
func (e *usageError) Error() string { return e.msg }

// Is makes errors.Is(err, errUsage) true.
func (e *usageError) Is(target error) bool { return target == errUsage }

func usagef(c *cobra.Command, format string, args ...any) error {
	return &usageError{cmd: c.CommandPath(), msg: fmt.Sprintf(format, args...)}
}

func main() {
	os.Exit(execute(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// execute runs a command line and returns its exit status, having written
// any error to stderr with the prefix "stepcqrs: ".
func execute(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	err := run(ctx, args, stdin, stdout, stderr)
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "stepcqrs: %s\nRun '%s --help' for usage.\n", ue.msg, ue.cmd)
		return 2
	case errors.Is(err, errFailures):
		return 1
	default:
		fmt.Fprintf(stderr, "stepcqrs: %v\n", err)
		return 1
	}
}

// run runs a command line.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	root := newRoot()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return root.ExecuteContext(ctx)
}

// newRoot builds the command tree.
func newRoot() *cobra.Command {
	root := group(&cobra.Command{
		Use:   "stepcqrs",
		Short: "the stepcqrs command-line tool",
	})
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usagef(c, "%v", err)
	})
	aslCmd := group(&cobra.Command{
		Use:   "asl",
		Short: "Amazon States Language tools: conformance runs, validation, graphs, exports",
	})
	exportCmd := group(&cobra.Command{
		Use:   "export",
		Short: "print a state machine definition of the framework",
	})
	exportCmd.AddCommand(exportCommandCmd(), exportTaskCmd(), exportImportCmd())
	aslCmd.AddCommand(conformCmd(), validateCmd(), graphCmd(), exportCmd)
	root.AddCommand(aslCmd)
	root.AddCommand(serveCmd())
	root.AddCommand(importCmd())
	root.AddCommand(deployCmd())
	help := root.HelpFunc()
	root.SetHelpFunc(func(c *cobra.Command, args []string) {
		if c == root {
			fmt.Fprint(c.OutOrStdout(), overview(root))
			return
		}
		help(c, args)
	})
	return root
}

// group makes c a command that only holds others: run without one, or
// with one it does not know, it is a usage error.
func group(c *cobra.Command) *cobra.Command {
	c.SilenceErrors, c.SilenceUsage = true, true
	c.SuggestionsMinimumDistance = 2
	c.Args = cobra.ArbitraryArgs
	c.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usagef(c, "%s", prefixed(c, "missing command"))
		}
		msg := fmt.Sprintf("unknown command %q", args[0])
		if c.HasParent() {
			msg += fmt.Sprintf(" for %q", c.CommandPath())
		}
		if s := c.SuggestionsFor(args[0]); len(s) > 0 {
			msg += fmt.Sprintf("; did you mean %q?", s[0])
		}
		return usagef(c, "%s", msg)
	}
	return c
}

// exactArgs accepts exactly the named positional arguments.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		switch {
		case len(args) < len(names):
			return usagef(c, "%s", prefixed(c, "missing "+names[len(args)]))
		case len(args) > len(names):
			return usagef(c, "%s", prefixed(c, fmt.Sprintf("unexpected argument %q", args[len(names)])))
		}
		return nil
	}
}

// prefixed prefixes msg with the command's path below the root, e.g.
// "asl validate: msg".
func prefixed(c *cobra.Command, msg string) string {
	if !c.HasParent() {
		return msg
	}
	return strings.TrimPrefix(c.CommandPath(), c.Root().Name()+" ") + ": " + msg
}

// overview is the help of the root command: every command with its flags.
func overview(root *cobra.Command) string {
	var b strings.Builder
	b.WriteString("stepcqrs: the stepcqrs command-line tool\n\nUsage:\n")
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if !sub.IsAvailableCommand() || sub.Name() == "help" {
				continue
			}
			if sub.HasAvailableSubCommands() {
				walk(sub)
				continue
			}
			fmt.Fprintf(&b, "  %s\n", strings.TrimSuffix(sub.CommandPath(), " "+sub.Name())+" "+sub.Use)
			for _, line := range strings.Split(strings.TrimSpace(sub.Long), "\n") {
				fmt.Fprintf(&b, "        %s\n", line)
			}
			if flags := sub.LocalNonPersistentFlags(); flags.HasAvailableFlags() {
				for _, line := range strings.Split(strings.TrimRight(flags.FlagUsages(), "\n"), "\n") {
					fmt.Fprintf(&b, "    %s\n", line)
				}
			}
			b.WriteString("\n")
		}
	}
	walk(root)
	b.WriteString("A FILE of \"-\" is the standard input. Every command takes --help.\n" +
		"Exit status: 0 success, 1 failures or errors, 2 bad command line.\n")
	return b.String()
}
