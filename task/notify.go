package task

import (
	"context"
	"encoding/json"
	"fmt"
)

// Notification actions, also sent as the message attribute "action" (for
// SNS subscription filters).
const (
	// ActionTaskStatus is the action of a single task's or a parent's
	// status change.
	ActionTaskStatus = "task-status"
	// ActionSubTaskStatus is the action of a sub-task's final status.
	ActionSubTaskStatus = "sub-task-status"
)

// Notification is the message published on the notification topic
// (core.Config.NotificationTopic) when a task's status changes, in the
// envelope of the command notifications (command.Notification): a single
// task or a parent on every status change (QUEUED, PROCESSING, COMPLETED,
// FAILED, CANCELLING, CANCELLED, and QUEUED again after a failed attempt,
// with its error), a sub-task when it ends (COMPLETED, FAILED, CANCELLED).
// Notifications are at least once: a redelivered step re-publishes the
// final one; Version orders them.
type Notification struct {
	Action     string `json:"action"` // ActionTaskStatus or ActionSubTaskStatus
	Table      string `json:"table"`
	PK         string `json:"pk"`
	SK         string `json:"sk"`
	ID         string `json:"id"`
	TenantCode string `json:"tenantCode"`
	Version    int64  `json:"version"`
	Status     Status `json:"status"`
	Error      string `json:"error,omitempty"`
}

// publish sends one notification; without a topic it does nothing.
func (s *Service) publish(ctx context.Context, n Notification) error {
	if s.topic == nil {
		return nil
	}
	n.Table = s.table
	n.ID = n.PK + "#" + n.SK
	b, err := json.Marshal(n)
	if err != nil {
		return err
	}
	if _, err := s.topic.Publish(ctx, s.cfg.NotificationTopic(), string(b), map[string]string{"action": n.Action}); err != nil {
		return fmt.Errorf("task: notify %s %s: %w", n.SK, n.Status, err)
	}
	return nil
}

// notifyTask publishes the status of a single task or parent.
func (s *Service) notifyTask(ctx context.Context, r *row) error {
	return s.publish(ctx, Notification{Action: ActionTaskStatus, PK: r.PK, SK: r.SK, TenantCode: r.TenantCode,
		Version: r.Version, Status: r.Status, Error: r.Error})
}

// notifySubTask publishes the final status of a sub-task.
func (s *Service) notifySubTask(ctx context.Context, r *row) error {
	return s.publish(ctx, Notification{Action: ActionSubTaskStatus, PK: r.PK, SK: r.SK, TenantCode: r.TenantCode,
		Version: r.Version, Status: r.Status, Error: r.Error})
}
