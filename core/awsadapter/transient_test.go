package awsadapter_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/awsadapter"
	"github.com/stepcqrs/stepcqrs/eventfactory"
	"github.com/stepcqrs/stepcqrs/localstack"
	"github.com/stepcqrs/stepcqrs/localstack/endpointtest"
)

// faultInjector fails attempts of the SDK calls with err while its budget
// lasts. It sits in the Finalize step after the SDK's retry middleware, so
// each attempt the SDK retries draws from the budget, as a real outage
// would: an error outlives the SDK's retries only when it lasts longer
// than they do.
type faultInjector struct {
	mu       sync.Mutex
	err      error
	left     int
	attempts int
}

func (f *faultInjector) set(err error, attempts int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err, f.left, f.attempts = err, attempts, 0
}

// fastRetries keeps the SDK's retry policy (3 attempts, the default
// retryable errors) but with millisecond backoff and no retry quota, so
// the tests do not wait out real backoff.
func fastRetries() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxBackoff = time.Millisecond
		o.RateLimiter = ratelimit.None
	})
}

func (f *faultInjector) apiOption(stack *middleware.Stack) error {
	return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("stepcqrs-fault",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			f.mu.Lock()
			f.attempts++
			fail := f.left != 0
			if f.left > 0 {
				f.left--
			}
			err := f.err
			f.mu.Unlock()
			if fail {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, err
			}
			return next.HandleFinalize(ctx, in)
		}), "Retry", middleware.After)
}

// TestTransientErrorsClassified: errors injected into the AWS SDK clients
// under the adapters come out as *core.TransientError (named
// TransientError at the Lambda boundary) when they pass — throttling,
// internal errors, broken connections — and unchanged when they do not;
// an error the SDK's own retries absorb never reaches the caller.
func TestTransientErrorsClassified(t *testing.T) {
	cfg := endpointtest.Config(t)
	ctx := context.Background()
	inj := &faultInjector{}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, inj.apiOption)
		o.Retryer = fastRetries()
	})
	table := endpointtest.Name("transient")
	if _, err := localstack.EnsureTable(ctx, dynamodb.NewFromConfig(cfg), localstack.TableSpec{Name: table}); err != nil {
		t.Fatal(err)
	}
	st := awsadapter.NewItemStore(db)
	api := func(code string) error { return &smithy.GenericAPIError{Code: code, Message: "injected"} }
	tests := []struct {
		name      string
		err       error
		transient bool
	}{
		{"ProvisionedThroughputExceeded", api("ProvisionedThroughputExceededException"), true},
		{"RequestLimitExceeded", api("RequestLimitExceeded"), true},
		{"ThrottlingException", api("ThrottlingException"), true},
		{"InternalServerError", api("InternalServerError"), true},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}, true},
		{"AccessDenied", api("AccessDeniedException"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			item := kv("P", tt.name)
			inj.set(tt.err, -1) // fails every attempt
			err := st.Put(ctx, table, item, core.IfAbsent())
			var te *core.TransientError
			if tt.transient != errors.As(err, &te) || tt.transient != errors.Is(err, core.ErrTransient) {
				t.Fatalf("Put: %v; transient %v, want %v", err, errors.As(err, &te), tt.transient)
			}
			if tt.transient && (te.Service != "dynamodb" || eventfactory.ErrorName(err) != eventfactory.ErrorNameTransient) {
				t.Fatalf("Put: service %q, name %q", te.Service, eventfactory.ErrorName(err))
			}
			if !tt.transient && eventfactory.ErrorName(err) == eventfactory.ErrorNameTransient {
				t.Fatalf("a permanent error is named %s", eventfactory.ErrorName(err))
			}
			inj.set(nil, 0)
			if _, err := st.Get(ctx, table, core.Key{PK: "P", SK: tt.name}, true); !errors.Is(err, core.ErrNotFound) {
				t.Fatalf("the failed Put wrote: %v", err)
			}
			// Queries and transactions are classified alike.
			inj.set(tt.err, -1)
			_, qerr := st.Query(ctx, table, core.Query{PK: "P"})
			txErr := st.Transact(ctx, []core.TxOp{{Table: table, Put: item}})
			if errors.Is(qerr, core.ErrTransient) != tt.transient || errors.Is(txErr, core.ErrTransient) != tt.transient {
				t.Fatalf("Query: %v; Transact: %v", qerr, txErr)
			}
		})
	}
	// One throttled attempt is absorbed by the SDK's retries.
	inj.set(api("ThrottlingException"), 1)
	if err := st.Put(ctx, table, kv("P", "absorbed"), core.IfAbsent()); err != nil {
		t.Fatalf("a throttle the SDK retried reached the adapter: %v", err)
	}
	if inj.attempts != 2 {
		t.Fatalf("%d attempts, want 2", inj.attempts)
	}
	// A condition failure stays what it is.
	inj.set(nil, 0)
	if err := st.Put(ctx, table, kv("P", "absorbed"), core.IfAbsent()); !errors.Is(err, core.ErrConditionFailed) || errors.Is(err, core.ErrTransient) {
		t.Fatalf("condition failure: %v", err)
	}
}

// TestTransientErrorsOtherServices: S3 and SQS errors are classified by the
// same rule.
func TestTransientErrorsOtherServices(t *testing.T) {
	cfg := endpointtest.Config(t)
	ctx := context.Background()
	inj := &faultInjector{}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = true
		o.APIOptions = append(o.APIOptions, inj.apiOption)
		o.Retryer = fastRetries()
	})
	objects := awsadapter.NewObjectStore(s3c)
	inj.set(&smithy.GenericAPIError{Code: "SlowDown"}, -1)
	if err := objects.Put(ctx, "no-bucket-needed", "k", []byte("x"), ""); !errors.Is(err, core.ErrTransient) {
		t.Fatalf("S3 SlowDown: %v", err)
	}
	sqsc := sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		o.APIOptions = append(o.APIOptions, inj.apiOption)
		o.Retryer = fastRetries()
	})
	q := awsadapter.NewQueue(sqsc)
	inj.set(&smithy.GenericAPIError{Code: "ServiceUnavailable"}, -1)
	if _, err := q.Send(ctx, endpointtest.Name("q"), core.OutgoingMessage{Body: "x"}); !errors.Is(err, core.ErrTransient) {
		t.Fatalf("SQS ServiceUnavailable: %v", err)
	}
	inj.set(&smithy.GenericAPIError{Code: "AccessDenied"}, -1)
	if _, err := q.Send(ctx, endpointtest.Name("q"), core.OutgoingMessage{Body: "x"}); err == nil || errors.Is(err, core.ErrTransient) {
		t.Fatalf("SQS AccessDenied: %v", err)
	}
}
