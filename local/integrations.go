package local

import (
	"context"

	"github.com/stepcqrs/stepcqrs/asl/interp"
	"github.com/stepcqrs/stepcqrs/core/memory"
	"github.com/stepcqrs/stepcqrs/serve/integrations"
)

// integrations returns the service integrations of the runtime's state
// machines (package serve/integrations): DynamoDB on the runtime's store,
// SQS on its queues, SNS on its topics, S3 on its object store,
// states:startExecution (.sync, .sync:2) on its Workflows, and
// events:putEvents on Options.Events.
func (rt *Runtime) integrations() map[string]interp.Resource {
	var events integrations.EventBus = discardEvents{}
	if rt.opts.Events != nil {
		events = rt.opts.Events
	}
	return integrations.Resources(integrations.Backends{
		Items:     rt.Items,
		Queues:    rt.Queues,
		Topics:    rt.Topics,
		Objects:   rt.Objects,
		Workflows: rt.Workflows,
		Events:    events,
		Region:    memory.Region,
		AccountID: memory.Account,
		Now:       rt.Clock.Now,
	})
}

// discardEvents is the EventBus of a runtime without Options.Events.
type discardEvents struct{}

// PutEvents implements integrations.EventBus.
func (discardEvents) PutEvents(context.Context, []integrations.Event) error { return nil }
