package docs

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/deploy"
)

// snippet: deploy-template
// writeTemplate writes the CloudFormation template of the "shop" service
// (modules order and product) to path, with the function's zip taken from
// dist/bootstrap.zip by `aws cloudformation package` or `sam deploy`.
func writeTemplate(path string) error {
	tp, err := deploy.New(deploy.Options{
		Config:   core.Config{AppName: "shop", Env: "dev", TTL: core.TTLDays{History: 365}},
		Modules:  []string{"order", "product"},
		Function: deploy.Function{Code: deploy.Code{Path: "dist/bootstrap.zip"}, MemoryMB: 1024},
		StateMachines: deploy.StateMachines{
			Command:  command.StateMachineOptions{WaitTimeoutSeconds: 120},
			LogLevel: "ERROR",
		},
	})
	if err != nil {
		return err
	}
	body, err := tp.YAML() // or tp.JSON()
	if err != nil {
		return err
	}
	return os.WriteFile(path, body, 0o644)
}

// /snippet

// snippet: deploy-package
// buildPackage builds ./cmd/shop as the Lambda bootstrap for arm64 and
// zips it into dist/bootstrap.zip.
func buildPackage(ctx context.Context) (deploy.PackageResult, error) {
	return deploy.Package(ctx, deploy.PackageOptions{Main: "./cmd/shop", Out: "dist/bootstrap.zip"})
}

// /snippet

// snippet: deploy-environment
// Example_deployEnvironment prints the variables a function deployed by
// Terraform or CDK needs, for the resources named as core.Config names
// them (here with prefix "prod-shop-").
func Example_deployEnvironment() {
	c := core.Config{Env: "prod", AppName: "shop",
		CommandStateMachineARN: "arn:aws:states:eu-west-1:123456789012:stateMachine:prod-shop-command"}
	env := deploy.Environment(c)
	for _, k := range slices.Sorted(maps.Keys(env)) {
		fmt.Printf("%s=%s\n", k, env[k])
	}
	// Output:
	// STEPCQRS_ALARM_TOPIC=prod-shop-alarm
	// STEPCQRS_APP_NAME=shop
	// STEPCQRS_BUCKET=prod-shop-objects
	// STEPCQRS_COMMAND_STATE_MACHINE_ARN=arn:aws:states:eu-west-1:123456789012:stateMachine:prod-shop-command
	// STEPCQRS_ENV=prod
	// STEPCQRS_NOTIFICATION_QUEUE=prod-shop-notification-queue
	// STEPCQRS_NOTIFICATION_TOPIC=prod-shop-notification
	// STEPCQRS_TABLE_PREFIX=prod-shop-
	// STEPCQRS_TASK_DLQ=prod-shop-task-dlq
	// STEPCQRS_TASK_QUEUE=prod-shop-task-queue
}

// /snippet

// snippet: deploy-definition
// Example_deployDefinition exports the command state machine for a stack
// of your own: the function's ARN is a placeholder that the stack fills in
// (CDK: DefinitionSubstitutions; Terraform: templatefile).
func Example_deployDefinition() {
	def, err := command.StateMachineJSON(command.StateMachineOptions{FunctionARN: "${FunctionArn}"})
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.Count(string(def), `"FunctionName": "${FunctionArn}"`), "tasks invoke ${FunctionArn}")
	// Output:
	// 5 tasks invoke ${FunctionArn}
}

// /snippet

// TestDeploySnippets runs the snippets that write files.
func TestDeploySnippets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "template.yaml")
	if err := writeTemplate(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(b), "Code: dist/bootstrap.zip") || !strings.Contains(string(b), "STEPCQRS_HISTORY_TTL_DAYS: \"365\"") {
		t.Fatalf("template: %v\n%.2000s", err, b)
	}
	// buildPackage names a package of the reader's module; it compiles
	// here, and fails clearly on a package that does not exist.
	t.Chdir(t.TempDir())
	if _, err := buildPackage(context.Background()); err == nil || !strings.Contains(err.Error(), "go build") {
		t.Fatalf("buildPackage outside a module: %v", err)
	}
}

// TestDeployGuidePermissions checks the guide's table of IAM actions
// against the permissions of the default template: every statement of
// every role, with its actions and resources, in order.
func TestDeployGuidePermissions(t *testing.T) {
	tp, err := deploy.New(deploy.Options{Config: core.Config{AppName: "shop"}, Modules: []string{"order"}})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range tp.Permissions() {
		want = append(want, fmt.Sprintf("| %s | %s | %s | %s |", p.Role, "`"+strings.Join(p.Actions, "`, `")+"`", strings.Join(p.Resources, "; "), p.Reason))
	}
	src, err := os.ReadFile("deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	in := false
	for _, line := range strings.Split(string(src), "\n") {
		switch {
		case line == "<!-- permissions -->":
			in = true
		case line == "<!-- /permissions -->":
			in = false
		case in && strings.HasPrefix(line, "| ") && !strings.HasPrefix(line, "| role ") && !strings.HasPrefix(line, "|---"):
			got = append(got, line)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("deploy.md's permissions table is out of date; it should read:\n%s", strings.Join(want, "\n"))
	}
}
