package core_test

import (
	"errors"
	"fmt"

	"github.com/stepcqrs/stepcqrs/core"
)

func ExampleConfigFromEnv() {
	env := map[string]string{
		"STEPCQRS_ENV":              "prod",
		"STEPCQRS_APP_NAME":         "shop",
		"STEPCQRS_HISTORY_TTL_DAYS": "365",
		"STEPCQRS_TENANT_TTL_DAYS":  "acme:history=30",
	}
	cfg, err := core.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.CommandTable("order"))
	fmt.Println(cfg.DataTable("order"))
	fmt.Println(cfg.HistoryTable("order"))
	fmt.Println(cfg.TasksTable(), cfg.ImportTable())
	fmt.Println(cfg.TaskQueue(), cfg.TaskDLQ(), cfg.Bucket())
	fmt.Println(cfg.TTLFor("acme").History, cfg.TTLFor("globex").History)
	fmt.Println(cfg.ParseTable("arn:aws:dynamodb:ap-northeast-1:123456789012:table/prod-shop-order-command/stream/2026-11-21T05:00:00.000"))
	// Output:
	// prod-shop-order-command
	// prod-shop-order-data
	// prod-shop-order-history
	// prod-shop-tasks prod-shop-import
	// prod-shop-task-queue prod-shop-task-dlq prod-shop-objects
	// 30 365
	// order command true
}

// Validate reports every problem at once.
func ExampleConfig_Validate() {
	cfg := core.Config{
		Env:                    "dev",
		AppName:                "shop",
		TaskQueueName:          "tasks:v2",
		CommandStateMachineARN: "command-handler",
		TTL:                    core.TTLDays{Data: -1},
	}

	err := cfg.Validate()
	var ve *core.ValidationError
	if errors.As(err, &ve) {
		for _, p := range ve.Problems {
			fmt.Println(p)
		}
	}
	// Output:
	// TaskQueueName "tasks:v2": SQS queue names have 1 to 80 letters, digits, '-' or '_' (FIFO: ending in .fifo)
	// CommandStateMachineARN "command-handler" is not a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)
	// TTL data TTL -1 days is outside 0..36500
}
