package conformance

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// knownArtefactsJSON is the list of known artefacts of the shared corpus.
//
//go:embed known-artefacts.json
var knownArtefactsJSON []byte

// Artefacts maps the ids of cases whose recording is known to be wrong to
// the reason. A nil Artefacts lists none.
type Artefacts map[string]string

// artefactEntry is one entry of known-artefacts.json.
type artefactEntry struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// KnownArtefacts returns the artefacts of the shared corpus that this
// package carries (known-artefacts.json): cases whose recorded outcome no
// correct interpreter reproduces.
func KnownArtefacts() Artefacts {
	a, err := ParseArtefacts(knownArtefactsJSON)
	if err != nil {
		panic(err) // the embedded list is checked by the tests
	}
	return a
}

// ParseArtefacts reads a JSON list of {"id", "reason"} objects. Each needs
// both fields, and an id may appear once.
func ParseArtefacts(data []byte) (Artefacts, error) {
	var entries []artefactEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("conformance: known artefacts: %w", err)
	}
	a := make(Artefacts, len(entries))
	for i, e := range entries {
		switch {
		case e.ID == "" || e.Reason == "":
			return nil, fmt.Errorf("conformance: known artefact %d: id and reason are required", i+1)
		case a[e.ID] != "":
			return nil, fmt.Errorf("conformance: known artefact %q is listed twice", e.ID)
		}
		a[e.ID] = e.Reason
	}
	return a, nil
}

// listed reports whether id is a known artefact.
func (a Artefacts) listed(id string) bool {
	_, ok := a[id]
	return ok
}

// IDs returns the listed case ids in order.
func (a Artefacts) IDs() []string { return slices.Sorted(maps.Keys(a)) }

// classify turns the failure of a listed case into an Artefact verdict,
// keeping the failure in the reason.
func (a Artefacts) classify(o Outcome) Outcome {
	if o.Verdict == Fail && a.listed(o.ID) {
		o.Verdict, o.Reason = Artefact, a[o.ID]+" ("+o.Reason+")"
	}
	return o
}
