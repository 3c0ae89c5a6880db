package main

import (
	"fmt"
	"io"
	"time"

	"github.com/stepcqrs/stepcqrs/asl/interp/conformance"
)

// printComparison prints both scores and, over the cases both ran, the
// construction (parse, validate, build) and execution times of each side.
func printComparison(out io.Writer, casesPath string, n int, name string, ours conformance.Summary, cmp conformance.Comparison) {
	fmt.Fprintf(out, "\nside by side on %s (%d cases):\n", casesPath, n)
	fmt.Fprintf(out, "  %-24s %s\n", "stepcqrs", ours.String())
	fmt.Fprintf(out, "  %-24s %s\n", name, cmp.Theirs.String())
	fmt.Fprintf(out, "  right in both: %d, only stepcqrs: %d, only %s: %d\n", cmp.BothPass, cmp.OnlyOurs, name, cmp.OnlyTheirs)
	if cmp.Both == 0 {
		return
	}
	fmt.Fprintf(out, "  on the %d cases both ran, total (median per case):\n", cmp.Both)
	fmt.Fprintf(out, "    %-13s %-26s %-34s %s\n", "", "stepcqrs", name, "ratio")
	row := func(what, ours, theirs string, ourTotal, theirTotal time.Duration) {
		fmt.Fprintf(out, "    %-13s %-26s %-34s %s\n", what, ours, theirs, ratio(theirTotal, ourTotal))
	}
	withMedian := func(total, median time.Duration) string {
		return fmt.Sprintf("%s (%s)", round(total), round(median))
	}
	row("construction", withMedian(cmp.Ours.ConstructTotal, cmp.Ours.ConstructMedian), withMedian(cmp.Other.ConstructTotal, cmp.Other.ConstructMedian),
		cmp.Ours.ConstructTotal, cmp.Other.ConstructTotal)
	row("execution", withMedian(cmp.Ours.ExecTotal, cmp.Ours.ExecMedian), withMedian(cmp.Other.ExecTotal, cmp.Other.ExecMedian),
		cmp.Ours.ExecTotal, cmp.Other.ExecTotal)
	ourSum, theirSum := cmp.Ours.ConstructTotal+cmp.Ours.ExecTotal, cmp.Other.ConstructTotal+cmp.Other.ExecTotal
	row("together", round(ourSum).String(), round(theirSum).String(), ourSum, theirSum)
}

// round keeps three significant digits or so.
func round(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond)
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

func ratio(theirs, ours time.Duration) string {
	if ours <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fx", float64(theirs)/float64(ours))
}
