package memory

import (
	"go.uber.org/fx"

	"github.com/stepcqrs/stepcqrs/core"
)

// Module provides the in-memory adapters, both as their concrete types
// (*Store, *Workflows, *Objects, *Queues, *Topics, for provisioning and
// inspection) and as the core ports (core.ItemStore, core.Workflows,
// core.ObjectStore, core.Queue, core.Topic). Tables and buckets are created
// on demand; queues, topics and state machines must be created. A Runner in
// the graph, if any, runs the executions.
var Module = fx.Module("stepcqrs.memory",
	fx.Provide(
		func() *Store { return NewStore() },
		func(s *Store) core.ItemStore { return s },
		newModuleWorkflows,
		func(w *Workflows) core.Workflows { return w },
		func() *Objects { return NewObjects() },
		func(o *Objects) core.ObjectStore { return o },
		func() *Queues { return NewQueues() },
		func(q *Queues) core.Queue { return q },
		func() *Topics { return NewTopics() },
		func(t *Topics) core.Topic { return t },
	),
)

type workflowsIn struct {
	fx.In
	Runner Runner `optional:"true"`
}

func newModuleWorkflows(in workflowsIn) *Workflows { return NewWorkflows(in.Runner) }
