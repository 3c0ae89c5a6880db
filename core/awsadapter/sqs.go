package awsadapter

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stepcqrs/stepcqrs/core"
)

// SQSAPI is the part of *sqs.Client that Queue calls.
type SQSAPI interface {
	GetQueueUrl(ctx context.Context, in *sqs.GetQueueUrlInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
}

// Limits of SQS that the Queue port shares.
const (
	// MaxBatchMessages is the most messages one Send or Receive handles.
	MaxBatchMessages = 10
	// MaxReceiveWait is the longest long-poll SQS allows.
	MaxReceiveWait = 20 * time.Second
)

// Queue is core.Queue on Amazon SQS. Queue names are resolved to URLs with
// GetQueueUrl once and cached; a cached URL whose queue is gone is dropped
// on the first NotFound.
type Queue struct {
	client SQSAPI
	urls   sync.Map // name -> URL
}

var _ core.Queue = (*Queue)(nil)

// NewQueue returns a Queue that calls client, typically an *sqs.Client.
func NewQueue(client SQSAPI) *Queue { return &Queue{client: client} }

func isQueueMissing(err error) bool {
	switch apiCode(err) {
	case "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "NonExistentQueue":
		return true
	}
	return false
}

// URL returns the URL of the queue named name.
func (q *Queue) URL(ctx context.Context, name string) (string, error) {
	if u, ok := q.urls.Load(name); ok {
		return u.(string), nil
	}
	out, err := q.client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		if isQueueMissing(err) {
			return "", notFound("queue", name, err)
		}
		return "", transient("sqs", err)
	}
	u := aws.ToString(out.QueueUrl)
	q.urls.Store(name, u)
	return u, nil
}

// queueErr maps err of a call on queue name and forgets its URL when the
// queue is gone.
func (q *Queue) queueErr(name string, err error) error {
	if err != nil && isQueueMissing(err) {
		q.urls.Delete(name)
		return notFound("queue", name, err)
	}
	return transient("sqs", err)
}

func messageAttrs(attrs map[string]string) map[string]types.MessageAttributeValue {
	if len(attrs) == 0 {
		return nil
	}
	m := make(map[string]types.MessageAttributeValue, len(attrs))
	for k, v := range attrs {
		m[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	return m
}

// delaySeconds rounds d up to whole seconds; negative durations give 0.
func delaySeconds(d time.Duration) int32 {
	if d <= 0 {
		return 0
	}
	return int32((d + time.Second - 1) / time.Second)
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// Send implements core.Queue: one SendMessage for one message, one
// SendMessageBatch for more. A batch whose entries partly fail returns a
// *SendError listing them; the others are sent.
func (q *Queue) Send(ctx context.Context, queue string, msgs ...core.OutgoingMessage) ([]string, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	if len(msgs) > MaxBatchMessages {
		return nil, &core.ValidationError{Problems: []string{fmt.Sprintf("send of %d messages, at most %d allowed", len(msgs), MaxBatchMessages)}}
	}
	url, err := q.URL(ctx, queue)
	if err != nil {
		return nil, err
	}
	if len(msgs) == 1 {
		m := msgs[0]
		out, err := q.client.SendMessage(ctx, &sqs.SendMessageInput{
			QueueUrl:               aws.String(url),
			MessageBody:            aws.String(m.Body),
			MessageAttributes:      messageAttrs(m.Attributes),
			DelaySeconds:           delaySeconds(m.Delay),
			MessageGroupId:         optional(m.GroupID),
			MessageDeduplicationId: optional(m.DeduplicationID),
		})
		if err != nil {
			return nil, q.queueErr(queue, err)
		}
		return []string{aws.ToString(out.MessageId)}, nil
	}
	entries := make([]types.SendMessageBatchRequestEntry, len(msgs))
	for i, m := range msgs {
		entries[i] = types.SendMessageBatchRequestEntry{
			Id:                     aws.String(strconv.Itoa(i)),
			MessageBody:            aws.String(m.Body),
			MessageAttributes:      messageAttrs(m.Attributes),
			DelaySeconds:           delaySeconds(m.Delay),
			MessageGroupId:         optional(m.GroupID),
			MessageDeduplicationId: optional(m.DeduplicationID),
		}
	}
	out, err := q.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
	if err != nil {
		return nil, q.queueErr(queue, err)
	}
	ids := make([]string, len(msgs))
	for _, r := range out.Successful {
		if i, err := strconv.Atoi(aws.ToString(r.Id)); err == nil && i >= 0 && i < len(ids) {
			ids[i] = aws.ToString(r.MessageId)
		}
	}
	if len(out.Failed) > 0 {
		se := &SendError{Queue: queue}
		for _, f := range out.Failed {
			i, _ := strconv.Atoi(aws.ToString(f.Id))
			se.Failed = append(se.Failed, SendFailure{Index: i, Code: aws.ToString(f.Code), Message: aws.ToString(f.Message)})
		}
		return ids, se
	}
	return ids, nil
}

// SendFailure is one message of a batch that SQS did not accept.
type SendFailure struct {
	Index         int // position in the Send call
	Code, Message string
}

// SendError reports the messages of a Send batch that failed; the ids
// returned with it are empty for exactly those messages.
type SendError struct {
	Queue  string
	Failed []SendFailure
}

// Error lists the failed messages with their codes.
func (e *SendError) Error() string {
	parts := make([]string, len(e.Failed))
	for i, f := range e.Failed {
		parts[i] = fmt.Sprintf("message %d: %s %s", f.Index, f.Code, f.Message)
	}
	return "stepcqrs: send to queue " + e.Queue + " failed: " + strings.Join(parts, "; ")
}

// Receive implements core.Queue. wait is rounded up to whole seconds and
// capped at MaxReceiveWait.
func (q *Queue) Receive(ctx context.Context, queue string, max int, wait time.Duration) ([]core.Message, error) {
	if max < 1 || max > MaxBatchMessages {
		return nil, &core.ValidationError{Problems: []string{fmt.Sprintf("receive of %d messages, 1 to %d allowed", max, MaxBatchMessages)}}
	}
	url, err := q.URL(ctx, queue)
	if err != nil {
		return nil, err
	}
	out, err := q.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(url),
		MaxNumberOfMessages:         int32(max),
		WaitTimeSeconds:             delaySeconds(min(wait, MaxReceiveWait)),
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
	})
	if err != nil {
		return nil, q.queueErr(queue, err)
	}
	msgs := make([]core.Message, len(out.Messages))
	for i, m := range out.Messages {
		cm := core.Message{
			ID:            aws.ToString(m.MessageId),
			Body:          aws.ToString(m.Body),
			ReceiptHandle: aws.ToString(m.ReceiptHandle),
		}
		if n, err := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)]); err == nil {
			cm.ReceiveCount = n
		}
		if len(m.MessageAttributes) > 0 {
			cm.Attributes = make(map[string]string, len(m.MessageAttributes))
			for k, v := range m.MessageAttributes {
				cm.Attributes[k] = aws.ToString(v.StringValue)
			}
		}
		msgs[i] = cm
	}
	return msgs, nil
}

// Delete implements core.Queue.
func (q *Queue) Delete(ctx context.Context, queue, receiptHandle string) error {
	url, err := q.URL(ctx, queue)
	if err != nil {
		return err
	}
	_, err = q.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String(receiptHandle)})
	return q.queueErr(queue, err)
}
