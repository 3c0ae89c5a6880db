package local_test

import (
	"context"
	"fmt"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/local"
)

// A whole service in one process: publish a command, let the command state
// machine apply it, read the result and what it cost.
func ExampleNew() {
	ctx := context.Background()
	rt, err := local.New(ctx, local.Options{Modules: []string{"order"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rt.Close()
	svc := rt.Service("order")
	k, _ := core.NewKey("ORDER", "acme", "o-1")
	if _, err := svc.PublishAsync(ctx, command.Input{PK: k.PK, SK: k.SK, Name: "first order",
		Attributes: core.Attributes{"total": 42}}); err != nil {
		fmt.Println(err)
		return
	}
	if err := rt.WaitIdle(ctx); err != nil {
		fmt.Println(err)
		return
	}
	d, _ := svc.GetData(ctx, k, true)
	fmt.Println(d.Name, "version", d.Version, "total", d.Attributes["total"])
	exec := rt.Workflows.Executions("")[0]
	states, _ := rt.Workflows.StatesEntered(exec.ARN)
	s := rt.Stats()
	fmt.Println(exec.Status, states, "lambda invocations:", s.StepInvocations)
	// Output:
	// first order version 1 total 42
	// SUCCEEDED [Apply Route Done] lambda invocations: 1
}
