package endpointtest_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/stepcqrs/stepcqrs/localstack/endpointtest"
)

func TestMain(m *testing.M) { endpointtest.Main(m) }

// TestNoEndpoint re-runs itself without an endpoint and without moto on
// PATH: the child must skip with one clear line, or fail when
// STEPCQRS_REQUIRE_ENDPOINT=1.
func TestNoEndpoint(t *testing.T) {
	if os.Getenv("ENDPOINTTEST_CHILD") == "1" {
		endpointtest.Config(t)
		t.Fatal("Config returned without an endpoint")
	}
	run := func(require string) (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestNoEndpoint$", "-test.v")
		var env []string
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "AWS_ENDPOINT_URL=") && !strings.HasPrefix(kv, "PATH=") && !strings.HasPrefix(kv, endpointtest.EnvRequire+"=") {
				env = append(env, kv)
			}
		}
		cmd.Env = append(env, "ENDPOINTTEST_CHILD=1", "PATH=/nonexistent", endpointtest.EnvRequire+"="+require)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("")
	if err != nil || !strings.Contains(out, "--- SKIP: TestNoEndpoint") || !strings.Contains(out, "no AWS-compatible endpoint") {
		t.Fatalf("without endpoint: %v\n%s", err, out)
	}
	out, err = run("1")
	if err == nil || !strings.Contains(out, "--- FAIL: TestNoEndpoint") || !strings.Contains(out, endpointtest.EnvRequire) {
		t.Fatalf("without endpoint, required: %v\n%s", err, out)
	}
}

func TestConfigAndReset(t *testing.T) {
	cfg := endpointtest.Config(t)
	if cfg.Region == "" || cfg.BaseEndpoint == nil {
		t.Fatalf("config: region %q endpoint %v", cfg.Region, cfg.BaseEndpoint)
	}
	ctx := context.Background()
	c := sqs.NewFromConfig(cfg)
	name := endpointtest.Name("reset")
	if _, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if endpointtest.External() {
		t.Skip("reset is checked on this test binary's own moto only")
	}
	endpointtest.Reset(t)
	out, err := c.ListQueues(ctx, &sqs.ListQueuesInput{QueueNamePrefix: aws.String(name)})
	if err != nil || len(out.QueueUrls) != 0 {
		t.Fatalf("queues after reset: %v, %v", out.QueueUrls, err)
	}
}
