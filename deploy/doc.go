// Package deploy deploys a stepcqrs service to AWS: New builds its
// CloudFormation template, Package builds its Lambda deployment package.
//
// The template (Template.JSON, Template.YAML) is made of goformation's
// typed resources (github.com/awslabs/goformation/v7), from the
// definitions the framework's code uses: the command and task state
// machines are command.StateMachineJSON and task.StateMachineJSON with the
// function's ARN, the tables carry command.UnsettledIndex and
// task.UnsettledIndex, the tasks stream's mapping is filtered by
// task.StreamFilterCriteria, the sweep schedules send command.SweepEvent
// and task.SweepEvent. It holds, for Options:
//
//   - per CQRS module the command (stream, index), data and history
//     tables; the tasks table; every table on-demand with TTL on "ttl";
//   - the task queue and its dead-letter queue, the notification topic
//     with its filtered queue subscription, the alarm topic, the bucket,
//     the stream failure queue;
//   - the command and task state machines, with logs and tracing;
//   - the function (provided.al2023, arm64 by default) whose environment
//     holds every STEPCQRS_* variable core.ConfigFromEnv reads, its event
//     source mappings and its sweep schedules;
//   - least-privilege roles (Template.Permissions says why each action is
//     there);
//   - the parameters Environment and Prefix, and outputs.
//
// Capabilities the template does not know by itself add their resources
// through an Extension and the Builder it receives: the CSV import
// capability is the one foreseen.
//
// Environment gives the same variables for a core.Config, to run the
// service's binary elsewhere (the Lambda Runtime Interface Emulator, a
// stack of your own). docs/deploy.md shows the AWS CLI, SAM, CDK and
// Terraform paths.
package deploy
