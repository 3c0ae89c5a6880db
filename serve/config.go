package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/awsadapter"
	"github.com/stepcqrs/stepcqrs/core/memory"
	"github.com/stepcqrs/stepcqrs/serve/integrations"
	"github.com/stepcqrs/stepcqrs/task"
)

// DefaultListen is the address `stepcqrs serve` listens on by default.
const DefaultListen = "127.0.0.1:8083"

// Config is what `stepcqrs serve` runs, as a JSON file: the state
// machines, the functions they and the mappings invoke, the event source
// mappings, and where the integrations' resources live.
type Config struct {
	// Listen is the loopback address of the Step Functions API (default
	// DefaultListen).
	Listen string `json:"listen,omitempty"`
	// Region and AccountID build ARNs (default us-east-1, 123456789012).
	Region    string `json:"region,omitempty"`
	AccountID string `json:"accountId,omitempty"`
	// Endpoint is the AWS-compatible endpoint (moto, LocalStack, AWS) of
	// the DynamoDB tables, SQS queues, SNS topics and S3 buckets that the
	// integrations use and the mappings read. Empty keeps them in memory
	// (Tables, Queues, Topics and Buckets are then created).
	Endpoint string `json:"endpoint,omitempty"`
	// StateMachines are created at start.
	StateMachines []StateMachineConfig `json:"stateMachines,omitempty"`
	// Functions are the Lambda functions.
	Functions []FunctionConfig `json:"functions,omitempty"`
	// Mappings are the event source mappings.
	Mappings []Mapping `json:"mappings,omitempty"`
	// Tables (with a NEW_IMAGE stream), Queues, Topics and Buckets are
	// created in memory when Endpoint is empty.
	Tables  []string `json:"tables,omitempty"`
	Queues  []string `json:"queues,omitempty"`
	Topics  []string `json:"topics,omitempty"`
	Buckets []string `json:"buckets,omitempty"`
}

// StateMachineConfig is one state machine of a Config.
type StateMachineConfig struct {
	Name string `json:"name"`
	// Type is STANDARD (default) or EXPRESS.
	Type    string `json:"type,omitempty"`
	RoleArn string `json:"roleArn,omitempty"`
	// Definition is the ASL, as a JSON object or a string holding one;
	// DefinitionFile reads it from a file (relative to the config file).
	Definition     json.RawMessage `json:"definition,omitempty"`
	DefinitionFile string          `json:"definitionFile,omitempty"`
}

// FunctionConfig is one Lambda function of a Config, reached through a
// Lambda Invoke endpoint.
type FunctionConfig struct {
	// Name is the name state machines and mappings use.
	Name string `json:"name"`
	// URL is the Invoke endpoint: the Runtime Interface Emulator
	// (http://127.0.0.1:9000), LocalStack or AWS.
	URL string `json:"url"`
	// RemoteName is the function's name on that endpoint (default Name;
	// the emulator's one function is named "function").
	RemoteName string `json:"remoteName,omitempty"`
	// Concurrency bounds invocations in flight (0: unbounded). The
	// emulator serves one at a time: give it 1.
	Concurrency int `json:"concurrency,omitempty"`
	// Signed signs requests with SigV4 with the environment's
	// credentials (LocalStack, AWS); the emulator needs no signature.
	Signed bool `json:"signed,omitempty"`
}

// LoadConfig reads a Config from a JSON file; definitionFile paths are
// resolved against the file's directory.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	var c Config
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("serve: %s: %w", path, err)
	}
	for i, sm := range c.StateMachines {
		if sm.DefinitionFile != "" && !filepath.IsAbs(sm.DefinitionFile) {
			c.StateMachines[i].DefinitionFile = filepath.Join(filepath.Dir(path), sm.DefinitionFile)
		}
	}
	return c, nil
}

// definition returns the state machine's ASL text.
func (sm StateMachineConfig) definition() (string, error) {
	if sm.DefinitionFile != "" {
		b, err := os.ReadFile(sm.DefinitionFile)
		return string(b), err
	}
	var s string
	if json.Unmarshal(sm.Definition, &s) == nil {
		return s, nil
	}
	if len(sm.Definition) == 0 {
		return "", fmt.Errorf("serve: state machine %s has no definition", sm.Name)
	}
	return string(sm.Definition), nil
}

// Running is a started Config.
type Running struct {
	// Server serves the API; URL is its endpoint.
	Server *Server
	URL    string
	// Functions are the functions, Mappings the running mappings.
	Functions *Functions
	Mappings  *Mappings
	// StateMachineARNs are the ARNs of the configured state machines, by
	// name.
	StateMachineARNs map[string]string
	// Store is the in-memory store when Config.Endpoint is empty.
	Store *memory.Store
}

// Close stops the mappings and the server.
func (r *Running) Close() error {
	var errs []error
	if r.Mappings != nil {
		errs = append(errs, r.Mappings.Close())
	}
	errs = append(errs, r.Server.Close())
	return errors.Join(errs...)
}

// EndpointConfig returns the AWS configuration of an endpoint URL:
// credentials and region from the environment, test/test and region when
// the environment has none.
func EndpointConfig(ctx context.Context, endpoint, region string) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{config.WithBaseEndpoint(endpoint)}
	if os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
		opts = append(opts, config.WithRegion(region))
	}
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" && os.Getenv("AWS_PROFILE") == "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
	}
	return config.LoadDefaultConfig(ctx, opts...)
}

// Start builds and starts what c describes: the backends (in memory or on
// c.Endpoint), the server on c.Listen, the functions, the state machines
// and the mappings.
func Start(ctx context.Context, c Config, log *slog.Logger) (*Running, error) {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.AccountID == "" {
		c.AccountID = "123456789012"
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	fns := NewFunctions(c.Region, c.AccountID)
	run := &Running{Functions: fns, StateMachineARNs: map[string]string{}}
	var b integrations.Backends
	mo := MappingOptions{Lambda: fns, Region: c.Region, Logger: log}
	if c.Endpoint != "" {
		cfg, err := EndpointConfig(ctx, c.Endpoint, c.Region)
		if err != nil {
			return nil, err
		}
		b.Items = awsadapter.NewItemStore(dynamodb.NewFromConfig(cfg))
		q := awsadapter.NewQueue(sqs.NewFromConfig(cfg))
		b.Queues, mo.Queues = q, q
		b.Topics = awsadapter.NewTopic(sns.NewFromConfig(cfg))
		b.Objects = awsadapter.NewObjectStore(awsadapter.NewS3Client(cfg, true))
		mo.Streams = NewStreamReader(cfg)
	} else {
		store := memory.NewStore()
		for _, t := range c.Tables {
			if err := store.CreateTable(t, memory.WithStream(memory.StreamNewImage)); err != nil {
				return nil, err
			}
		}
		queues := memory.NewQueues()
		for _, q := range c.Queues {
			if err := queues.CreateQueue(q, memory.QueueConfig{}); err != nil {
				return nil, err
			}
		}
		topics := memory.NewTopics()
		for _, tp := range c.Topics {
			if err := topics.CreateTopic(tp); err != nil {
				return nil, err
			}
		}
		objects := memory.NewObjects()
		for _, bk := range c.Buckets {
			if err := objects.CreateBucket(bk); err != nil {
				return nil, err
			}
		}
		b.Items, b.Queues, b.Topics, b.Objects = store, queues, topics, objects
		mo.Queues, mo.Streams = queues, NewMemoryStreams(store)
		run.Store = store
	}
	b.Events = &integrations.EventRecorder{}
	srv := New(Options{Region: c.Region, AccountID: c.AccountID, Lambda: fns, Backends: b, Logger: log})
	run.Server = srv
	for _, f := range c.Functions {
		hf := &HTTPFunction{Endpoint: f.URL, Name: f.RemoteName, Region: c.Region}
		if hf.Name == "" {
			hf.Name = f.Name
		}
		if f.Signed {
			cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(c.Region))
			if err != nil {
				return nil, err
			}
			hf.Credentials = cfg.Credentials
		}
		fns.Add(f.Name, hf, f.Concurrency)
	}
	for _, sm := range c.StateMachines {
		def, err := sm.definition()
		if err != nil {
			return nil, err
		}
		arn, err := srv.CreateStateMachine(StateMachine{Name: sm.Name, Definition: def, Type: sm.Type, RoleARN: sm.RoleArn})
		if err != nil {
			return nil, fmt.Errorf("serve: state machine %s: %w", sm.Name, err)
		}
		run.StateMachineARNs[sm.Name] = arn
	}
	url, err := srv.Start(c.Listen)
	if err != nil {
		return nil, err
	}
	run.URL = url
	if len(c.Mappings) > 0 {
		ms, err := StartMappings(ctx, mo, c.Mappings...)
		if err != nil {
			_ = srv.Close()
			return nil, err
		}
		run.Mappings = ms
	}
	return run, nil
}

// ExampleFunctionName is the function name of the orders example.
const ExampleFunctionName = "orders"

// ExampleConfig is the Config of the orders example (examples/orders) for
// the service configuration svc: its command and task state machines, the
// function "orders" at functionURL (the Runtime Interface Emulator running
// the bootstrap: remote name "function", one invocation at a time), and
// the mappings of the command table's stream and of the task queue, with
// partial batch failures. Its resources live on endpoint (empty: in
// memory, created).
func ExampleConfig(svc core.Config, endpoint, functionURL string) (Config, error) {
	if err := svc.Validate(); err != nil {
		return Config{}, err
	}
	fnARN := "arn:aws:lambda:us-east-1:123456789012:function:" + ExampleFunctionName
	cmdDef, err := command.StateMachineJSON(command.StateMachineOptions{FunctionARN: fnARN})
	if err != nil {
		return Config{}, err
	}
	taskDef, err := task.StateMachineJSON(task.StateMachineOptions{FunctionARN: fnARN})
	if err != nil {
		return Config{}, err
	}
	c := Config{
		Endpoint: endpoint,
		StateMachines: []StateMachineConfig{
			{Name: svc.Prefix() + "command", Definition: json.RawMessage(cmdDef)},
			{Name: svc.Prefix() + "task", Definition: json.RawMessage(taskDef)},
		},
		Functions: []FunctionConfig{{Name: ExampleFunctionName, URL: functionURL, RemoteName: "function", Concurrency: 1}},
		Mappings: []Mapping{
			{
				FunctionName: ExampleFunctionName, EventSourceArn: "arn:aws:dynamodb:us-east-1:123456789012:table/" + svc.CommandTable("order"),
				BatchSize: 100, StartingPosition: "TRIM_HORIZON", FunctionResponseTypes: []string{reportBatchItemFailures},
				FilterCriteria: &FilterCriteria{Filters: []Filter{{Pattern: command.StreamFilterCriteria}}},
			},
			{
				FunctionName: ExampleFunctionName, EventSourceArn: "arn:aws:sqs:us-east-1:123456789012:" + svc.TaskQueue(),
				BatchSize: 10, FunctionResponseTypes: []string{reportBatchItemFailures},
			},
		},
	}
	if endpoint == "" {
		c.Tables = []string{svc.CommandTable("order"), svc.DataTable("order"), svc.HistoryTable("order"), svc.TasksTable(), svc.ImportTable()}
		c.Queues = []string{svc.TaskQueue(), svc.TaskDLQ(), svc.NotificationQueue(), svc.ImportQueue()}
		c.Topics = []string{svc.NotificationTopic(), svc.AlarmTopic()}
		c.Buckets = []string{svc.Bucket()}
	}
	return c, nil
}
