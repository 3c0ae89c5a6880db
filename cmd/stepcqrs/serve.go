package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/serve"
)

// serveCmd runs the asl engine over the Step Functions API.
func serveCmd() *cobra.Command {
	var (
		configPath, listen, endpoint, functionURL string
		example, printConfig, verbose             bool
	)
	c := &cobra.Command{
		Use:   "serve [--config FILE] [--example [--function-url URL]] [--listen ADDR] [--endpoint URL] [--print-config] [-v]",
		Short: "serve state machines over the Step Functions API, with Lambda invoke, integrations and event source mappings",
		Long: `Serve the Step Functions API (AWS JSON 1.0) on loopback: AWS SDKs and the AWS
CLI reach it with --endpoint-url or AWS_ENDPOINT_URL_SFN. The config FILE
(JSON) names the state machines, the functions (Lambda Invoke endpoints such
as the Runtime Interface Emulator) and the event source mappings; --endpoint
puts the integrations' tables, queues, topics and buckets on an
AWS-compatible endpoint (moto, LocalStack, AWS) instead of in memory.
--example serves the orders example (examples/orders) of the service that
STEPCQRS_ENV and STEPCQRS_APP_NAME name, and prints the environment its
bootstrap needs. Runs until interrupted.`,
		Args: exactArgs(),
		RunE: func(c *cobra.Command, _ []string) error {
			if (configPath == "") == !example {
				return usagef(c, "serve: give exactly one of --config and --example")
			}
			var cfg serve.Config
			var svc core.Config
			if example {
				var err error
				if svc, err = exampleService(); err != nil {
					return err
				}
				if cfg, err = serve.ExampleConfig(svc, endpoint, functionURL); err != nil {
					return err
				}
			} else {
				var err error
				if cfg, err = serve.LoadConfig(configPath); err != nil {
					return err
				}
			}
			if listen != "" {
				cfg.Listen = listen
			}
			if endpoint != "" {
				cfg.Endpoint = endpoint
			}
			if printConfig {
				b, err := json.MarshalIndent(cfg, "", "  ")
				if err != nil {
					return err
				}
				fmt.Fprintln(c.OutOrStdout(), string(b))
				return nil
			}
			return runServe(c, cfg, svc, example, verbose)
		},
	}
	f := c.Flags()
	f.StringVar(&configPath, "config", "", "JSON `FILE` of state machines, functions and mappings")
	f.BoolVar(&example, "example", false, "serve the orders example (examples/orders)")
	f.StringVar(&functionURL, "function-url", "http://127.0.0.1:9000", "with --example: the Lambda Invoke endpoint of the orders bootstrap (the Runtime Interface Emulator)")
	f.StringVar(&listen, "listen", "", "`ADDR` to listen on (default "+serve.DefaultListen+")")
	f.StringVar(&endpoint, "endpoint", "", "AWS-compatible endpoint `URL` of tables, queues, topics and buckets (default: in memory)")
	f.BoolVar(&printConfig, "print-config", false, "print the configuration as JSON and exit")
	f.BoolVarP(&verbose, "verbose", "v", false, "log what the server and the mappings do")
	return c
}

// exampleService is the service configuration of the orders example:
// core.ConfigFromEnv, with Env "local" and AppName "orders" when unset.
func exampleService() (core.Config, error) {
	getenv := func(k string) string {
		v := os.Getenv(k)
		switch {
		case v != "":
			return v
		case k == core.EnvEnv:
			return "local"
		case k == core.EnvAppName:
			return "orders"
		}
		return ""
	}
	return core.ConfigFromEnv(getenv)
}

// runServe starts cfg and serves until the command's context ends or the
// process is interrupted.
func runServe(c *cobra.Command, cfg serve.Config, svc core.Config, example, verbose bool) error {
	ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(c.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
	run, err := serve.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer run.Close()
	out := c.OutOrStdout()
	fmt.Fprintf(out, "Step Functions API on %s\n", run.URL)
	names := make([]string, 0, len(run.StateMachineARNs))
	for n := range run.StateMachineARNs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(out, "state machine %s\n", run.StateMachineARNs[n])
	}
	for _, m := range cfg.Mappings {
		fmt.Fprintf(out, "mapping %s -> %s\n", m.EventSourceArn, m.FunctionName)
	}
	if example {
		fmt.Fprintf(out, "the orders bootstrap's environment (besides AWS credentials and the storage endpoint):\n")
		fmt.Fprintf(out, "  %s=%s\n  %s=%s\n  %s=%s\n  %s=%s\n  AWS_ENDPOINT_URL_SFN=%s\n  AWS_LAMBDA_FUNCTION_NAME=%s\n",
			core.EnvEnv, svc.Env, core.EnvAppName, svc.AppName,
			core.EnvCommandStateMachineARN, run.StateMachineARNs[svc.Prefix()+"command"],
			core.EnvTaskStateMachineARN, run.StateMachineARNs[svc.Prefix()+"task"],
			run.URL, serve.ExampleFunctionName)
	}
	<-ctx.Done()
	return nil
}
