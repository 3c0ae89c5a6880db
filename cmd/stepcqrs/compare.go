package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/stepcqrs/stepcqrs/asl/interp/conformance"
)

// compareExternal grades another interpreter's outcomes on the cases file
// and prints both scores and their execution times over the cases both ran.
func compareExternal(casesPath, resultsPath, name string, ours conformance.Summary, out io.Writer) error {
	cf, err := os.Open(casesPath)
	if err != nil {
		return err
	}
	defer cf.Close()
	cases, err := conformance.ReadCases(cf)
	if err != nil {
		return err
	}
	rf, err := os.Open(resultsPath)
	if err != nil {
		return err
	}
	defer rf.Close()
	results, err := conformance.ReadExternalResults(rf)
	if err != nil {
		return err
	}
	if len(ours.Outcomes) != len(cases) {
		return fmt.Errorf("asl conform: %d outcomes for %d cases", len(ours.Outcomes), len(cases))
	}
	var theirs conformance.Summary
	var oursTime, theirTime time.Duration
	both, bothPass, onlyOurs, onlyTheirs := 0, 0, 0, 0
	for i, c := range cases {
		res, ok := results[c.ID]
		o := conformance.Grade(c, res, ok)
		switch o.Verdict {
		case conformance.Pass:
			theirs.Passed++
		case conformance.Skip:
			theirs.Skipped++
		default:
			theirs.Failed++
		}
		mine := ours.Outcomes[i]
		if o.Verdict != conformance.Skip && mine.Verdict != conformance.Skip {
			both++
			oursTime += mine.Elapsed
			theirTime += o.Elapsed
		}
		switch {
		case o.Verdict == conformance.Pass && mine.Verdict == conformance.Pass:
			bothPass++
		case mine.Verdict == conformance.Pass:
			onlyOurs++
		case o.Verdict == conformance.Pass:
			onlyTheirs++
		}
	}
	fmt.Fprintf(out, "\nside by side on %s (%d cases):\n", casesPath, len(cases))
	fmt.Fprintf(out, "  %-24s %s\n", "stepcqrs", ours.String())
	fmt.Fprintf(out, "  %-24s %s\n", name, theirs.String())
	fmt.Fprintf(out, "  right in both: %d, only stepcqrs: %d, only %s: %d\n", bothPass, onlyOurs, name, onlyTheirs)
	if both > 0 && oursTime > 0 {
		fmt.Fprintf(out, "  execution time over the %d cases both ran: stepcqrs %v, %s %v (ratio %.1fx)\n",
			both, oursTime.Round(time.Millisecond), name, theirTime.Round(time.Millisecond),
			float64(theirTime)/float64(oursTime))
	}
	return nil
}
