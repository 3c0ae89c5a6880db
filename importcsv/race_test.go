//go:build race

package importcsv_test

// raceEnabled reports a build with the race detector, which makes the
// large import some ten times slower: its default size is smaller then.
const raceEnabled = true
