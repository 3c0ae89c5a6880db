package docs

import (
	"io"
	"os"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/command"
)

// generators produce the generated blocks of the guides: name → fence
// language and text. They draw real machines and run the examples, so a
// change of a definition or of an example's output shows up as a stale
// guide.
var generators = map[string]func() (lang, text string, err error){
	"checkout-mermaid": func() (string, string, error) {
		sm, err := checkout()
		if err != nil {
			return "", "", err
		}
		return "mermaid", asl.Mermaid(sm), nil
	},
	"command-mermaid": func() (string, string, error) {
		sm, err := command.StateMachine(command.StateMachineOptions{FunctionARN: "dev-shop"})
		if err != nil {
			return "", "", err
		}
		return "mermaid", asl.Mermaid(sm), nil
	},
	// What examples print, for guides that show a snippet of an example's
	// body and its output apart.
	"gs-read-output":           output(Example_gettingStartedRead),
	"gs-partial-output":        output(Example_gettingStartedPartial),
	"gs-registry-output":       output(Example_gettingStartedHandler),
	"ef-routes-output":         output(Example_typedRoutes),
	"ef-batch-output":          output(Example_partialBatchFailures),
	"ef-handler-errors-output": output(Example_handlerErrors),
	"ef-unrouted-output":       output(Example_unrouted),
	"ef-registration-output":   output(Example_registrationErrors),
	"ef-command-output":        output(Example_commandSteps),
	"asl-json-output":          output(Example_aslBuild),
	"asl-validate-output":      output(Example_aslValidate),
	"asl-run-output":           output(Example_aslRun),
}

// output returns a generator of what example prints on standard output.
func output(example func()) func() (string, string, error) {
	return func() (string, string, error) {
		r, w, err := os.Pipe()
		if err != nil {
			return "", "", err
		}
		stdout := os.Stdout
		os.Stdout = w
		done := make(chan []byte)
		go func() {
			b, _ := io.ReadAll(r)
			done <- b
		}()
		func() {
			defer func() { os.Stdout = stdout }()
			example()
		}()
		_ = w.Close()
		out := <-done
		_ = r.Close()
		return "text", string(out), nil
	}
}
