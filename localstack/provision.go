// Package localstack provisions the resources of a stepcqrs service on an
// AWS-compatible endpoint — LocalStack, moto or AWS itself — from Go:
// DynamoDB tables with streams and TTL, SQS queues with dead-letter queues,
// SNS topics with queue subscriptions, S3 buckets and Step Functions state
// machines. Provision is idempotent: running it again converges the
// resources to the spec and changes nothing that already matches.
//
// ReadStream reads a table's DynamoDB stream back as aws-lambda-go events,
// for integration tests of stream handlers.
//
// The endpoint comes from the aws.Config; aws-sdk-go-v2 honours
// AWS_ENDPOINT_URL. See README.md for the LocalStack path and package
// endpointtest for tests.
package localstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/stepcqrs/stepcqrs/core"
)

// StreamView is what a table's stream records carry.
type StreamView string

// Stream views. StreamNone provisions the table without a stream.
const (
	StreamNone           StreamView = ""
	StreamNewImage       StreamView = "NEW_IMAGE"
	StreamNewAndOldImage StreamView = "NEW_AND_OLD_IMAGES"
)

// TTLAttribute is the attribute DynamoDB reads expiry times from.
const TTLAttribute = "ttl"

// DefaultRoleARN is the execution role of state machines whose spec names
// none; endpoints such as LocalStack and moto accept any role.
const DefaultRoleARN = "arn:aws:iam::000000000000:role/stepcqrs-local"

// TableSpec is one DynamoDB table with string keys pk (hash) and sk (range),
// billed per request.
type TableSpec struct {
	Name string
	// Stream is the stream view; StreamNone for no stream.
	Stream StreamView
	// TTL enables time to live on attribute TTLAttribute.
	TTL bool
	// Indexes are global secondary indexes with string keys and a
	// KEYS_ONLY projection (e.g. command.UnsettledIndex). An existing
	// table gets the ones it lacks.
	Indexes []core.Index
}

// QueueSpec is one SQS queue, optionally with a dead-letter queue.
type QueueSpec struct {
	Name string
	// DLQ names the dead-letter queue, created too; "" for none.
	DLQ string
	// MaxReceiveCount is how many receives move a message to the DLQ;
	// 0 means 5.
	MaxReceiveCount int
	// VisibilityTimeout of the queue; 0 keeps the endpoint's default (30s).
	VisibilityTimeout time.Duration
}

// TopicSpec is one SNS topic and the queues subscribed to it.
type TopicSpec struct {
	Name string
	// Queues are names of queues (in Spec.Queues or existing) that receive
	// the topic's messages.
	Queues []string
	// RawDelivery delivers messages to the queues without the SNS envelope.
	RawDelivery bool
}

// StateMachineSpec is one Step Functions state machine.
type StateMachineSpec struct {
	Name string
	// Definition is the Amazon States Language JSON.
	Definition string
	// RoleARN is the execution role; "" means DefaultRoleARN.
	RoleARN string
	// Express selects the EXPRESS type instead of STANDARD.
	Express bool
}

// Spec is everything Provision creates.
type Spec struct {
	Tables        []TableSpec
	Queues        []QueueSpec
	Topics        []TopicSpec
	Buckets       []string
	StateMachines []StateMachineSpec
}

// Resources names what Provision created or found, by spec name.
type Resources struct {
	TableStreamARNs  map[string]string // table -> latest stream ARN ("" without stream)
	QueueURLs        map[string]string // queue (DLQs included) -> URL
	QueueARNs        map[string]string // queue (DLQs included) -> ARN
	TopicARNs        map[string]string
	StateMachineARNs map[string]string
}

// Clients are the SDK clients Provision uses.
type Clients struct {
	DynamoDB *dynamodb.Client
	SQS      *sqs.Client
	SNS      *sns.Client
	S3       *s3.Client
	SFN      *sfn.Client
}

// NewClients builds the clients of cfg; S3 uses path-style addressing when
// cfg has a custom endpoint (LocalStack, moto).
func NewClients(cfg aws.Config) Clients {
	pathStyle := cfg.BaseEndpoint != nil
	return Clients{
		DynamoDB: dynamodb.NewFromConfig(cfg),
		SQS:      sqs.NewFromConfig(cfg),
		SNS:      sns.NewFromConfig(cfg),
		S3:       s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = o.UsePathStyle || pathStyle }),
		SFN:      sfn.NewFromConfig(cfg),
	}
}

// TableWait bounds how long Provision waits for a table to become ACTIVE.
var TableWait = 2 * time.Minute

// Provision creates what spec describes on the endpoint of cfg, or brings
// existing resources in line with it, and waits until every table is ACTIVE.
// It is idempotent. Queues are created before topics so that subscriptions
// find them.
func Provision(ctx context.Context, cfg aws.Config, spec Spec) (Resources, error) {
	return ProvisionWith(ctx, NewClients(cfg), spec)
}

// ProvisionWith is Provision with explicit clients.
func ProvisionWith(ctx context.Context, c Clients, spec Spec) (Resources, error) {
	res := Resources{
		TableStreamARNs:  map[string]string{},
		QueueURLs:        map[string]string{},
		QueueARNs:        map[string]string{},
		TopicARNs:        map[string]string{},
		StateMachineARNs: map[string]string{},
	}
	for _, t := range spec.Tables {
		arn, err := EnsureTable(ctx, c.DynamoDB, t)
		if err != nil {
			return res, fmt.Errorf("localstack: table %s: %w", t.Name, err)
		}
		res.TableStreamARNs[t.Name] = arn
	}
	for _, b := range spec.Buckets {
		if err := ensureBucket(ctx, c.S3, b); err != nil {
			return res, fmt.Errorf("localstack: bucket %s: %w", b, err)
		}
	}
	for _, q := range spec.Queues {
		if err := ensureQueue(ctx, c.SQS, q, res); err != nil {
			return res, fmt.Errorf("localstack: queue %s: %w", q.Name, err)
		}
	}
	for _, tp := range spec.Topics {
		if err := ensureTopic(ctx, c.SNS, c.SQS, tp, res); err != nil {
			return res, fmt.Errorf("localstack: topic %s: %w", tp.Name, err)
		}
	}
	for _, sm := range spec.StateMachines {
		arn, err := ensureStateMachine(ctx, c.SFN, sm)
		if err != nil {
			return res, fmt.Errorf("localstack: state machine %s: %w", sm.Name, err)
		}
		res.StateMachineARNs[sm.Name] = arn
	}
	return res, nil
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// EnsureTable creates table t (or updates its stream and TTL settings when
// it exists), waits until it is ACTIVE and returns its latest stream ARN.
func EnsureTable(ctx context.Context, db *dynamodb.Client, t TableSpec) (string, error) {
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(t.Name),
		BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
		},
		KeySchema: []ddbtypes.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: ddbtypes.KeyTypeRange},
		},
	}
	if t.Stream != StreamNone {
		in.StreamSpecification = &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewType(t.Stream)}
	}
	for _, ix := range t.Indexes {
		in.AttributeDefinitions = addAttrDefs(in.AttributeDefinitions, ix)
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, gsi(ix))
	}
	_, err := db.CreateTable(ctx, in)
	if err != nil && code(err) != "ResourceInUseException" {
		return "", err
	}
	existed := err != nil
	if err := dynamodb.NewTableExistsWaiter(db).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.Name)}, TableWait); err != nil {
		return "", err
	}
	desc, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.Name)})
	if err != nil {
		return "", err
	}
	if existed {
		if err := alignStream(ctx, db, t, desc.Table); err != nil {
			return "", err
		}
		if err := addIndexes(ctx, db, t, desc.Table); err != nil {
			return "", err
		}
		if desc, err = db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.Name)}); err != nil {
			return "", err
		}
	}
	if t.TTL {
		ttl, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(t.Name)})
		if err != nil {
			return "", err
		}
		d := ttl.TimeToLiveDescription
		if d == nil || d.TimeToLiveStatus != ddbtypes.TimeToLiveStatusEnabled || aws.ToString(d.AttributeName) != TTLAttribute {
			_, err = db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
				TableName:               aws.String(t.Name),
				TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String(TTLAttribute), Enabled: aws.Bool(true)},
			})
			if err != nil {
				return "", fmt.Errorf("enabling TTL: %w", err)
			}
		}
	}
	if t.Stream == StreamNone {
		return "", nil
	}
	return aws.ToString(desc.Table.LatestStreamArn), nil
}

// gsi is the definition of a KEYS_ONLY global secondary index.
func gsi(ix core.Index) ddbtypes.GlobalSecondaryIndex {
	return ddbtypes.GlobalSecondaryIndex{
		IndexName: aws.String(ix.Name),
		KeySchema: []ddbtypes.KeySchemaElement{
			{AttributeName: aws.String(ix.PK), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: aws.String(ix.SK), KeyType: ddbtypes.KeyTypeRange},
		},
		Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeKeysOnly},
	}
}

// addAttrDefs adds the string attribute definitions of ix's keys to defs.
func addAttrDefs(defs []ddbtypes.AttributeDefinition, ix core.Index) []ddbtypes.AttributeDefinition {
	for _, name := range []string{ix.PK, ix.SK} {
		found := false
		for _, d := range defs {
			found = found || aws.ToString(d.AttributeName) == name
		}
		if !found {
			defs = append(defs, ddbtypes.AttributeDefinition{AttributeName: aws.String(name), AttributeType: ddbtypes.ScalarAttributeTypeS})
		}
	}
	return defs
}

// addIndexes creates the indexes of t that the existing table d lacks, one
// at a time (DynamoDB creates one per UpdateTable), and waits until each
// is ACTIVE.
func addIndexes(ctx context.Context, db *dynamodb.Client, t TableSpec, d *ddbtypes.TableDescription) error {
	have := map[string]bool{}
	for _, g := range d.GlobalSecondaryIndexes {
		have[aws.ToString(g.IndexName)] = true
	}
	for _, ix := range t.Indexes {
		if have[ix.Name] {
			continue
		}
		g := gsi(ix)
		_, err := db.UpdateTable(ctx, &dynamodb.UpdateTableInput{
			TableName:            aws.String(t.Name),
			AttributeDefinitions: addAttrDefs(nil, ix),
			GlobalSecondaryIndexUpdates: []ddbtypes.GlobalSecondaryIndexUpdate{{Create: &ddbtypes.CreateGlobalSecondaryIndexAction{
				IndexName: g.IndexName, KeySchema: g.KeySchema, Projection: g.Projection,
			}}},
		})
		if err != nil {
			return fmt.Errorf("adding index %s to %s: %w", ix.Name, t.Name, err)
		}
		deadline := time.Now().Add(TableWait)
		for {
			out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.Name)})
			if err != nil {
				return err
			}
			active := false
			for _, g := range out.Table.GlobalSecondaryIndexes {
				active = active || (aws.ToString(g.IndexName) == ix.Name && g.IndexStatus == ddbtypes.IndexStatusActive)
			}
			if active {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("index %s of %s not active after %s", ix.Name, t.Name, TableWait)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

// alignStream turns the stream of an existing table on, off or to another
// view to match t.
func alignStream(ctx context.Context, db *dynamodb.Client, t TableSpec, d *ddbtypes.TableDescription) error {
	cur := StreamNone
	if s := d.StreamSpecification; s != nil && aws.ToBool(s.StreamEnabled) {
		cur = StreamView(s.StreamViewType)
	}
	if cur == t.Stream {
		return nil
	}
	update := func(spec *ddbtypes.StreamSpecification) error {
		if _, err := db.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String(t.Name), StreamSpecification: spec}); err != nil {
			return fmt.Errorf("updating stream: %w", err)
		}
		return dynamodb.NewTableExistsWaiter(db).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.Name)}, TableWait)
	}
	if cur != StreamNone {
		if err := update(&ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(false)}); err != nil {
			return err
		}
	}
	if t.Stream != StreamNone {
		return update(&ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewType(t.Stream)})
	}
	return nil
}

func ensureBucket(ctx context.Context, c *s3.Client, name string) error {
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
	switch code(err) {
	case "", "BucketAlreadyOwnedByYou":
		return nil
	}
	var owned *s3types.BucketAlreadyOwnedByYou
	if errors.As(err, &owned) {
		return nil
	}
	return err
}

// queue returns the URL and ARN of queue name, creating it with attrs or
// setting attrs on it when it exists.
func queue(ctx context.Context, c *sqs.Client, name string, attrs map[string]string) (url, arn string, err error) {
	got, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	switch {
	case err == nil:
		url = aws.ToString(got.QueueUrl)
		if len(attrs) > 0 {
			if _, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: attrs}); err != nil {
				return "", "", err
			}
		}
	case code(err) == "QueueDoesNotExist" || code(err) == "AWS.SimpleQueueService.NonExistentQueue":
		in := &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs}
		if strings.HasSuffix(name, ".fifo") {
			if in.Attributes == nil {
				in.Attributes = map[string]string{}
			}
			in.Attributes[string(sqstypes.QueueAttributeNameFifoQueue)] = "true"
		}
		out, err := c.CreateQueue(ctx, in)
		if err != nil {
			return "", "", err
		}
		url = aws.ToString(out.QueueUrl)
	default:
		return "", "", err
	}
	a, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", "", err
	}
	return url, a.Attributes[string(sqstypes.QueueAttributeNameQueueArn)], nil
}

func ensureQueue(ctx context.Context, c *sqs.Client, q QueueSpec, res Resources) error {
	attrs := map[string]string{}
	if q.VisibilityTimeout > 0 {
		attrs[string(sqstypes.QueueAttributeNameVisibilityTimeout)] = strconv.Itoa(int(q.VisibilityTimeout / time.Second))
	}
	if q.DLQ != "" {
		url, arn, err := queue(ctx, c, q.DLQ, nil)
		if err != nil {
			return fmt.Errorf("dead-letter queue %s: %w", q.DLQ, err)
		}
		res.QueueURLs[q.DLQ], res.QueueARNs[q.DLQ] = url, arn
		max := q.MaxReceiveCount
		if max <= 0 {
			max = 5
		}
		policy, _ := json.Marshal(map[string]string{"deadLetterTargetArn": arn, "maxReceiveCount": strconv.Itoa(max)})
		attrs[string(sqstypes.QueueAttributeNameRedrivePolicy)] = string(policy)
	}
	url, arn, err := queue(ctx, c, q.Name, attrs)
	if err != nil {
		return err
	}
	res.QueueURLs[q.Name], res.QueueARNs[q.Name] = url, arn
	return nil
}

func ensureTopic(ctx context.Context, c *sns.Client, q *sqs.Client, tp TopicSpec, res Resources) error {
	out, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(tp.Name)})
	if err != nil {
		return err
	}
	arn := aws.ToString(out.TopicArn)
	res.TopicARNs[tp.Name] = arn
	for _, qn := range tp.Queues {
		qarn, ok := res.QueueARNs[qn]
		if !ok {
			var err error
			if _, qarn, err = queue(ctx, q, qn, nil); err != nil {
				return fmt.Errorf("queue %s: %w", qn, err)
			}
		}
		in := &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("sqs"), Endpoint: aws.String(qarn), ReturnSubscriptionArn: true}
		if tp.RawDelivery {
			in.Attributes = map[string]string{"RawMessageDelivery": "true"}
		}
		if _, err := c.Subscribe(ctx, in); err != nil {
			return fmt.Errorf("subscribing queue %s: %w", qn, err)
		}
	}
	return nil
}

func ensureStateMachine(ctx context.Context, c *sfn.Client, sm StateMachineSpec) (string, error) {
	role := sm.RoleARN
	if role == "" {
		role = DefaultRoleARN
	}
	typ := sfntypes.StateMachineTypeStandard
	if sm.Express {
		typ = sfntypes.StateMachineTypeExpress
	}
	// Look the machine up first: CreateStateMachine is only idempotent for an
	// identical definition and role.
	p := sfn.NewListStateMachinesPaginator(c, &sfn.ListStateMachinesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", err
		}
		for _, it := range page.StateMachines {
			if aws.ToString(it.Name) != sm.Name {
				continue
			}
			arn := aws.ToString(it.StateMachineArn)
			if _, err := c.UpdateStateMachine(ctx, &sfn.UpdateStateMachineInput{
				StateMachineArn: aws.String(arn), Definition: aws.String(sm.Definition), RoleArn: aws.String(role),
			}); err != nil {
				return "", fmt.Errorf("updating: %w", err)
			}
			return arn, nil
		}
	}
	out, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name: aws.String(sm.Name), Definition: aws.String(sm.Definition), RoleArn: aws.String(role), Type: typ,
	})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.StateMachineArn), nil
}
