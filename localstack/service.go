package localstack

import (
	"errors"

	"github.com/stepcqrs/stepcqrs/core"
)

// ServiceSpec returns the resources of a stepcqrs service configured by c
// with the CQRS modules named: for every module its command table (stream
// NEW_IMAGE, which drives the command flow), data table and history table;
// the system tables tasks and import (stream NEW_IMAGE); every table with
// TTL on "ttl". Plus the bucket, the task queue with its dead-letter queue,
// the notification and import queues, the notification topic (subscribed by
// the notification queue, raw delivery) and the alarm topic.
//
// State machines are not included: their definitions belong to the packages
// that run them; append them to Spec.StateMachines before Provision.
func ServiceSpec(c core.Config, modules ...string) (Spec, error) {
	var errs []error
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	var sp Spec
	for _, m := range modules {
		if err := c.ValidateModule(m); err != nil {
			errs = append(errs, err)
			continue
		}
		sp.Tables = append(sp.Tables,
			TableSpec{Name: c.CommandTable(m), Stream: StreamNewImage, TTL: true},
			TableSpec{Name: c.DataTable(m), TTL: true},
			TableSpec{Name: c.HistoryTable(m), TTL: true},
		)
	}
	if len(errs) > 0 {
		return Spec{}, errors.Join(errs...)
	}
	sp.Tables = append(sp.Tables,
		TableSpec{Name: c.TasksTable(), Stream: StreamNewImage, TTL: true},
		TableSpec{Name: c.ImportTable(), Stream: StreamNewImage, TTL: true},
	)
	sp.Buckets = []string{c.Bucket()}
	sp.Queues = []QueueSpec{
		{Name: c.TaskQueue(), DLQ: c.TaskDLQ()},
		{Name: c.NotificationQueue()},
		{Name: c.ImportQueue()},
	}
	sp.Topics = []TopicSpec{
		{Name: c.NotificationTopic(), Queues: []string{c.NotificationQueue()}, RawDelivery: true},
		{Name: c.AlarmTopic()},
	}
	return sp, nil
}
