package awsadapter

import (
	"context"
	"os"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stepcqrs/stepcqrs/core"
	"go.uber.org/fx"
)

// Module is the fx module "stepcqrs.aws": it loads the AWS configuration
// with LoadConfig — applying the Region and Endpoint of a core.Config when
// the application provides one (core.Module does) — and provides everything
// Ports provides.
var Module = fx.Module("stepcqrs.aws",
	fx.Provide(provideAWSConfig),
	Ports,
)

// awsConfigParams are the inputs of the aws.Config provider.
type awsConfigParams struct {
	fx.In
	Config core.Config `optional:"true"`
}

func provideAWSConfig(p awsConfigParams) (aws.Config, error) {
	return LoadConfig(context.Background(), p.Config)
}

// Ports provides, from an aws.Config supplied elsewhere, the SDK clients
// (*dynamodb.Client, *sfn.Client, *s3.Client, *sqs.Client, *sns.Client) and
// the adapters both as their concrete types and as core.ItemStore,
// core.Workflows, core.ObjectStore, core.Queue and core.Topic. Use it
// instead of Module when the application builds its own aws.Config.
var Ports = fx.Options(
	fx.Provide(
		func(cfg aws.Config) *dynamodb.Client { return dynamodb.NewFromConfig(cfg) },
		func(cfg aws.Config) *sfn.Client { return sfn.NewFromConfig(cfg) },
		func(cfg aws.Config) *s3.Client { return NewS3Client(cfg, S3PathStyle(cfg)) },
		func(cfg aws.Config) *sqs.Client { return sqs.NewFromConfig(cfg) },
		func(cfg aws.Config) *sns.Client { return sns.NewFromConfig(cfg) },
		fx.Annotate(func(c *dynamodb.Client) *ItemStore { return NewItemStore(c) },
			fx.As(fx.Self()), fx.As(new(core.ItemStore))),
		fx.Annotate(func(c *sfn.Client) *Workflows { return NewWorkflows(c) },
			fx.As(fx.Self()), fx.As(new(core.Workflows))),
		fx.Annotate(func(c *s3.Client) *ObjectStore { return NewObjectStore(c) },
			fx.As(fx.Self()), fx.As(new(core.ObjectStore))),
		fx.Annotate(func(c *sqs.Client) *Queue { return NewQueue(c) },
			fx.As(fx.Self()), fx.As(new(core.Queue))),
		fx.Annotate(func(c *sns.Client) *Topic { return NewTopic(c) },
			fx.As(fx.Self()), fx.As(new(core.Topic))),
	),
)

// LoadConfig loads the default AWS configuration: region, credentials and
// endpoint from the environment and shared files. AWS_ENDPOINT_URL (and the
// per-service AWS_ENDPOINT_URL_<SERVICE>) select an AWS-compatible endpoint
// such as LocalStack or moto. A non-empty c.Region or c.Endpoint overrides
// the region or endpoint; pass the zero core.Config for the SDK's defaults.
// The SDK's default HTTP client is kept, so AWS_CA_BUNDLE works.
func LoadConfig(ctx context.Context, c core.Config) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if c.Region != "" {
		opts = append(opts, config.WithRegion(c.Region))
	}
	if c.Endpoint != "" {
		opts = append(opts, config.WithBaseEndpoint(c.Endpoint))
	}
	return config.LoadDefaultConfig(ctx, opts...)
}

// S3PathStyle reports whether S3 clients built by Ports from cfg use
// path-style addressing: STEPCQRS_S3_PATH_STYLE when it parses as a boolean,
// else true exactly when a custom endpoint is configured (cfg.BaseEndpoint,
// AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_S3): LocalStack and moto need it,
// AWS prefers virtual hosts.
func S3PathStyle(cfg aws.Config) bool {
	if b, err := strconv.ParseBool(os.Getenv("STEPCQRS_S3_PATH_STYLE")); err == nil {
		return b
	}
	return cfg.BaseEndpoint != nil || os.Getenv("AWS_ENDPOINT_URL") != "" || os.Getenv("AWS_ENDPOINT_URL_S3") != ""
}
