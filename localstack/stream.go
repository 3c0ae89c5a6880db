package localstack

import (
	"context"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// ReadStream reads every record currently in the stream of table (all
// shards, from the trim horizon) and returns them as the records a Lambda
// stream event would carry, in shard order and, within a shard, in sequence
// order. It returns an error when the table has no stream.
func ReadStream(ctx context.Context, cfg aws.Config, table string) ([]events.DynamoDBEventRecord, error) {
	desc, err := dynamodb.NewFromConfig(cfg).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		return nil, fmt.Errorf("localstack: describing table %s: %w", table, err)
	}
	arn := aws.ToString(desc.Table.LatestStreamArn)
	if arn == "" {
		return nil, fmt.Errorf("localstack: table %s has no stream", table)
	}
	return ReadStreamARN(ctx, dynamodbstreams.NewFromConfig(cfg), arn, cfg.Region)
}

// ReadStreamARN is ReadStream on a stream ARN with an explicit client;
// region fills the records' awsRegion.
func ReadStreamARN(ctx context.Context, c *dynamodbstreams.Client, streamARN, region string) ([]events.DynamoDBEventRecord, error) {
	var shards []types.Shard
	var start *string
	for {
		out, err := c.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(streamARN), ExclusiveStartShardId: start})
		if err != nil {
			return nil, fmt.Errorf("localstack: describing stream %s: %w", streamARN, err)
		}
		shards = append(shards, out.StreamDescription.Shards...)
		start = out.StreamDescription.LastEvaluatedShardId
		if start == nil {
			break
		}
	}
	var recs []events.DynamoDBEventRecord
	for _, sh := range shards {
		it, err := c.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
			StreamArn:         aws.String(streamARN),
			ShardId:           sh.ShardId,
			ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			return nil, fmt.Errorf("localstack: shard iterator of %s: %w", aws.ToString(sh.ShardId), err)
		}
		iter := it.ShardIterator
		// An open shard always hands out a next iterator; stop at the first
		// empty read, which means the shard holds nothing more for now.
		for iter != nil {
			out, err := c.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				return nil, fmt.Errorf("localstack: reading shard %s: %w", aws.ToString(sh.ShardId), err)
			}
			for _, r := range out.Records {
				recs = append(recs, EventRecord(r, streamARN, region))
			}
			if len(out.Records) == 0 {
				break
			}
			iter = out.NextShardIterator
		}
	}
	return recs, nil
}

// EventRecord converts a record of the DynamoDB Streams API into the record
// of a Lambda DynamoDB stream event.
func EventRecord(r types.Record, streamARN, region string) events.DynamoDBEventRecord {
	ev := events.DynamoDBEventRecord{
		AWSRegion:      aws.ToString(r.AwsRegion),
		EventID:        aws.ToString(r.EventID),
		EventName:      string(r.EventName),
		EventSource:    aws.ToString(r.EventSource),
		EventVersion:   aws.ToString(r.EventVersion),
		EventSourceArn: streamARN,
	}
	if ev.AWSRegion == "" {
		ev.AWSRegion = region
	}
	if ev.EventSource == "" {
		ev.EventSource = "aws:dynamodb"
	}
	if r.UserIdentity != nil {
		ev.UserIdentity = &events.DynamoDBUserIdentity{Type: aws.ToString(r.UserIdentity.Type), PrincipalID: aws.ToString(r.UserIdentity.PrincipalId)}
	}
	if d := r.Dynamodb; d != nil {
		ev.Change = events.DynamoDBStreamRecord{
			Keys:           EventAttributes(d.Keys),
			NewImage:       EventAttributes(d.NewImage),
			OldImage:       EventAttributes(d.OldImage),
			SequenceNumber: aws.ToString(d.SequenceNumber),
			SizeBytes:      aws.ToInt64(d.SizeBytes),
			StreamViewType: string(d.StreamViewType),
		}
		if d.ApproximateCreationDateTime != nil {
			ev.Change.ApproximateCreationDateTime = events.SecondsEpochTime{Time: *d.ApproximateCreationDateTime}
		}
	}
	return ev
}

// EventAttributes converts a Streams API item into the attribute map of a
// Lambda stream event; nil stays nil.
func EventAttributes(m map[string]types.AttributeValue) map[string]events.DynamoDBAttributeValue {
	if m == nil {
		return nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(m))
	for k, v := range m {
		out[k] = EventAttribute(v)
	}
	return out
}

// EventAttribute converts one Streams API attribute value.
func EventAttribute(v types.AttributeValue) events.DynamoDBAttributeValue {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return events.NewStringAttribute(v.Value)
	case *types.AttributeValueMemberN:
		return events.NewNumberAttribute(v.Value)
	case *types.AttributeValueMemberB:
		return events.NewBinaryAttribute(v.Value)
	case *types.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(v.Value)
	case *types.AttributeValueMemberNULL:
		return events.NewNullAttribute()
	case *types.AttributeValueMemberSS:
		return events.NewStringSetAttribute(v.Value)
	case *types.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(v.Value)
	case *types.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(v.Value)
	case *types.AttributeValueMemberL:
		l := make([]events.DynamoDBAttributeValue, len(v.Value))
		for i, e := range v.Value {
			l[i] = EventAttribute(e)
		}
		return events.NewListAttribute(l)
	case *types.AttributeValueMemberM:
		return events.NewMapAttribute(EventAttributes(v.Value))
	}
	return events.NewNullAttribute()
}
