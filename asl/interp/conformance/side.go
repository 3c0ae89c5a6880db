package conformance

import (
	"fmt"
	"slices"
	"time"
)

// Comparison sets another interpreter's outcomes on a cases file (read
// with ReadExternalResults) beside this package's.
type Comparison struct {
	// Theirs counts the other interpreter's outcomes, graded by Grade.
	Theirs Summary
	// BothPass, OnlyOurs and OnlyTheirs count the cases passed by both,
	// by this package only and by the other only.
	BothPass, OnlyOurs, OnlyTheirs int
	// Both counts the cases neither side skipped; the timings are taken
	// over them.
	Both int
	// Ours and Other are the timings of each side.
	Ours, Other Timing
}

// Timing sums and takes the median of the per-case times of one side.
type Timing struct {
	// ConstructTotal and ConstructMedian: making the definition runnable
	// (parse, validate, build).
	ConstructTotal, ConstructMedian time.Duration
	// ExecTotal and ExecMedian: running the execution.
	ExecTotal, ExecMedian time.Duration
}

// Compare grades the other interpreter's results on cases, whose outcomes
// here are ours (from Run on the same cases, in the same order). A case
// listed in artefacts that the other interpreter fails counts as an
// artefact for it too.
func Compare(cases []Case, ours Summary, results map[string]ExternalResult, artefacts Artefacts) (Comparison, error) {
	if len(ours.Outcomes) != len(cases) {
		return Comparison{}, fmt.Errorf("conformance: %d outcomes for %d cases", len(ours.Outcomes), len(cases))
	}
	var cmp Comparison
	var oc, oe, tc, te []time.Duration
	for i, c := range cases {
		res, ok := results[c.ID]
		theirs := artefacts.classify(Grade(c, res, ok))
		cmp.Theirs.Outcomes = append(cmp.Theirs.Outcomes, theirs)
		cmp.Theirs.count(theirs)
		mine := ours.Outcomes[i]
		if mine.ID != c.ID {
			return Comparison{}, fmt.Errorf("conformance: outcome %d is of case %q, not %q", i+1, mine.ID, c.ID)
		}
		if theirs.Verdict != Skip && mine.Verdict != Skip {
			cmp.Both++
			oc, oe = append(oc, mine.Construct), append(oe, mine.Elapsed)
			tc, te = append(tc, theirs.Construct), append(te, theirs.Elapsed)
		}
		switch {
		case theirs.Verdict == Pass && mine.Verdict == Pass:
			cmp.BothPass++
		case mine.Verdict == Pass:
			cmp.OnlyOurs++
		case theirs.Verdict == Pass:
			cmp.OnlyTheirs++
		}
	}
	cmp.Ours = Timing{ConstructTotal: sum(oc), ConstructMedian: median(oc), ExecTotal: sum(oe), ExecMedian: median(oe)}
	cmp.Other = Timing{ConstructTotal: sum(tc), ConstructMedian: median(tc), ExecTotal: sum(te), ExecMedian: median(te)}
	return cmp, nil
}

func sum(ds []time.Duration) time.Duration {
	var t time.Duration
	for _, d := range ds {
		t += d
	}
	return t
}

// median returns the median of ds (the mean of the middle two for an even
// count), 0 for none.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
