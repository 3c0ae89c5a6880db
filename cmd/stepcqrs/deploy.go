package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stepcqrs/stepcqrs/deploy"
)

// deployCmd groups the deployment commands.
func deployCmd() *cobra.Command {
	c := group(&cobra.Command{
		Use:   "deploy",
		Short: "deploy a service: its CloudFormation template and its Lambda package",
	})
	c.AddCommand(deployTemplateCmd(), deployPackageCmd())
	return c
}

// deployTemplateCmd prints the CloudFormation template of a service.
func deployTemplateCmd() *cobra.Command {
	var (
		o                         deploy.Options
		format, out, code, codeS3 string
		noTasks, noSweep          bool
		timeout                   time.Duration
		actions                   []string
	)
	c := &cobra.Command{
		Use:   "template --app NAME --module NAME... [--env ENV] [--prefix P] [--code ZIP | --code-s3 s3://BUCKET/KEY] [--format json|yaml] [--out FILE] [...]",
		Short: "print the CloudFormation template of a service",
		Long: `Print the CloudFormation template of a service: per module its command,
data and history tables; the tasks table, task queue and dead-letter queue;
the notification topic with a filtered queue subscription, the alarm topic,
the bucket; the command and task state machines; the Lambda function
(provided.al2023) with every STEPCQRS_* variable, its event source
mappings and least-privilege role; the sweep schedules. Deploy it with
aws cloudformation deploy (docs/deploy.md).`,
		Args: exactArgs(),
		RunE: func(c *cobra.Command, _ []string) error {
			if code != "" && codeS3 != "" {
				return usagef(c, "deploy template: --code and --code-s3 exclude each other")
			}
			if codeS3 != "" {
				rest, ok := strings.CutPrefix(codeS3, "s3://")
				bucket, key, ok2 := strings.Cut(rest, "/")
				if !ok || !ok2 || bucket == "" || key == "" {
					return usagef(c, "deploy template: --code-s3 %q is not s3://BUCKET/KEY", codeS3)
				}
				o.Function.Code = deploy.Code{S3Bucket: bucket, S3Key: key}
			}
			o.Function.Code.Path = code
			o.Function.Timeout = timeout
			o.Tasks.Disabled = noTasks
			o.Sweep.Disabled = noSweep
			if len(actions) > 0 {
				o.Notifications.Actions = actions
			}
			if format != "json" && format != "yaml" {
				return usagef(c, "deploy template: --format %q: want json or yaml", format)
			}
			tp, err := deploy.New(o)
			if err != nil {
				return err
			}
			render := tp.JSON
			if format == "yaml" {
				render = tp.YAML
			}
			body, err := render()
			if err != nil {
				return err
			}
			if !strings.HasSuffix(string(body), "\n") {
				body = append(body, '\n')
			}
			if out != "" && out != "-" {
				return os.WriteFile(out, body, 0o644)
			}
			_, err = c.OutOrStdout().Write(body)
			return err
		},
	}
	f := c.Flags()
	f.StringVar(&o.Config.AppName, "app", "", "application `NAME` (lower case; part of every default name)")
	f.StringArrayVar(&o.Modules, "module", nil, "a CQRS module (repeat for several)")
	f.StringVar(&o.Config.Env, "env", "dev", "default of the Environment `PARAMETER`")
	f.StringVar(&o.Config.TablePrefix, "prefix", "", "default of the Prefix parameter (empty: {Environment}-{app}-)")
	f.StringVar(&code, "code", "", "the function's `ZIP` (stepcqrs deploy package), uploaded by aws cloudformation package or sam deploy")
	f.StringVar(&codeS3, "code-s3", "", "the function's zip already in S3, `s3://BUCKET/KEY` (neither: parameters CodeS3Bucket and CodeS3Key)")
	f.StringVar(&o.Function.Architecture, "arch", deploy.ArchARM64, "the function's `ARCHITECTURE`: arm64 or x86_64")
	f.IntVar(&o.Function.MemoryMB, "memory", 512, "the function's memory in `MB`")
	f.DurationVar(&timeout, "timeout", time.Minute, "the function's `TIMEOUT`")
	f.BoolVar(&o.Function.Tracing, "tracing", false, "active X-Ray tracing of the function and the state machines")
	f.BoolVar(&noTasks, "no-tasks", false, "leave the task capability out")
	f.BoolVar(&noSweep, "no-sweep", false, "leave the sweep schedules out")
	f.StringVar(&o.Sweep.Schedule, "sweep-schedule", "rate(5 minutes)", "the sweeps' schedule `EXPRESSION`")
	f.StringVar(&o.StateMachines.LogLevel, "log-level", "ERROR", "the state machines' log `LEVEL`: ALL, ERROR, FATAL or OFF")
	f.StringArrayVar(&actions, "notification-action", nil, "an `ACTION` the notification queue receives (repeat; default command-status and task-status)")
	f.BoolVar(&o.Notifications.Consume, "consume-notifications", false, "map the notification queue to the function")
	f.BoolVar(&o.Tables.PointInTimeRecovery, "pitr", false, "point-in-time recovery of every table")
	f.BoolVar(&o.Tables.DeleteWithStack, "delete-with-stack", false, "delete the tables and the bucket with the stack (default: retained)")
	f.StringVar(&format, "format", "json", "`FORMAT` of the template: json or yaml")
	f.StringVar(&out, "out", "", "write the template to `FILE` instead of the standard output (\"-\")")
	return c
}

// deployPackageCmd builds the function's zip.
func deployPackageCmd() *cobra.Command {
	var o deploy.PackageOptions
	c := &cobra.Command{
		Use:   "package PACKAGE [--out FILE] [--arch arm64|x86_64]",
		Short: "build a service's main package as the Lambda bootstrap and zip it",
		Long: `Build PACKAGE (e.g. ./examples/orders) as the executable "bootstrap"
for linux with CGO_ENABLED=0, -tags lambda.norpc and a trimmed binary
(-trimpath -ldflags "-s -w"), and zip it for the provided.al2023 runtime.
Prints the zip's path, size and SHA-256.`,
		Args: exactArgs("PACKAGE"),
		RunE: func(c *cobra.Command, args []string) error {
			o.Main = args[0]
			if o.Arch != deploy.ArchARM64 && o.Arch != deploy.ArchX8664 {
				return usagef(c, "deploy package: --arch %q: want arm64 or x86_64", o.Arch)
			}
			o.Stderr = c.ErrOrStderr()
			res, err := deploy.Package(c.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "%s: %.2f MB (bootstrap %.2f MB, linux/%s) sha256 %s\n",
				res.Zip, float64(res.ZipBytes)/1e6, float64(res.BootstrapBytes)/1e6, o.Arch, res.SHA256)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&o.Out, "out", "bootstrap.zip", "the zip `FILE` to write")
	f.StringVar(&o.Arch, "arch", deploy.ArchARM64, "the function's `ARCHITECTURE`: arm64 or x86_64")
	return c
}
