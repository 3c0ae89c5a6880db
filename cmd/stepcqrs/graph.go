package main

import (
	"fmt"
	"io"

	"github.com/stepcqrs/stepcqrs/asl"
)

// mermaid writes the Mermaid flowchart of sm.
func mermaid(sm *asl.StateMachine, w io.Writer) error {
	_, err := fmt.Fprintln(w, asl.Mermaid(sm))
	return err
}
