//go:build race

package main

// raceEnabled reports a build with the race detector, under which the
// embedded runtime imports some thirty times slower.
const raceEnabled = true
