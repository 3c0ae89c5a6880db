package core

import (
	"context"
	"time"
)

// Message is a queue message as received.
type Message struct {
	ID            string
	Body          string
	Attributes    map[string]string
	ReceiptHandle string
	// ReceiveCount is how many times the message has been received,
	// this time included.
	ReceiveCount int
}

// OutgoingMessage is a message to send.
type OutgoingMessage struct {
	Body       string
	Attributes map[string]string
	Delay      time.Duration
	// GroupID and DeduplicationID apply to FIFO queues only.
	GroupID, DeduplicationID string
}

// Queue is the port to an SQS-like queue service. Queues are named by their
// name (not URL); adapters resolve names.
//
// Implementations are safe for concurrent use and honour ctx cancellation.
// An unknown queue gives an error matching ErrNotFound.
type Queue interface {
	// Send enqueues msgs (at most 10) and returns their ids in order.
	Send(ctx context.Context, queue string, msgs ...OutgoingMessage) ([]string, error)
	// Receive takes up to max messages (1..10), waiting up to wait for the
	// first one. Received messages are invisible for the queue's visibility
	// timeout unless deleted.
	Receive(ctx context.Context, queue string, max int, wait time.Duration) ([]Message, error)
	// Delete acknowledges a received message.
	Delete(ctx context.Context, queue, receiptHandle string) error
}

// Topic is the port to an SNS-like notification service. Topics are named by
// their name (not ARN); adapters resolve names.
//
// Implementations are safe for concurrent use and honour ctx cancellation.
// An unknown topic gives an error matching ErrNotFound.
type Topic interface {
	// Publish sends message to every subscriber of topic and returns its id.
	Publish(ctx context.Context, topic, message string, attributes map[string]string) (string, error)
}
