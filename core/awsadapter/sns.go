package awsadapter

import (
	"context"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/stepcqrs/stepcqrs/core"
)

// SNSAPI is the part of *sns.Client that Topic calls.
type SNSAPI interface {
	ListTopics(ctx context.Context, in *sns.ListTopicsInput, optFns ...func(*sns.Options)) (*sns.ListTopicsOutput, error)
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// Topic is core.Topic on Amazon SNS.
//
// Topic names are resolved to ARNs by listing the account's topics
// (ListTopics, every page) and caching the result; a name not in the cache
// triggers one new listing, and a cached ARN whose topic is gone is dropped
// on the first NotFound. Listing needs no account id (building the ARN from
// region and account would need an STS call and breaks on endpoints with
// another account id) and never creates a topic as CreateTopic would. A
// name that is already an ARN ("arn:…") is used as is.
type Topic struct {
	client SNSAPI
	arns   sync.Map // name -> ARN
	mu     sync.Mutex
}

var _ core.Topic = (*Topic)(nil)

// NewTopic returns a Topic that calls client, typically an *sns.Client.
func NewTopic(client SNSAPI) *Topic { return &Topic{client: client} }

// ARN returns the ARN of the topic named name.
func (t *Topic) ARN(ctx context.Context, name string) (string, error) {
	if strings.HasPrefix(name, "arn:") {
		return name, nil
	}
	if a, ok := t.arns.Load(name); ok {
		return a.(string), nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if a, ok := t.arns.Load(name); ok {
		return a.(string), nil
	}
	p := sns.NewListTopicsPaginator(t.client, &sns.ListTopicsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return "", transient("sns", err)
		}
		for _, tp := range out.Topics {
			arn := aws.ToString(tp.TopicArn)
			if i := strings.LastIndexByte(arn, ':'); i >= 0 {
				t.arns.Store(arn[i+1:], arn)
			}
		}
	}
	if a, ok := t.arns.Load(name); ok {
		return a.(string), nil
	}
	return "", &core.NotFoundError{Kind: "topic", Name: name}
}

// Publish implements core.Topic. Attributes are sent as String message
// attributes.
func (t *Topic) Publish(ctx context.Context, topic, message string, attributes map[string]string) (string, error) {
	arn, err := t.ARN(ctx, topic)
	if err != nil {
		return "", err
	}
	in := &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String(message)}
	if len(attributes) > 0 {
		in.MessageAttributes = make(map[string]types.MessageAttributeValue, len(attributes))
		for k, v := range attributes {
			in.MessageAttributes[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
		}
	}
	out, err := t.client.Publish(ctx, in)
	if err != nil {
		if apiCode(err) == "NotFound" || apiCode(err) == "NotFoundException" {
			t.arns.Delete(topic)
			return "", notFound("topic", topic, err)
		}
		return "", transient("sns", err)
	}
	return aws.ToString(out.MessageId), nil
}
